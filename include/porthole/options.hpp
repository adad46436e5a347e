// porthole/options.hpp: what a server is told: where to listen, how many loops, the limits and
// timeouts, logs and HTTPS files (server_options); and the command line every example shares,
// read into server_options (server_options::from_command_line, command_line) without printing or
// exiting.
#pragma once

#include <porthole/access_log.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/parser.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace porthole {

using error_log_function = std::function<void(std::string_view)>;

struct command_line;

// The server's options: everything porthole::server and serve() are told. The server derives
// from them the engine's settings (detail::engine_settings: listeners, loops, timeouts) and its
// connections' configuration (connection_config: parser_limits, output bound, logs).
struct server_options {
    // Where to listen: "127.0.0.1" (the default: this machine only), "::1", "0.0.0.0" (every
    // IPv4 interface), "::" (every interface, IPv4 too: dual stack), a name that resolves,
    // "unix:/path/to.sock" (a Unix domain socket, removed on stop), "unix:@name" (Linux abstract
    // socket). An address may carry its own port: "127.0.0.1:8081", "[::1]:8081".
    std::string address = "127.0.0.1";
    std::vector<std::string> extra_addresses;  // more places to listen at once, written the same way
    std::uint16_t port = 8080;                 // for addresses without one; 0 picks a free port (server::port() tells
                                               // which), shared by the other addresses without one
    unsigned threads = 0;                      // event loops; 0: one per hardware thread

    // A Unix socket file's mode, and its owner and group (names or numbers; empty: unchanged).
    // POSIX only: on Windows a "unix:" address is refused when the server starts.
    unsigned unix_socket_mode = 0660;  // permission bits, 07777 at most
    std::string unix_socket_owner;
    std::string unix_socket_group;

    // On loopback listeners, a request whose Host names anything but this machine (an IP literal,
    // "localhost", a name below ".localhost", or one of allowed_hosts) gets 421 Misdirected
    // Request: a web page that rebinds its own name to 127.0.0.1 cannot reach the server.
    bool check_loopback_host = true;
    std::vector<std::string> allowed_hosts;

    std::size_t max_connections = 10000;                  // beyond: 503 and close
    std::chrono::milliseconds header_timeout{10000};      // first byte to end of request head
    std::chrono::milliseconds body_timeout{30000};        // without body bytes arriving
    std::chrono::milliseconds keep_alive_timeout{60000};  // idle between requests
    std::chrono::milliseconds write_timeout{30000};       // without output leaving
    std::chrono::milliseconds drain_timeout{5000};        // stop(): longest wait for requests in flight
    std::chrono::milliseconds response_timeout{60000};    // an answer that comes later: 503 and close beyond
    // WebSocket (websocket.hpp): a ping after this long without input, and the connection
    // closed (1006) when the next comes due without a pong; 0: no pings. And how long a Close
    // this end sent waits for the peer's (RFC 6455 7.1.1) before the TCP connection closes.
    std::chrono::milliseconds websocket_ping_interval{30000};
    std::chrono::milliseconds websocket_close_timeout{5000};

    // The pool that blocking handlers run on (blocking.hpp); threads start as jobs need them.
    std::size_t worker_threads = 16;
    std::size_t worker_queue = 256;  // jobs waiting for a thread; beyond: 503 with Retry-After

    parser_limits limits{};
    std::size_t max_output_buffered = 256 * 1024;  // per connection; reading pauses beyond it
    bool server_header = false;                    // "Server: porthole"

    access_log_function access_log;  // off when empty; see common_log()
    error_log_function error_log;    // handler exceptions and the like; empty: a line on stderr

    bool announce = false;        // print "listening on http://ADDRESS:PORT/" once accepting,
                                  // a line per address ("listening on unix:/path" for a socket)
    std::string announce_query;   // appended to the first URL as "?QUERY" (an access token, say)
    bool handle_signals = false;  // serve(): SIGINT and SIGTERM stop gracefully, serve returns

    // One listening socket per loop (SO_REUSEPORT, Linux) rather than one shared by all.
    bool listener_per_thread = true;

