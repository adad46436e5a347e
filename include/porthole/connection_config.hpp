// porthole/connection_config.hpp: what a driver tells its connections: parser limits, output
// bounds, the logs, the host names a loopback listener accepts, and where blocking handlers run.
// One configuration is shared by a driver's connections (connection.hpp).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/access_log.hpp>
#include <porthole/detail/error_log.hpp>
#include <porthole/parse_error.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace porthole {

class worker_pool;

// A connection's configuration: the per-connection part of server_options (server::make_config
// fills it), or what a driver of its own (embedding, tests) sets directly.
struct connection_config {
    parser_limits limits{};
    bool server_header = false;                    // "Server: porthole"; off: less to fingerprint
    std::size_t max_output_buffered = 256 * 1024;  // stop reading while more output than this waits
    std::size_t inline_body_limit = 16 * 1024;     // smaller bodies are copied next to the head
    access_log_function access_log{};
    std::function<void(std::string_view)> error_log{};  // default: a line on stderr
    // Host names accepted beside localhost and IP literals where a driver turns the Host check
    // on (set_host_check): "mytool.internal", compared case-insensitively, without a port.
    std::vector<std::string> allowed_hosts{};
    worker_pool* workers = nullptr;  // where blocking handlers run (blocking.hpp); none: inline
};

namespace detail {
inline connection_config const& default_connection_config() {
    static connection_config const defaults;
    return defaults;
}

}  // namespace detail

}  // namespace porthole
