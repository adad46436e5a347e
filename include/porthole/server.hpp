// porthole/server.hpp: serve an application over TCP: a server object to start, stop, wait or
// step from the caller's own loop, and a handle to it that needs no application type. serve(),
// for whole programs, is serve.hpp; what a server is told (server_options, the command line) is
// options.hpp.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/blocking.hpp>
#include <porthole/connection.hpp>
#include <porthole/detail/engine.hpp>
#include <porthole/detail/poller.hpp>
// detail/signal_pipe.hpp: for serve() (serve.hpp) and HTTPS's (tls.hpp), which include this header.
#include <porthole/detail/signal_pipe.hpp>
#include <porthole/detail/sys.hpp>
#include <porthole/options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace porthole {

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

// Serves `app` (any porthole application; called concurrently from every loop thread, so it
// must be safe to call from several threads at once).
//
//   start()   opens the listeners and runs options.threads event loops in the background
//   stop()    graceful: stop accepting, close idle connections, finish requests in flight,
//             at most options.drain_timeout; waits for the loops unless called from its own
//             handler (a blocking one on the worker pool too), or from another server's while a
//             loop of this one waits in that server's stop(); not async-signal-safe
//   wait()    blocks until stopped; from a handler (a blocking one too, or in a poll() step)
//             throws std::logic_error
//   poll(t)   instead of start(): one step of work on the caller's thread (one loop serves
//             everything); false once a stop has drained, also one that stop() drained on
//             this thread (the call after that listens again). native_handle() is the descriptor to
//             wait on between steps (readable when there is work); call poll() at least once a
//             second even when it is not readable, for timeouts.
//
// A handler runs on its loop's thread: while it blocks, that loop's other connections wait.
// Mark one that blocks with porthole::blocking() (it then runs on the worker pool), or answer
// later from a thread of your own (responder.hpp).
// Transport: what lies between the sockets and the connections; porthole/tls.hpp has HTTPS
// (porthole::https_server).
template <class App, class Poller = detail::default_poller, class Transport = detail::plain_transport>
class server {
    using app_type = std::remove_reference_t<App>;
    // An application that does not fit is the constructor's one error; the members that run the
    // engine then run it for a stand-in, so that they add none.
    using engine_app = std::conditional_t<detail::fits_application<app_type>, app_type, detail::unfit_application>;
    using shared_type =
        detail::engine_shared<connection<engine_app>, date_source, engine_app, connection_config, Transport>;

public:
    explicit server(App app, server_options opts = {},
                    Transport transport = {}) requires detail::fits_application<app_type>
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
    // From a blocking handler (a pool thread) as from a loop's: it only asks, since the drain
    // waits for that handler's answer.
    void stop() {
        if (workers_.runs_this_thread()) engine_.request_stop();
        else engine_.stop();
    }
    void wait() {
        if (workers_.runs_this_thread()) throw std::logic_error("porthole: wait() called from a blocking handler");
        engine_.wait();
    }

    bool poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
        if (!engine_.running() && !engine_.stop_unreported()) {
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
    // The options the server was made with.
    server_options const& options() const noexcept { return opts_; }
    [[deprecated("server::settings() is now server::options()")]] server_options const& settings() const noexcept {
        return opts_;
    }
    server_handle handle() noexcept { return server_handle(*this); }

private:
    // The server_options split in two: what each connection is told (connection_config) and
    // what the engine that accepts and times connections is told (detail::engine_settings).
    static connection_config make_config(server_options const& o, worker_pool& workers) {
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

    static detail::engine_settings make_settings(server_options const& o) {
        detail::engine_settings s;
        s.addresses = {o.address};
        s.addresses.insert(s.addresses.end(), o.extra_addresses.begin(), o.extra_addresses.end());
        s.port = o.port;
        if (o.unix_socket_mode > 07777)  // whatever the platform's mode type holds
            throw std::invalid_argument("porthole: unix_socket_mode has bits beyond 07777");
        s.unix_socket = {static_cast<detail::socket_file_mode>(o.unix_socket_mode), o.unix_socket_owner,
                         o.unix_socket_group};
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
        s.single_client_affinity = o.single_client_affinity != follow_client::never;
        s.measure_single_client_affinity = o.single_client_affinity == follow_client::when_faster;
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
            std::printf(v6 ? "listening on %s://[%s]:%u/%s%s\n" : "listening on %s://%s:%u/%s%s\n", scheme,
                        a.host.c_str(), unsigned{b.port}, query ? "?" : "", query ? opts_.announce_query.c_str() : "");
            query = false;
        }
        std::fflush(stdout);
    }

    static std::string url_of(detail::bound_address const& b) {
        bool v6 = b.address.host.find(':') != std::string::npos;
        return std::string(Transport::encrypted ? "https://" : "http://") +
               (v6 ? "[" + b.address.host + "]" : b.address.host) + ":" + std::to_string(b.port) + "/";
    }

    App app_;
    server_options opts_;
    worker_pool workers_;
    connection_config config_;
    detail::engine_settings settings_;
    shared_type shared_;
    detail::engine<shared_type, Poller> engine_;
};

template <class A>
server(A&&) -> server<A>;
template <class A>
server(A&&, server_options) -> server<A>;

}  // namespace porthole

// serve() comes with the server, as it always has.
#include <porthole/serve.hpp>