    // Linux, start()ed servers: while the server has exactly one connection, its client keeps
    // asking and each answer leaves at once, that connection's loop thread runs on the CPU the
    // client's packets arrive on (SO_INCOMING_CPU), so client and server take turns on one CPU
    // instead of waking each other's idle one; it goes back to its former CPUs when a second
    // connection comes, an answer takes longer (a download), the client goes quiet or leaves.
    // Never a caller's thread (poll()). See docs/server.md.
    bool single_client_affinity = true;

    // serve(): HTTPS with this certificate chain and private key (PEM file names, kept as
    // pointers: a string literal, argv, or a string that outlives serve()), reloaded on SIGHUP.
    // Needs <porthole/tls.hpp> and OpenSSL (porthole-tls); see docs/tls.md. A server object
    // takes a tls::context instead (porthole::https_server).
    char const* tls_cert_file = nullptr;
    char const* tls_key_file = nullptr;

    // The command line every example shares:  --port N  --threads N  --address A (repeatable)
    // --socket-mode OCTAL  --socket-owner U  --socket-group G  --allow-host NAME (repeatable)
    // --shared-listener  --help (-h), --tls-cert FILE --tls-key FILE (HTTPS, with
    // <porthole/tls.hpp>), and the limits
    // --max-connections N  --header-timeout-ms N  --body-timeout-ms N  --keep-alive-timeout-ms N
    // --write-timeout-ms N  --drain-timeout-ms N  --response-timeout-ms N  --worker-threads N
    // --worker-queue N  --websocket-ping-ms N  --websocket-close-timeout-ms N.
    // Other arguments are left alone (read them with command_line_value()). The options it
    // gives set announce and handle_signals. It prints nothing and never exits: --help, a
    // malformed value and a flag without one come back as a command_line that is not ok(), for
    // main to report.
    static command_line from_command_line(int argc, char const* const* argv);
};

// The former name, kept for one version.
using options [[deprecated("porthole::options is now porthole::server_options")]] = server_options;

// What a command line asks for: options to serve with, or (for --help, or a malformed value)
// a message to print and a status to exit with. serve(app, command_line) acts on it the way
// the examples do; a program that builds a server itself checks ok() first:
//
//   auto cl = porthole::server_options::from_command_line(argc, argv);
//   if (!cl.ok()) return cl.report();   // usage on stdout and 0, or the problem on stderr and 2
//   porthole::server s(app, cl.options);
struct command_line {
    enum class outcome : std::uint8_t { serve, help, invalid };

    porthole::server_options options;  // with outcome::serve: what to serve with
    outcome result = outcome::serve;
    std::string message;  // help: the usage; invalid: "PROGRAM: what is wrong", then the usage

    bool ok() const noexcept { return result == outcome::serve; }
    // 0 for serve and help, 2 for a malformed value (the convention of command-line tools).
    int exit_status() const noexcept { return result == outcome::invalid ? 2 : 0; }
    // Prints the message (help on stdout, a problem on stderr) and returns exit_status().
    int report() const {
        std::FILE* out = result == outcome::invalid ? stderr : stdout;
        std::fwrite(message.data(), 1, message.size(), out);
        std::fflush(out);
        return exit_status();
    }
};

// The value of `--name VALUE` or `--name=VALUE` on a command line, if present.
inline std::optional<std::string_view> command_line_value(int argc, char const* const* argv, std::string_view name) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a.size() < name.size() || a.substr(0, name.size()) != name) continue;
        if (a.size() == name.size()) {
            if (i + 1 < argc) return std::string_view(argv[i + 1]);
            return std::nullopt;
        }
        if (a[name.size()] == '=') return a.substr(name.size() + 1);
    }
    return std::nullopt;
}

// Every value of a repeatable `--name VALUE` / `--name=VALUE`, in order.
inline std::vector<std::string_view> command_line_values(int argc, char const* const* argv, std::string_view name) {
    std::vector<std::string_view> out;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == name && i + 1 < argc) out.emplace_back(argv[++i]);
        else if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
            out.push_back(a.substr(name.size() + 1));
    }
    return out;
}

