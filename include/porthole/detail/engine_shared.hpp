// porthole/detail/engine_shared.hpp: what every loop of one engine is given: the settings (the
// engine's part of server_options, with no HTTP types in it), the listening sockets as a loop
// sees them, the transport between sockets and connections, and the state the loops share.
#pragma once

#include <porthole/detail/sys.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace porthole::detail {

// The engine's settings: what its loops need from server_options (listeners, threads,
// timeouts), with no HTTP types in it; server::make_settings derives them.
struct engine_settings {
    std::vector<std::string> addresses = {"127.0.0.1"};  // see parse_listen_address
    std::uint16_t port = 0;  // for addresses without their own; 0: the first bound picks one
    unix_socket_settings unix_socket{};
    bool check_loopback_host = true;  // connections through loopback listeners check Host
    unsigned threads = 1;
    std::size_t max_connections = 10000;
    std::chrono::milliseconds header_timeout{10000};
    std::chrono::milliseconds body_timeout{30000};
    std::chrono::milliseconds idle_timeout{60000};
    std::chrono::milliseconds write_timeout{30000};
    std::chrono::milliseconds drain_timeout{5000};
    std::chrono::milliseconds response_timeout{60000};
    std::chrono::milliseconds upgraded_ping_interval{30000};  // 0: never
    std::chrono::milliseconds upgraded_close_timeout{5000};
    bool listener_per_thread = true;
    bool single_client_affinity = true;          // loops on the engine's threads follow one client's CPU
    bool measure_single_client_affinity = true;  // ... unless a trial finds not following clearly faster
    int backlog = 4096;
};

// A listening socket as a loop sees it.
struct loop_listener {
    int fd = -1;
    bool owned = false;       // this loop's own (SO_REUSEPORT) socket: the loop closes it
    bool check_host = false;  // a loopback listener: its connections are told to check Host
};

// What lies between a socket and its connection. Plain TCP: nothing, and the loop's code for
// it is the only code there is (every use of the transport is an `if constexpr`). An encrypting
// transport (porthole/tls.hpp) has the same shape, with encrypted = true and, per socket, a
// connection_state holding its session.
struct plain_transport {
    static constexpr bool encrypted = false;
    struct connection_state {};
};

// State shared by every loop of one server. Connections are constructed as
// Conn(app, config, &date) on the loop that accepted them.
template <class Conn, class Date, class App, class Config, class Transport = plain_transport>
struct engine_shared {
    using connection_type = Conn;
    using date_type = Date;
    using transport_type = Transport;

    engine_shared(App& a, Config const& c, engine_settings const& s, Transport t = {})
        : app(a), config(c), settings(s), transport(std::move(t)) {}

    App& app;
    Config const& config;
    engine_settings const& settings;
    [[no_unique_address]] Transport transport;
    std::atomic<std::size_t> connections{0};  // across all loops, for connection_limit
    // max_connections, lowered at start to what the descriptor limit leaves room for (see
    // connection_limit_for): beyond it a connection is refused with a 503 while a descriptor is
    // still free to accept it, rather than by the reserve-descriptor fallback of a full table.
    std::size_t connection_limit = settings.max_connections;
    std::atomic<bool> stop_requested{false};
};

// What `descriptors` (the soft RLIMIT_NOFILE) leaves for connections after the loops' own
// descriptors (poller, wake-up and reserve: 3 each, and a listener per address each) and 64 for
// the rest of the process (standard streams, files being served, logs); never below half the
// limit. One server's view: another server in the process, or files served to every connection
// at once (one each at most: a connection reads no further request while a file waits to be
// sent), can still fill the table (event_loop_room.hpp handles that; a file that cannot be
// opened for want of a descriptor is a 503 from static_files).
constexpr std::size_t connection_limit_for(std::size_t max_connections, std::size_t descriptors, unsigned loops,
                                           std::size_t listeners_per_loop) noexcept {
    if (descriptors == SIZE_MAX) return max_connections;
    std::size_t own = 64 + std::size_t{loops} * (3 + listeners_per_loop);
    return std::min(max_connections, descriptors - std::min(descriptors / 2, own));
}

}  // namespace porthole::detail
