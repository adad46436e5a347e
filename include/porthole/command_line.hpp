// porthole/command_line.hpp: the command line every example shares (--port, --threads,
// --address, the limits and timeouts...), read into server_options without printing or exiting:
// server_options::from_command_line, the command_line it returns, and the readers a program's
// own flags use (command_line_value, command_line_values, command_line_flag,
// command_line_number).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/compiled_once.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/options.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole {

// What a command line asks for: options to serve with, or (for --help, a malformed value or a
// mistyped flag) a message to print and a status to exit with. serve(app, command_line) acts on
// it the way the examples do; a program that builds a server itself checks ok() first:
//
//   auto cl = porthole::server_options::from_command_line(argc, argv);
//   if (!cl.ok()) return cl.report();   // usage on stdout and 0, or the problem on stderr and 2
//   porthole::server s(app, cl.options);
struct command_line {
    enum class outcome : std::uint8_t { serve, help, invalid };

    porthole::server_options options;  // with outcome::serve: what to serve with
    outcome result = outcome::serve;
    std::string message;  // help: the usage; invalid: "PROGRAM: what is wrong", then a line naming --help

    bool ok() const noexcept { return result == outcome::serve; }
    // 0 for serve and help, 2 for a malformed, missing or mistyped one (the convention of
    // command-line tools).
    int exit_status() const noexcept { return result == outcome::invalid ? 2 : 0; }
    // Prints the message (help on stdout, a problem on stderr) and returns exit_status().
    int report() const {
        std::FILE* out = result == outcome::invalid ? stderr : stdout;
        std::fwrite(message.data(), 1, message.size(), out);
        std::fflush(out);
        return exit_status();
    }
};

// The readers below look only before a lone `--`.

// Every value of a repeatable `--name VALUE` / `--name=VALUE`, in order.
PORTHOLE_DETAIL_INLINE std::vector<std::string_view> command_line_values(int argc, char const* const* argv,
                                                                         std::string_view name);

// The value of `--name VALUE` or `--name=VALUE` on a command line, if present; the last one when
// it is given more than once, so `prog --port 80 "$@"` lets its caller's `--port` win.
PORTHOLE_DETAIL_INLINE std::optional<std::string_view> command_line_value(int argc, char const* const* argv,
                                                                          std::string_view name);

// Whether a bare `--name` flag is on a command line.
PORTHOLE_DETAIL_INLINE bool command_line_flag(int argc, char const* const* argv, std::string_view name);

