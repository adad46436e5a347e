// porthole/options.hpp: what a server is told: where to listen, how many loops, the limits and
// timeouts, logs and HTTPS files (server_options). The command line every example shares is read
// into them by server_options::from_command_line (command_line.hpp, included at the end).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/access_log.hpp>
#include <porthole/parser.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace porthole {

using error_log_function = std::function<void(std::string_view)>;

struct command_line;

// Whether a start()ed server's loop runs on its one client's CPU (server_options::
// single_client_affinity, docs/server.md "One client").
enum class follow_client : unsigned char {
    never,
    when_faster,  // served a moment each way, the faster kept, looked at again every 1 to 16 s
    always,       // whenever the server has one client: for machines where waking an idle CPU is dear
};

// The whole numbers a program's flag takes, both ends included ({1, 9}).
struct number_range {
    std::int64_t min;
    std::int64_t max;
};

// A flag of the program's own, for from_command_line's --help and its check of the command
// line: `usage` as written on it, with a placeholder when the flag takes a value ("--root DIR")
// or without ("--gzip"); `about` what it does, on one line ("the folder to serve (default .)");
// for a flag whose value is a whole number, `numbers` ({"--gzip-level N", "the level", {1, 9}}):
// from_command_line refuses any other value as it does porthole's own ("--gzip-level needs a
// number from 1 to 9"), and command_line_number reads it.
struct program_flag {
    std::string_view usage;
    std::string_view about;
    std::optional<number_range> numbers;

    // Constructors rather than an aggregate, so that the numbers can be written {1, 9}.
    constexpr program_flag(std::string_view usage_, std::string_view about_) noexcept : usage(usage_), about(about_) {}
    constexpr program_flag(std::string_view usage_, std::string_view about_, number_range numbers_) noexcept
        : usage(usage_), about(about_), numbers(numbers_) {}
};

// The server's options: everything porthole::server and serve() are told. The server derives
// from them the engine's settings (detail::engine_settings: listeners, loops, timeouts) and its
// connections' configuration (connection_config: parser_limits, output bound, logs).
struct server_options {
    // Where to listen: "127.0.0.1" (the default: this machine only), "::1", "0.0.0.0" (every
    // IPv4 interface), "::" (every interface, IPv4 too: dual stack), a name that resolves,
    // "unix:/path/to.sock" (a Unix domain socket, removed on stop), "unix:@name" (Linux abstract
    // socket). An address may carry its own port: "127.0.0.1:8081", "[::1]:8081".
    std::string address = "127.0.0.1";
    std::vector<std::string> extra_addresses{};  // more places to listen at once, written the same way
    std::uint16_t port = 8080;                   // for addresses without one; 0 picks a free port (server::port() tells
                                                 // which), shared by the other addresses without one
    unsigned threads = 0;                        // event loops; 0: one per hardware thread

    // A Unix socket file's mode, and its owner and group (names or numbers; empty: unchanged).
    // POSIX only: on Windows a "unix:" address is refused when the server starts.
    unsigned unix_socket_mode = 0660;  // permission bits, 07777 at most
    std::string unix_socket_owner{};
    std::string unix_socket_group{};

    // On loopback listeners, a request whose Host names anything but this machine (an IP literal,
    // "localhost", a name below ".localhost", or one of allowed_hosts) gets 421 Misdirected
    // Request: a web page that rebinds its own name to 127.0.0.1 cannot reach the server.
    bool check_loopback_host = true;
    std::vector<std::string> allowed_hosts{};

    std::size_t max_connections = 10000;                  // beyond: 503 (HTTPS: none) and close
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

    access_log_function access_log{};  // off when empty; see common_log()
    error_log_function error_log{};    // handler exceptions and the like; empty: a line on stderr

    bool announce = false;         // print "listening on http://ADDRESS:PORT/" once accepting,
                                   // a line per address ("listening on unix:/path" for a socket)
    std::string announce_query{};  // appended to the first URL as "?QUERY" (an access token, say)
    bool handle_signals = false;   // serve(): SIGINT and SIGTERM stop gracefully, serve returns

    // One listening socket per loop (SO_REUSEPORT, Linux) rather than one shared by all.
    bool listener_per_thread = true;

    // Linux, start()ed servers: while the server has one client (at most 8 connections, all on
    // one loop, whose awake ones' packets all arrive on one CPU: behind a network card with one
    // receive queue, a few clients count as one) that keeps asking, and each answer leaves at
    // once, that loop's thread may run on the CPU the client's packets arrive on
    // (SO_INCOMING_CPU), so client and server take turns on one CPU instead of waking each
    // other's idle one; it goes back to its former CPUs when a connection comes from another CPU
    // or on another loop, an answer takes longer (a download), the client goes quiet or leaves.
    // when_faster (the default) serves the client about 60 ms each way and follows it unless it
    // sent clearly more bytes per millisecond not followed; tries again after 1, 2, 4 ... 16 s: following wins where
    // waking an idle CPU is dear (a virtual machine whose hypervisor must wake it) and may lose where it is cheap and
    // the client has a second request in flight. Never a caller's thread (poll()). See docs/server.md.
    follow_client single_client_affinity = follow_client::when_faster;

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
    // Other arguments are left alone (read them with command_line_value()). A program that
    // lists its own flags (`own`, below) has them in --help, and any other flag refused. The
    // options it gives set announce and handle_signals. It prints nothing and never exits:
    // --help, a malformed value and a flag without one come back as a command_line that is not
    // ok(), for main to report.
    static command_line from_command_line(int argc, char const* const* argv,
                                          std::initializer_list<program_flag> own = {});
};

// The former name, kept for one version.
using options [[deprecated("porthole::options is now porthole::server_options")]] = server_options;

}  // namespace porthole

// server_options::from_command_line and what it returns, defined with the command line.
#include <porthole/command_line.hpp>
