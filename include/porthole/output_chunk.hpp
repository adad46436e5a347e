// porthole/output_chunk.hpp: what a connection hands its driver to write, one piece at a time:
// bytes in memory or a range of an open file (connection::pending_output()).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace porthole {

// One piece of output: bytes in memory (file_fd < 0) or a range of an open file, which the driver
// sends with sendfile or reads. The connection owns the descriptor.
struct output_chunk {
    std::string_view memory;
    int file_fd = -1;
    std::uint64_t file_offset = 0;
    std::uint64_t file_length = 0;
    std::uint64_t size() const noexcept { return file_fd < 0 ? memory.size() : file_length; }
};

namespace detail {
// Where a pending_output() lists its pieces (output_chunk for HTTP, string_view for WebSocket)
// when the driver lends no room: one array per thread and piece type, not per connection (640
// bytes of chunks that a waiting connection would carry), since a driver writes one connection's
// output before it asks the next.
template <class Piece>
std::span<Piece> thread_output_room() noexcept {
    thread_local std::array<Piece, 16> room{};
    return room;
}
}  // namespace detail

}  // namespace porthole