// The value of `--name N` or `--name=N` as a whole number (the last one given), if present: an
// optional '-', then decimal digits. A program that lists the flag with its numbers
// (program_flag::numbers) has had a value of any other kind refused by from_command_line; for
// one it does not, a value that is not a whole number from -2^63 to 2^63 - 1 throws
// std::invalid_argument ("--name needs a 64-bit whole number") rather than read as absent.
PORTHOLE_DETAIL_INLINE std::optional<std::int64_t> command_line_number(int argc, char const* const* argv,
                                                                       std::string_view name);

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole {

namespace detail {

// Where flags end: at a lone `--` (the POSIX convention: what follows is arguments, a child's
// command line say, even when it looks like a flag), else at argc.
inline int flags_end(int argc, char const* const* argv) noexcept {
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--") return i;
    return argc;
}

// A program flag's name, and whether it takes a value: "--root DIR" is "--root" with one.
inline std::string_view flag_name(program_flag const& f) noexcept { return f.usage.substr(0, f.usage.find(' ')); }
inline bool flag_takes_value(program_flag const& f) noexcept { return f.usage.find(' ') != std::string_view::npos; }

inline std::string command_line_usage(std::string_view program, std::initializer_list<program_flag> own = {}) {
    std::string usage = "usage: ";
    usage.append(program);
    if (own.size() != 0) {
        for (auto const& f : own) usage.append(" [").append(f.usage).append("]");
        usage += " [porthole's flags]\n";
        std::size_t width = 14;  // as porthole's own below
        for (auto const& f : own) width = std::max(width, f.usage.size() + 2);
        for (auto const& f : own) {
            usage.append("  ").append(f.usage).append(width - f.usage.size(), ' ');
            usage.append(f.about).append("\n");
        }
        usage += "porthole's flags:";
    }
    usage.append(" [--port N] [--threads N] [--address A]... [--tls-cert FILE --tls-key FILE] [limits]\n");
    usage +=
        "  --port N      TCP port, 0 picks a free one (default 8080)\n"
        "  --threads N   event loop threads (default: one per hardware thread)\n"
        "  --address A   where to listen, repeatable (default 127.0.0.1): 127.0.0.1, ::1,\n"
#if defined(_WIN32)  // no Unix sockets, and one listener shared by the loops
        "                :: (every interface, dual stack), 0.0.0.0, HOST:PORT, [V6]:PORT\n"
        "  --allow-host NAME      a Host name accepted on loopback besides localhost and IP\n"
        "                         literals (repeatable)\n"
#else
        "                :: (every interface, dual stack), 0.0.0.0, HOST:PORT, [V6]:PORT,\n"
        "                unix:/path/to.sock, unix:@abstract-name\n"
        "  --socket-mode OCTAL    a Unix socket file's mode (default 660)\n"
        "  --socket-owner USER    its owner; --socket-group GROUP  its group\n"
        "  --allow-host NAME      a Host name accepted on loopback besides localhost and IP\n"
        "                         literals (repeatable)\n"
        "  --shared-listener      one listener for every loop, which take connections as they are\n"
        "                         free (default: one SO_REUSEPORT listener per loop, on Linux)\n"
#endif
        "  --tls-cert FILE --tls-key FILE  serve HTTPS with this certificate chain and key (PEM)\n"
        "  --help, -h    print this usage and exit\n"
        "  --            ends these flags: what follows is the program's, however it looks\n"
        "limits:\n"
        "  --max-connections N        open connections; beyond: 503 and close (default 10000)\n"
        "  --header-timeout-ms N      first byte to end of request head, 1 at least (default 10000)\n"
        "  --body-timeout-ms N        without body bytes arriving (default 30000)\n"
        "  --keep-alive-timeout-ms N  idle between requests, 1 at least (default 60000)\n"
        "  --write-timeout-ms N       without output leaving (default 30000)\n"
        "  --drain-timeout-ms N       on SIGINT/SIGTERM, longest wait for requests in flight (default 5000);\n"
        "                             0: stop at once. A second signal ends the process at once\n"
        "  --response-timeout-ms N    for an answer that comes later; beyond: 503 (default 60000)\n"
        "  --websocket-ping-ms N      WebSocket ping after this long without input; 0: none (default 30000)\n"
        "  --websocket-close-timeout-ms N  wait for the peer's WebSocket Close; 0: none (default 5000)\n"
        "  --worker-threads N         threads for blocking handlers (default 16)\n"
        "  --worker-queue N           blocking jobs waiting for a thread; beyond: 503 (default 256)\n";
    return usage;
}

// Whether one edit turns `a` into `b`: a character added, dropped or changed, or two neighbours
// swapped (`--thread`, `-port`, `--prot` for --threads, --port, --port).
inline bool one_edit_apart(std::string_view a, std::string_view b) noexcept {
    if (a.size() > b.size()) std::swap(a, b);
    if (b.size() - a.size() > 1 || a == b) return false;
    std::size_t i = 0;
    while (i < a.size() && a[i] == b[i]) ++i;
    if (a.size() < b.size()) return a.substr(i) == b.substr(i + 1);
    if (a.substr(i + 1) == b.substr(i + 1)) return true;
    return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] && a.substr(i + 2) == b.substr(i + 2);
}

inline bool parse_unsigned(std::string_view s, unsigned long max, unsigned long& out) {
    std::uint64_t v = 0;
    if (!parse_decimal(s, v) || v > max) return false;
    out = static_cast<unsigned long>(v);
    return true;
}

}  // namespace detail

PORTHOLE_DETAIL_INLINE std::vector<std::string_view> command_line_values(int argc, char const* const* argv,
                                                                         std::string_view name) {
    std::vector<std::string_view> out;
    argc = detail::flags_end(argc, argv);
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == name && i + 1 < argc) out.emplace_back(argv[++i]);
        else if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
            out.push_back(a.substr(name.size() + 1));
    }
    return out;
}

PORTHOLE_DETAIL_INLINE std::optional<std::string_view> command_line_value(int argc, char const* const* argv,
                                                                          std::string_view name) {
    auto values = command_line_values(argc, argv, name);
    if (values.empty()) return std::nullopt;
    return values.back();
}

