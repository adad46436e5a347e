// The bound docs/security.md states on the memory one connection holds for its peer, from the
// limits: what the tests and the fuzz targets check connection::memory_held() against.
#pragma once

#include <porthole/connection.hpp>

#include <algorithm>
#include <cstddef>

namespace test_support {

// What the application decides, and the driver's read size, beside the limits.
struct application_sizes {
    std::size_t read = 64 * 1024;  // the most a driver hands over at once (the built-in server: 64 KiB)
    std::size_t body = 0;          // the largest string body the application returns (held until written)
    std::size_t head = 1024;       // the largest response head it makes (its fields, status line, framing)
};

// 2(L + H + B + F + R) + 32N + L + 9O + 4(I + h) + A + 16 KiB, with F = max(66 + E, T):
// request bytes held (twice, for the growth of a buffer), the field storage, the decoded path,
// the output that backpressure lets wait (with its records and held bodies, and the growth of
// their buffers), and a little for the rest.
inline std::size_t connection_memory_bound(porthole::connection_config const& c, application_sizes const& app = {}) {
    auto const& l = c.limits;
    std::size_t framing = std::max<std::size_t>(66 + l.max_chunk_extension, l.max_trailer_bytes);
    std::size_t input = 2 * (l.max_request_line + l.max_header_bytes + static_cast<std::size_t>(l.max_body) +
                             framing + app.read);
    std::size_t fields = sizeof(porthole::header_field) * l.max_header_count;
    std::size_t output = 9 * c.max_output_buffered + 4 * (c.inline_body_limit + app.head) + app.body;
    return input + fields + l.max_request_line + output + 16 * 1024;
}

}  // namespace test_support
