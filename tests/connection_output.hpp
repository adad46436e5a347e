// What a connection has to send, written out whole: the bytes of its memory chunks, as a driver
// with a socket that never fills would write them. Shared by the connection tests.
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

}  // namespace connection_output