PORTHOLE_DETAIL_INLINE bool command_line_flag(int argc, char const* const* argv, std::string_view name) {
    argc = detail::flags_end(argc, argv);
    for (int i = 1; i < argc; ++i) {
        if (argv[i] == name) return true;
    }
    return false;
}

PORTHOLE_DETAIL_INLINE std::optional<std::int64_t> command_line_number(int argc, char const* const* argv,
                                                                       std::string_view name) {
    auto value = command_line_value(argc, argv, name);
    if (!value) return std::nullopt;
    std::int64_t n = 0;
    if (!detail::parse_decimal(*value, n))
        throw std::invalid_argument(std::string(name) + " needs a 64-bit whole number");
    return n;
}

PORTHOLE_DETAIL_INLINE command_line server_options::from_command_line(int argc, char const* const* argv,
                                                                      std::initializer_list<program_flag> own) {
    command_line cl;
    server_options& o = cl.options;
    o.announce = true;
    o.handle_signals = true;
    char const* program = argc > 0 ? argv[0] : "server";
    // One line to say what is wrong and one to say where the usage is (as GNU tools do), so the
    // problem stays on the screen instead of scrolling away above the whole usage. A mistake in
    // the program's own list gets no pointer: --help would meet the same mistake.
    auto refuse = [&](std::string_view problem, bool point_to_help = true) {  // only `return refuse(...)`
        cl.result = command_line::outcome::invalid;
        cl.message.assign(program).append(": ").append(problem).append("\n");
        if (point_to_help) cl.message.append("Try '").append(program).append(" --help' for more information.\n");
        return std::move(cl);
    };
    argc = detail::flags_end(argc, argv);  // what follows a lone `--` is the program's
    struct timeout_flag {
        char const* name;
        std::chrono::milliseconds server_options::*field;
        // 0 is refused where it would read as "none" but drop every client that is not instant
        // (the loop's timers take it as 1 ms); where it means "at once" or "none", it is taken.
        bool zero_means_something;
    };
    static constexpr timeout_flag timeouts[] = {
        {"--header-timeout-ms", &server_options::header_timeout, false},
        {"--body-timeout-ms", &server_options::body_timeout, false},
        {"--keep-alive-timeout-ms", &server_options::keep_alive_timeout, false},
        {"--write-timeout-ms", &server_options::write_timeout, false},
        {"--drain-timeout-ms", &server_options::drain_timeout, true},  // stop at once
        {"--response-timeout-ms", &server_options::response_timeout, false},
        {"--websocket-ping-ms", &server_options::websocket_ping_interval, true},           // no pings
        {"--websocket-close-timeout-ms", &server_options::websocket_close_timeout, true},  // no wait
    };
    static constexpr std::string_view value_flags[] = {
        "--port",       "--threads",  "--address", "--socket-mode",     "--socket-owner",   "--socket-group",
        "--allow-host", "--tls-cert", "--tls-key", "--max-connections", "--worker-threads", "--worker-queue"};
    // Every flag porthole reads, and the program's own it lists: those before `takes_value` take one.
    std::vector<std::string_view> known(std::begin(value_flags), std::end(value_flags));
    for (auto const& t : timeouts) known.emplace_back(t.name);
    std::size_t const porthole_values = known.size();
    for (auto const& f : own)
        if (detail::flag_takes_value(f)) known.push_back(detail::flag_name(f));
    std::size_t const takes_value = known.size();
    known.insert(known.end(), {"--help", "--shared-listener"});
    std::size_t const porthole_known = known.size();
    for (auto const& f : own)
        if (!detail::flag_takes_value(f)) known.push_back(detail::flag_name(f));
    auto is_known = [&](std::string_view name, std::size_t from, std::size_t to) {
        return std::find(known.begin() + static_cast<std::ptrdiff_t>(from),
                         known.begin() + static_cast<std::ptrdiff_t>(to),
                         name) != known.begin() + static_cast<std::ptrdiff_t>(to);
    };
    // The program's list is checked first: a mistake in it shows on the first run.
    for (auto f = own.begin(); f != own.end(); ++f) {
        auto name = detail::flag_name(*f);
        bool ours = is_known(name, 0, porthole_values) || is_known(name, takes_value, porthole_known) || name == "-h";
        bool again = std::any_of(own.begin(), f, [&](program_flag const& e) { return detail::flag_name(e) == name; });
        if (name.size() < 2 || name[0] != '-' || name.find('=') != std::string_view::npos || ours || again)
            return refuse("the program lists the flag \"" + std::string(f->usage) +
                              "\": a flag is -NAME or --NAME, then a placeholder for its value if it takes one, "
                              "listed once and not one of porthole's",
                          /*point_to_help=*/false);
        if (f->numbers && !detail::flag_takes_value(*f))
            return refuse("the program lists the flag \"" + std::string(f->usage) +
                              "\" with numbers but no placeholder for its value (\"" + std::string(name) + " N\")",
                          /*point_to_help=*/false);
        if (f->numbers && f->numbers->min > f->numbers->max)
            return refuse("the program lists the flag \"" + std::string(f->usage) + "\" with numbers from " +
                              std::to_string(f->numbers->min) + " to " + std::to_string(f->numbers->max) +
                              ": the smaller comes first",
                          /*point_to_help=*/false);
    }
    // A value is its value, however it looks (`--root -h`): only the flags are looked at.
    auto value_follows = [&](std::string_view a) {
        auto it = std::find(known.begin(), known.begin() + static_cast<std::ptrdiff_t>(takes_value), a);
        return it != known.begin() + static_cast<std::ptrdiff_t>(takes_value);
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            cl.result = command_line::outcome::help;
            cl.message = detail::command_line_usage(program, own);
            return cl;
        }
        if (a == "--shared-listener") o.listener_per_thread = false;
        if (value_follows(a)) ++i;
    }
