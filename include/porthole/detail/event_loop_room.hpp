// porthole/detail/event_loop_room.hpp: a new connection when the server is full. At the
// connection limit (max_connections, lowered at start to what the descriptor limit leaves room
// for) a lingering connection, which has had its answer, makes room, else the newcomer gets 503.
// Out of descriptors at accept (the rest of the program holds them) a lingering or idle
// connection makes room, else a reserved descriptor is given up to answer 503. Members of
// event_loop (event_loop.hpp), defined here, out of the class.
#pragma once

#include <porthole/detail/event_loop.hpp>

namespace porthole::detail {

// Counts a new connection in, closing lingering ones of this loop to make room; false: full.
// Idle keep-alive connections keep their place: the newcomer is the one refused.
template <class Shared, class Poller>
bool event_loop<Shared, Poller>::admit() noexcept {
    for (;;) {
        if (shared_.connections.fetch_add(1, std::memory_order_relaxed) < shared_.connection_limit) return true;
        shared_.connections.fetch_sub(1, std::memory_order_relaxed);
        slot* s = timers_[t_linger].head;
        if (!s) return false;
        close(*s);
    }
}

// Out of descriptors: closes a lingering connection of this loop, else its longest idle
// keep-alive one. A server may close an idle connection at any time (RFC 9112 section 9.5); a
// client whose next request crosses the close sees it fail and, if it can, retries.
template <class Shared, class Poller>
bool event_loop<Shared, Poller>::make_room() noexcept {
    for (int k : {t_linger, t_asleep, t_idle}) {
        if (slot* s = timers_[k].head) {
            close(*s);
            return true;
        }
    }
    return false;
}

// Out of descriptors with none to free: give up the reserve one to accept the next connection
// and refuse it, so the level-triggered listener does not wake us again for the same connection
// forever.
template <class Shared, class Poller>
bool event_loop<Shared, Poller>::shed_one(listener& from) noexcept {
    if (!reserve_) return false;
    reserve_.reset();
    sockaddr_storage peer{};
    socklen_t len = 0;
    int fd = accept_connection(from.socket.fd, peer, len);
    if (fd >= 0) {
        reply_and_close(fd, refusal_reply());
        if (auto* m = metrics_recorder()) m->refused.add();
    }
    reserve_.reset(reserve_descriptor());
    return fd >= 0 && reserve_;
}

}  // namespace porthole::detail
