// porthole/server.hpp: serve an application over TCP. serve() for whole programs; a server
// object to start, stop, wait or step from the caller's own loop; the options, the shared
// command line of the examples, and a Common Log Format access log.
#pragma once

#include <porthole/blocking.hpp>
#include <porthole/connection.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/detail/engine.hpp>
#include <porthole/detail/poller.hpp>
#include <porthole/detail/sys.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#if !defined(_WIN32)
#include <poll.h>
#include <unistd.h>
#endif

namespace porthole {

using error_log_function = std::function<void(std::string_view)>;

struct command_line;

struct options {
    // Where to listen: "127.0.0.1" (the default: this machine only), "::1", "0.0.0.0" (every
    // IPv4 interface), "::" (every interface, IPv4 too: dual stack), a name that resolves,
    // "unix:/path/to.sock" (a Unix domain socket, removed on stop), "unix:@name" (Linux abstract
    // socket). An address may carry its own port: "127.0.0.1:8081", "[::1]:8081".
    std::string address = "127.0.0.1";
    std::vector<std::string> extra_addresses;  // more places to listen at once, written the same way
    std::uint16_t port = 8080;  // for addresses without one; 0 picks a free port (server::port() tells
                                // which), shared by the other addresses without one
    unsigned threads = 0;       // event loops; 0: one per hardware thread

    // A Unix socket file's mode, and its owner and group (names or numbers; empty: unchanged).
    // POSIX only: on Windows a "unix:" address is refused when the server starts.
    detail::socket_file_mode unix_socket_mode = 0660;
    std::string unix_socket_owner;
    std::string unix_socket_group;

    // On loopback listeners, a request whose Host names anything but this machine (an IP literal,
    // "localhost", a name below ".localhost", or one of allowed_hosts) gets 421 Misdirected
    // Request: a web page that rebinds its own name to 127.0.0.1 cannot reach the server.
    bool check_loopback_host = true;
    std::vector<std::string> allowed_hosts;

    std::size_t max_connections = 10000;  // beyond: 503 and close
    std::chrono::milliseconds header_timeout{10000};     // first byte to end of request head
    std::chrono::milliseconds body_timeout{30000};       // without body bytes arriving
    std::chrono::milliseconds keep_alive_timeout{60000}; // idle between requests
    std::chrono::milliseconds write_timeout{30000};      // without output leaving
    std::chrono::milliseconds drain_timeout{5000};       // stop(): longest wait for requests in flight
    std::chrono::milliseconds response_timeout{60000};   // an answer that comes later: 503 and close beyond
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
    // --help, --tls-cert FILE --tls-key FILE (HTTPS, with <porthole/tls.hpp>), and the limits
    // --max-connections N  --header-timeout-ms N  --body-timeout-ms N  --keep-alive-timeout-ms N
    // --write-timeout-ms N  --drain-timeout-ms N  --response-timeout-ms N  --worker-threads N
    // --worker-queue N  --websocket-ping-ms N  --websocket-close-timeout-ms N.
    // Other arguments are left alone (read them with command_line_value()). The options it
    // gives set announce and handle_signals. It prints nothing and never exits: --help and a
    // malformed value come back as a command_line that is not ok(), for main to report.
    static command_line from_command_line(int argc, char const* const* argv);
};

// What a command line asks for: options to serve with, or (for --help, or a malformed value)
// a message to print and a status to exit with. serve(app, command_line) acts on it the way
// the examples do; a program that builds a server itself checks ok() first:
//
//   auto cl = porthole::options::from_command_line(argc, argv);
//   if (!cl.ok()) return cl.report();   // usage on stdout and 0, or the problem on stderr and 2
//   porthole::server s(app, cl.options);
struct command_line {
    enum class outcome : std::uint8_t { serve, help, invalid };