#if defined(_WIN32)  // before the missing-value check: a bare --socket-mode is wrong for this reason
    for (char const* flag : {"--socket-mode", "--socket-owner", "--socket-group"})
        if (command_line_flag(argc, argv, flag) || command_line_value(argc, argv, flag))
            return refuse(std::string(flag) + " is for Unix sockets, which are not supported on Windows");
#endif
    // A flag without its value, given last or followed by another flag: a mistake to report, not
    // a default to serve with, nor a flag to take as the value (`--name=--value` still gives one).
    auto lacks_value = [&](std::string_view flag) {
        for (int i = 1; i < argc; ++i)
            if (argv[i] == flag && (i + 1 == argc || std::string_view(argv[i + 1]).starts_with("--"))) return true;
        return false;
    };
    for (std::size_t k = 0; k < takes_value; ++k)
        if (lacks_value(known[k])) return refuse(std::string(known[k]) + " needs a value");
    // An unknown flag one edit from a known one is a typo (`--thread 4`), and so is a timeout
    // without its unit (`--header-timeout 5`): refused rather than left to the program and served
    // with the default. A program that lists its flags has every other flag refused; one that
    // does not keeps its own flags further off.
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        // An argument, "-" for standard input, or a negative number.
        if (!a.starts_with("-") || a == "-" || (a[1] >= '0' && a[1] <= '9')) continue;
        std::string_view name = a.substr(0, a.find('='));
        auto it = std::find(known.begin(), known.end(), name);
        if (it != known.end()) {
            bool with_value = static_cast<std::size_t>(it - known.begin()) < takes_value;
            if (with_value && name == a) ++i;  // its value
            if (!with_value && name != a) return refuse(std::string(name) + " takes no value");
            continue;
        }
        for (std::string_view k : known)
            if (detail::one_edit_apart(name, k) || (k.ends_with("-timeout-ms") && k.substr(0, k.size() - 3) == name))
                return refuse("unknown flag " + std::string(name) + "; did you mean " + std::string(k) + "?");
        if (own.size() != 0) return refuse("unknown flag " + std::string(name));
    }
    unsigned long v = 0;
    if (auto p = command_line_value(argc, argv, "--port")) {
        if (!detail::parse_unsigned(*p, 65535, v)) return refuse("--port needs a number from 0 to 65535");
        o.port = static_cast<std::uint16_t>(v);
    }
    if (auto t = command_line_value(argc, argv, "--threads")) {
        if (!detail::parse_unsigned(*t, 1024, v)) return refuse("--threads needs a number from 0 to 1024");
        o.threads = static_cast<unsigned>(v);
    }
    // Checked when the server starts, which says what is wrong with one.
    auto addresses = command_line_values(argc, argv, "--address");
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        if (i == 0) o.address = std::string(addresses[i]);
        else o.extra_addresses.emplace_back(addresses[i]);
    }
    for (auto a : addresses)
        if (a.empty()) return refuse("--address needs a value");
