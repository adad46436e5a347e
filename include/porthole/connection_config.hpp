// porthole/connection_config.hpp: what a driver tells its connections: parser limits, output
// bounds, the logs, the host names a loopback listener accepts, and where blocking handlers run.
// One configuration is shared by a driver's connections (connection.hpp).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/access_log.hpp>
#include <porthole/parse_error.hpp>

#include <cstddef>
#include <cstdio>
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

inline void default_error_log(std::string_view message) {
    std::fprintf(stderr, "porthole: %.*s\n", static_cast<int>(message.size()), message.data());
}

// An error-log line about one request: "what (GET /path)", the target cut at 200 bytes. The
// parser let no control character into either.
inline std::string about_request(std::string_view what, std::string_view method, std::string_view target) {
    constexpr std::size_t target_shown = 200;
    std::string line(what);
    line.append(" (").append(method).append(" ").append(target.substr(0, target_shown));
    if (target.size() > target_shown) line += "...";
    line += ')';
    return line;
}
}  // namespace detail

}  // namespace porthole