    porthole::options options;  // with outcome::serve: what to serve with
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
inline std::optional<std::string_view> command_line_value(int argc, char const* const* argv,
                                                          std::string_view name) {
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
    usage.append(program).append(" [--port N] [--threads N] [--address A]... [--tls-cert FILE --tls-key FILE] [limits]\n");
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

inline command_line options::from_command_line(int argc, char const* const* argv) {
    command_line cl;
    options& o = cl.options;
    o.announce = true;
    o.handle_signals = true;
    char const* program = argc > 0 ? argv[0] : "server";
    auto refuse = [&](std::string_view problem) {
        cl.result = command_line::outcome::invalid;
        cl.message.assign(program).append(": ").append(problem).append("\n");
        cl.message += detail::command_line_usage(program);
        return cl;
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
    if (command_line_flag(argc, argv, "--address") && addresses.empty()) return refuse("--address needs a value");
    for (auto a : addresses)
        if (a.empty()) return refuse("--address needs a value");
#if defined(_WIN32)
    for (auto a : addresses)
        if (a.substr(0, 5) == "unix:") return refuse("--address unix:... : Unix sockets are not supported on Windows");
    for (char const* flag : {"--socket-mode", "--socket-owner", "--socket-group"})
        if (command_line_flag(argc, argv, flag))
            return refuse(std::string(flag) + " is for Unix sockets, which are not supported on Windows");
#endif
    if (auto m = command_line_value(argc, argv, "--socket-mode")) {
        unsigned mode = 0;
        bool ok = !m->empty() && m->size() <= 5;
        for (char c : *m) {
            ok = ok && c >= '0' && c <= '7';
            mode = mode * 8 + static_cast<unsigned>(c - '0');
        }
        if (!ok || mode > 07777) return refuse("--socket-mode needs an octal mode such as 660");
        o.unix_socket_mode = static_cast<detail::socket_file_mode>(mode);
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
        if (!detail::parse_unsigned(*q, 10000000, v))
            return refuse("--worker-queue needs a number from 0 to 10000000");
        o.worker_queue = v;
    }
    struct timeout_flag {
        char const* name;
        std::chrono::milliseconds options::*field;
    };
    static constexpr timeout_flag timeouts[] = {
        {"--header-timeout-ms", &options::header_timeout},
        {"--body-timeout-ms", &options::body_timeout},
        {"--keep-alive-timeout-ms", &options::keep_alive_timeout},
        {"--write-timeout-ms", &options::write_timeout},
        {"--drain-timeout-ms", &options::drain_timeout},
        {"--response-timeout-ms", &options::response_timeout},
        {"--websocket-ping-ms", &options::websocket_ping_interval},
        {"--websocket-close-timeout-ms", &options::websocket_close_timeout},
    };
    for (auto const& t : timeouts) {
        if (auto ms = command_line_value(argc, argv, t.name)) {
            if (!detail::parse_unsigned(*ms, 86400000, v))
                return refuse(std::string(t.name) + " needs milliseconds from 0 to 86400000");
            o.*t.field = std::chrono::milliseconds(static_cast<long long>(v));
        }
    }
    return cl;
}

// Serves `app` (any porthole application; called concurrently from every loop thread, so it
// must be safe to call from several threads at once).
//
//   start()   opens the listeners and runs options.threads event loops in the background
//   stop()    graceful: stop accepting, close idle connections, finish requests in flight,
//             at most options.drain_timeout; waits for the loops unless called from a handler
//   wait()    blocks until stopped
//   poll(t)   instead of start(): one step of work on the caller's thread (one loop serves
//             everything); false once a stop has drained. native_handle() is the descriptor to
//             wait on between steps (readable when there is work); call poll() at least once a
//             second even when it is not readable, for timeouts.
//
// A handler runs on its loop's thread: while it blocks, that loop's other connections wait.
// Mark one that blocks with porthole::blocking() (it then runs on the worker pool), or answer
// later from a thread of your own (responder.hpp).
// Transport: what lies between the sockets and the connections; porthole/tls.hpp has HTTPS
// (porthole::https_server).
// A server, whatever its application's type, for code that stops it or reads its port: a
// handler that stops its own server (the handler is written before the server's type exists), a
// member of a class that is not a template. server<App>::handle() gives one; copies refer to the
// same server, which must outlive every call. An empty handle does nothing and has port 0.
class server_handle {
public:
    server_handle() = default;
    template <class Server>
    explicit server_handle(Server& s) noexcept
        : server_(&s),
          stop_([](void* p) { static_cast<Server*>(p)->stop(); }),
          port_([](void const* p) noexcept { return static_cast<Server const*>(p)->port(); }) {}

    // As server::stop(): graceful; from a handler it only asks.
    void stop() const {
        if (server_) stop_(server_);
    }
    std::uint16_t port() const noexcept { return server_ ? port_(server_) : 0; }
    explicit operator bool() const noexcept { return server_ != nullptr; }

private:
    void* server_ = nullptr;
    void (*stop_)(void*) = nullptr;
    std::uint16_t (*port_)(void const*) noexcept = nullptr;
};

template <class App, class Poller = detail::default_poller, class Transport = detail::plain_transport>
class server {
    using app_type = std::remove_reference_t<App>;
    using shared_type =
        detail::engine_shared<connection<app_type>, date_source, app_type, connection_config, Transport>;

public:
    explicit server(App app, options opts = {}, Transport transport = {})
        : app_(std::forward<App>(app)),
          opts_(std::move(opts)),
          workers_(opts_.worker_threads, opts_.worker_queue),
          config_(make_config(opts_, workers_)),
          settings_(make_settings(opts_)),
          shared_(app_, config_, settings_, std::move(transport)),
          engine_(shared_) {}

    server(server const&) = delete;
    server& operator=(server const&) = delete;
    ~server() = default;  // stops (gracefully) and waits; then the worker pool (declared first) goes

    void start() {
        engine_.start();
        announce();
    }
    void stop() { engine_.stop(); }
    void wait() { engine_.wait(); }

    bool poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
        if (!engine_.running()) {
            (void)engine_.native_handle();
            announce();
        }
        auto ms = timeout.count() < 0 ? -1 : static_cast<int>(std::min<long long>(timeout.count(), 1 << 30));
        return engine_.poll(ms);
    }

    int native_handle() { return engine_.native_handle(); }
    // The port of the first TCP address (0 when not listening, or only on Unix sockets).
    std::uint16_t port() const noexcept { return engine_.port(); }
    // Where the server listens once started: "http://127.0.0.1:8080/" (https with TLS),
    // "unix:/run/tool.sock",
    // one per address in the options' order; for the thread that started it.
    std::vector<std::string> locations() const {
        std::vector<std::string> out;
        for (auto const& b : engine_.bound()) {
            if (b.address.kind == detail::listen_address::unix_file) out.push_back("unix:" + b.address.path);
            else if (b.address.kind == detail::listen_address::unix_abstract) out.push_back("unix:@" + b.address.path);
            else out.push_back(url_of(b));
        }
        return out;
    }
    options const& settings() const noexcept { return opts_; }
    server_handle handle() noexcept { return server_handle(*this); }

private:
    static connection_config make_config(options const& o, worker_pool& workers) {
        connection_config c{};
        c.workers = &workers;
        c.limits = o.limits;
        c.server_header = o.server_header;
        c.max_output_buffered = o.max_output_buffered;
        c.access_log = o.access_log;
        c.error_log = o.error_log;
        c.allowed_hosts = o.allowed_hosts;
        return c;
    }

    static detail::engine_settings make_settings(options const& o) {
        detail::engine_settings s;
        s.addresses = {o.address};
        s.addresses.insert(s.addresses.end(), o.extra_addresses.begin(), o.extra_addresses.end());
        s.port = o.port;
        s.unix_socket = {o.unix_socket_mode, o.unix_socket_owner, o.unix_socket_group};
        s.check_loopback_host = o.check_loopback_host;
        s.threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
        s.max_connections = o.max_connections;
        s.header_timeout = o.header_timeout;
        s.body_timeout = o.body_timeout;
        s.idle_timeout = o.keep_alive_timeout;
        s.write_timeout = o.write_timeout;
        s.drain_timeout = o.drain_timeout;
        s.response_timeout = o.response_timeout;
        s.upgraded_ping_interval = o.websocket_ping_interval;
        s.upgraded_close_timeout = o.websocket_close_timeout;
        s.listener_per_thread = o.listener_per_thread;
        s.single_client_affinity = o.single_client_affinity;
        return s;
    }

    void announce() {
        if (!opts_.announce) return;
        bool query = !opts_.announce_query.empty();
        char const* scheme = Transport::encrypted ? "https" : "http";
        for (auto const& b : engine_.bound()) {  // one line each, as locations() lists them
            auto const& a = b.address;
            if (a.is_unix()) {
                std::printf("listening on unix:%s%s\n", a.kind == detail::listen_address::unix_abstract ? "@" : "",
                            a.path.c_str());
                continue;
            }
            bool v6 = a.host.find(':') != std::string::npos;
            std::printf(v6 ? "listening on %s://[%s]:%u/%s%s\n" : "listening on %s://%s:%u/%s%s\n", scheme, a.host.c_str(),
                        unsigned{b.port}, query ? "?" : "", query ? opts_.announce_query.c_str() : "");
            query = false;
        }
        std::fflush(stdout);
    }

    static std::string url_of(detail::bound_address const& b) {
        bool v6 = b.address.host.find(':') != std::string::npos;
        return std::string(Transport::encrypted ? "https://" : "http://") + (v6 ? "[" + b.address.host + "]" : b.address.host) +
               ":" + std::to_string(b.port) + "/";
    }

    App app_;
    options opts_;
    worker_pool workers_;
    connection_config config_;
    detail::engine_settings settings_;
    shared_type shared_;
    detail::engine<shared_type, Poller> engine_;
};

template <class A>
server(A&&) -> server<A>;
template <class A>
server(A&&, options) -> server<A>;

namespace detail {

#if !defined(_WIN32)  // Windows: console control events (sys_windows.hpp)
// Signals become a byte on a pipe (the only async-signal-safe way to act on one), and the
// previous handlers come back afterwards: serve() stops on SIGINT and SIGTERM, and with HTTPS
// reloads its certificate on SIGHUP. A signal has one pipe at a time.
inline std::atomic<int> signal_pipe_ends[NSIG]{};  // write end + 1; 0: none

extern "C" inline void porthole_on_signal(int sig) {
    int saved = errno;
    char c = 1;
    int fd = sig > 0 && sig < NSIG ? signal_pipe_ends[sig].load() - 1 : -1;
    if (fd >= 0) (void)!::write(fd, &c, 1);
    errno = saved;
}

class signal_pipe {
public:
    explicit signal_pipe(std::initializer_list<int> signals) {
        open_pipe(read_, write_);
        sigset_t set;
        sigemptyset(&set);
        struct sigaction sa {};
        sa.sa_handler = porthole_on_signal;
        sigemptyset(&sa.sa_mask);
        for (int sig : signals) {
            if (count_ == max_signals || sig <= 0 || sig >= NSIG) continue;
            signal_pipe_ends[sig].store(write_.get() + 1);
            ::sigaction(sig, &sa, &old_[count_]);
            signals_[count_++] = sig;
            sigaddset(&set, sig);
        }
        ::pthread_sigmask(SIG_UNBLOCK, &set, &old_mask_);
    }
    signal_pipe(signal_pipe const&) = delete;
    signal_pipe& operator=(signal_pipe const&) = delete;
    ~signal_pipe() {
        for (int i = 0; i < count_; ++i) {
            ::sigaction(signals_[i], &old_[i], nullptr);
            signal_pipe_ends[signals_[i]].store(0);
        }
        ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    }
    int fd() const noexcept { return read_.get(); }  // readable once a signal came
    void wait() const {
        pollfd p{read_.get(), POLLIN, 0};
        while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
    }
    void clear() const noexcept {
        char buf[64];
        while (::read(read_.get(), buf, sizeof buf) > 0) {
        }
    }

private:
    static constexpr int max_signals = 4;
    unique_fd read_;
    unique_fd write_;
    int signals_[max_signals]{};
    int count_ = 0;
    struct sigaction old_[max_signals] {};
    sigset_t old_mask_{};
};
#endif

// --tls-cert without <porthole/tls.hpp>: no HTTPS to serve, and serving plain HTTP instead
// would be a surprise. With it, a better match for the tag is found (argument-dependent lookup
// when serve() is instantiated).
template <class App>
struct https_tag {};
template <class Tag, class App>
int serve_https(Tag, App&, options&&) {
    std::fprintf(stderr, "porthole: --tls-cert needs a program built with <porthole/tls.hpp> (porthole-tls)\n");
    return 1;
}

}  // namespace detail

// The ten-line program: serve `app` until SIGINT/SIGTERM (with options.handle_signals, as
// options::from_command_line sets), then stop gracefully and return 0. Without
// handle_signals it serves until the process ends. When the server cannot start (the port is
// taken, say) it prints why on stderr and returns 1, so `return porthole::serve(...)` from main
// gives the right exit status.
template <class App>
int serve(App&& app, options opts = {}) {
    if (opts.tls_cert_file)
        return serve_https(detail::https_tag<std::remove_reference_t<App>>{}, app, std::move(opts));
    bool signals = opts.handle_signals;
    try {
        server<App&> s(app, std::move(opts));
        if (!signals) {
            s.start();
            s.wait();
            return 0;
        }
        detail::signal_pipe stop({SIGINT, SIGTERM});  // before start(): a signal arriving early is not lost
        s.start();
        stop.wait();
        s.stop();
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "porthole: %s\n", e.what());
        return 1;
    }
}

// serve() with what a command line asked for: after --help, the usage on stdout and 0; after a
// malformed value, the problem and the usage on stderr and 2; otherwise serve(app, options).
template <class App>
int serve(App&& app, command_line const& cl) {
    if (!cl.ok()) return cl.report();
    return serve(std::forward<App>(app), cl.options);
}

}  // namespace porthole
