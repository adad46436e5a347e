// What a connection has to send, written out whole: the bytes of its memory chunks, as a driver
// with a socket that never fills would write them; and that output with its Date fields taken
// out, to compare runs that may straddle a second. Shared by the connection tests.
#pragma once

#include <porthole/connection.hpp>

#include <cstddef>
#include <string>

namespace connection_output {

template <class App>
std::string write_all(porthole::connection<App>& conn) {
    std::string out;
    for (auto chunks = conn.pending_output(); !chunks.empty(); chunks = conn.pending_output()) {
        std::size_t n = 0;
        for (auto const& c : chunks) {
            out.append(c.memory);
            n += static_cast<std::size_t>(c.size());
        }
        conn.written(n);
    }
    return out;
}

// `out` without its Date field lines (RFC 9110 section 6.6.1): two runs of the same requests
// differ there alone when the clock turns a second between them.
inline std::string without_dates(std::string out) {
    for (auto p = out.find("\r\nDate: "); p != std::string::npos; p = out.find("\r\nDate: ", p)) {
        auto const end = out.find("\r\n", p + 2);
        out.erase(p + 2, end == std::string::npos ? std::string::npos : end - p);
    }
    return out;
}

}  // namespace connection_output