#if defined(_WIN32)
    for (auto a : addresses)
        if (a.substr(0, 5) == "unix:") return refuse("--address unix:... : Unix sockets are not supported on Windows");
#endif
    if (auto m = command_line_value(argc, argv, "--socket-mode")) {
        unsigned mode = 0;
        bool ok = !m->empty() && m->size() <= 5;
        for (char c : *m) {
            ok = ok && c >= '0' && c <= '7';
            mode = mode * 8 + static_cast<unsigned>(c - '0');
        }
        if (!ok || mode > 07777) return refuse("--socket-mode needs an octal mode such as 660");
        o.unix_socket_mode = mode;
    }
    if (auto u = command_line_value(argc, argv, "--socket-owner")) o.unix_socket_owner = std::string(*u);
    if (auto g = command_line_value(argc, argv, "--socket-group")) o.unix_socket_group = std::string(*g);
    // The socket file's flags with no socket file to apply them to would be ignored in silence.
    bool unix_address = false;
    for (auto a : addresses) unix_address = unix_address || a.starts_with("unix:");
    for (char const* flag : {"--socket-mode", "--socket-owner", "--socket-group"}) {
        auto value = command_line_value(argc, argv, flag);
        if (value && (value->empty() || !unix_address))
            return refuse(flag +
                          std::string(value->empty()
                                          ? " needs a value"
                                          : " is for a Unix socket's file, and no --address unix:PATH is given"));
    }
    for (auto h : command_line_values(argc, argv, "--allow-host")) {
        // Neither an empty name nor one with a port can ever match a Host: a mistake to report.
        bool ip_literal = h.size() > 2 && h.front() == '[' && h.back() == ']';  // always accepted anyway
        if (h.empty() || (h.find(':') != std::string_view::npos && !ip_literal))
            return refuse("--allow-host needs a host name, without a port");
        o.allowed_hosts.emplace_back(h);
    }
    // Values are views into argv that end where their argument ends: C strings.
    if (auto cert = command_line_value(argc, argv, "--tls-cert")) o.tls_cert_file = cert->data();
    if (auto key = command_line_value(argc, argv, "--tls-key")) o.tls_key_file = key->data();
    if (!o.tls_cert_file != !o.tls_key_file || (o.tls_cert_file && (!*o.tls_cert_file || !*o.tls_key_file)))
        return refuse("--tls-cert and --tls-key go together, each with a file");
    if (auto m = command_line_value(argc, argv, "--max-connections")) {
        if (!detail::parse_unsigned(*m, 10000000, v) || v == 0)
            return refuse("--max-connections needs a number from 1 to 10000000");
        o.max_connections = v;
    }
    if (auto w = command_line_value(argc, argv, "--worker-threads")) {
        if (!detail::parse_unsigned(*w, 4096, v) || v == 0)
            return refuse("--worker-threads needs a number from 1 to 4096");
        o.worker_threads = v;
    }
    if (auto q = command_line_value(argc, argv, "--worker-queue")) {
        if (!detail::parse_unsigned(*q, 10000000, v)) return refuse("--worker-queue needs a number from 0 to 10000000");
        o.worker_queue = v;
    }
    for (auto const& t : timeouts) {
        if (auto ms = command_line_value(argc, argv, t.name)) {
            if (!detail::parse_unsigned(*ms, 86400000, v) || (v == 0 && !t.zero_means_something))
                return refuse(std::string(t.name) + " needs milliseconds from " + (t.zero_means_something ? "0" : "1") +
                              " to 86400000");
            o.*t.field = std::chrono::milliseconds(static_cast<long long>(v));
        }
    }
    for (auto const& f : own) {
        if (!f.numbers) continue;
        auto name = detail::flag_name(f);
        std::int64_t n = 0;
        if (auto given = command_line_value(argc, argv, name);
            given && (!detail::parse_decimal(*given, n) || n < f.numbers->min || n > f.numbers->max))
            return refuse(std::string(name) + " needs a number from " + std::to_string(f.numbers->min) + " to " +
                          std::to_string(f.numbers->max));
    }
    return cl;
}

}  // namespace porthole
#endif
