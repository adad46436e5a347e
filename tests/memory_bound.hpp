// The bound docs/security.md states on the memory one connection holds for its peer, from the
// limits: what the tests and the fuzz targets check connection::memory_held() against.
#pragma once

#include <porthole/connection.hpp>

#include <algorithm>
#include <cstddef>

namespace test_support {

// read_size: the most a driver hands the connection at once (the built-in server: 64 KiB);
// largest_body: the largest string body the application returns (held until written).
inline std::size_t connection_memory_bound(porthole::connection_config const& c, std::size_t read_size,
                                           std::size_t largest_body) {
    auto const& l = c.limits;
    std::size_t framing = std::max<std::size_t>(66 + l.max_chunk_extension, l.max_trailer_bytes);
    std::size_t input = 2 * (l.max_request_line + l.max_header_bytes + static_cast<std::size_t>(l.max_body) +
                             framing + read_size);
    std::size_t fields = sizeof(porthole::header_field) * l.max_header_count;
    std::size_t output = 7 * c.max_output_buffered + 4 * c.inline_body_limit + largest_body;
    return input + fields + output + l.max_request_line + 16 * 1024;
}

}  // namespace test_support
