// What a connection has to send, written out whole: the bytes of its memory chunks, as a driver
// with a socket that never fills would write them; and that output with its Date values masked,
// to compare runs that may straddle a second. Shared by the connection tests.
#pragma once

#include <porthole/connection.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

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

// `out` with each Date field's value (RFC 9110 section 6.6.1) replaced by "*": two runs of the same
// requests differ there alone when the clock turns a second between them. The field names stay, so
// a missing or doubled Date field still shows as a difference.
inline std::string with_dates_masked(std::string_view out) {
    constexpr std::string_view name = "\r\nDate: ";
    std::string masked;
    std::size_t from = 0;
    for (auto p = out.find(name); p != std::string_view::npos; p = out.find(name, from)) {
        auto const value = p + name.size();
        masked.append(out.substr(from, value - from)).append("*");
        from = std::min(out.find("\r\n", value), out.size());
    }
    return masked.append(out.substr(from));
}

}  // namespace connection_output