// Whether a bare `--name` flag is on a command line.
inline bool command_line_flag(int argc, char const* const* argv, std::string_view name) {
    for (int i = 1; i < argc; ++i) {
        if (argv[i] == name) return true;
    }
    return false;
}

namespace detail {

inline std::string command_line_usage(std::string_view program) {
    std::string usage = "usage: ";
    usage.append(program).append(
        " [--port N] [--threads N] [--address A]... [--tls-cert FILE --tls-key FILE] [limits]\n");
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
        "limits:\n"
        "  --max-connections N        open connections; beyond: 503 and close (default 10000)\n"
        "  --header-timeout-ms N      first byte to end of request head (default 10000)\n"
        "  --body-timeout-ms N        without body bytes arriving (default 30000)\n"
        "  --keep-alive-timeout-ms N  idle between requests (default 60000)\n"
        "  --write-timeout-ms N       without output leaving (default 30000)\n"
        "  --drain-timeout-ms N       on SIGINT/SIGTERM, longest wait for requests in flight (default 5000)\n"
        "  --response-timeout-ms N    for an answer that comes later; beyond: 503 (default 60000)\n"
        "  --websocket-ping-ms N      WebSocket ping after this long without input; 0: none (default 30000)\n"
        "  --websocket-close-timeout-ms N  wait for the peer's WebSocket Close (default 5000)\n"
        "  --worker-threads N         threads for blocking handlers (default 16)\n"
        "  --worker-queue N           blocking jobs waiting for a thread; beyond: 503 (default 256)\n";
    return usage;
}

inline bool parse_unsigned(std::string_view s, unsigned long max, unsigned long& out) {
    std::uint64_t v = 0;
    if (!parse_decimal(s, v) || v > max) return false;
    out = static_cast<unsigned long>(v);
    return true;
}

}  // namespace detail

inline command_line server_options::from_command_line(int argc, char const* const* argv) {
    command_line cl;
    server_options& o = cl.options;
    o.announce = true;
    o.handle_signals = true;
    char const* program = argc > 0 ? argv[0] : "server";
    auto refuse = [&](std::string_view problem) {  // moves cl out: only ever `return refuse(...)`
        cl.result = command_line::outcome::invalid;
        cl.message.assign(program).append(": ").append(problem).append("\n");
        cl.message += detail::command_line_usage(program);
        return std::move(cl);
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            cl.result = command_line::outcome::help;
            cl.message = detail::command_line_usage(program);
            return cl;
        }
        if (a == "--shared-listener") o.listener_per_thread = false;
    }
    struct timeout_flag {
        char const* name;
        std::chrono::milliseconds server_options::*field;
    };
    static constexpr timeout_flag timeouts[] = {
        {"--header-timeout-ms", &server_options::header_timeout},
        {"--body-timeout-ms", &server_options::body_timeout},
        {"--keep-alive-timeout-ms", &server_options::keep_alive_timeout},
        {"--write-timeout-ms", &server_options::write_timeout},
        {"--drain-timeout-ms", &server_options::drain_timeout},
        {"--response-timeout-ms", &server_options::response_timeout},
        {"--websocket-ping-ms", &server_options::websocket_ping_interval},
        {"--websocket-close-timeout-ms", &server_options::websocket_close_timeout},
    };
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
    for (std::string_view flag :
         {"--port", "--threads", "--address", "--socket-mode", "--socket-owner", "--socket-group", "--allow-host",
          "--tls-cert", "--tls-key", "--max-connections", "--worker-threads", "--worker-queue"})
        if (lacks_value(flag)) return refuse(std::string(flag) + " needs a value");
    for (auto const& t : timeouts)
        if (lacks_value(t.name)) return refuse(std::string(t.name) + " needs a value");
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
    for (auto h : command_line_values(argc, argv, "--allow-host")) o.allowed_hosts.emplace_back(h);
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
            if (!detail::parse_unsigned(*ms, 86400000, v))
                return refuse(std::string(t.name) + " needs milliseconds from 0 to 86400000");
            o.*t.field = std::chrono::milliseconds(static_cast<long long>(v));
        }
    }
    return cl;
}

}  // namespace porthole
