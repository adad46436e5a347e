// porthole/detail/header_storage.hpp: where a connection's parser keeps a request's header fields:
// storage shared by the connections of a thread, and the count that keeps a running handler's
// fields from being overwritten by a connection it drives.
#pragma once

#include <porthole/http.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace porthole::detail {

// Header field storage shared by the connections of a thread: a request whose head arrives in
// one piece, the usual case, needs no storage of its own. It grows by adding a larger block and
// keeping the old ones, so storage a connection was given never moves when another connection
// on the thread has larger limits.
inline std::span<header_field> thread_header_storage(std::size_t n) {
    thread_local std::vector<std::unique_ptr<header_field[]>> blocks;
    thread_local std::size_t largest = 0;
    if (largest < n) {
        blocks.push_back(std::make_unique<header_field[]>(n));
        largest = n;
    }
    return {blocks.back().get(), n};
}
// How many handlers on this thread are running with a request whose fields may be in the shared
// storage. While one is, a connection that parses (a handler driving another connection or a
// test client) takes storage of its own first, so it cannot overwrite the running request.
inline unsigned& thread_header_storage_lent() noexcept {
    thread_local unsigned lent = 0;
    return lent;
}
struct header_storage_lease {
    header_storage_lease() noexcept { ++thread_header_storage_lent(); }
    ~header_storage_lease() { --thread_header_storage_lent(); }
    header_storage_lease(header_storage_lease const&) = delete;
    header_storage_lease& operator=(header_storage_lease const&) = delete;
};

}  // namespace porthole::detail
