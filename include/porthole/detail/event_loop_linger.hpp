// porthole/detail/event_loop_linger.hpp: lingering close (RFC 9112 section 9.6). A connection
// that answered before its peer was done sending (a refused upload, a request cut short) must
// not close with the peer's bytes unread: the kernel would reset the connection, and a reset
// can destroy the answer before the peer reads it. The loop shuts down its sending side instead
// (the peer sees the end of the answer) and reads and drops what still comes, until the peer
// closes or lingering_time passes, holding the slot alone. Members of event_loop
// (event_loop.hpp), defined here, out of the class.
#pragma once

#include <porthole/detail/event_loop.hpp>

#include <cerrno>

namespace porthole::detail {

// Over TLS the same, once the answer and close_notify are sent (phase() is not closed before):
// the session goes, and what still comes is dropped encrypted, never decrypted.
template <class Shared, class Poller>
bool event_loop<Shared, Poller>::should_linger(slot const& s) const noexcept {
    if constexpr (encrypted) {
        if (!s.tls || !s.tls->established()) return false;  // a failed session: nothing to finish
    }
    return !s.eof && !draining_ && s.conn && s.conn->closes_before_input_ends();
}

template <class Shared, class Poller>
void event_loop<Shared, Poller>::linger(slot& s) noexcept {
    shutdown_output(s.fd);
    hibernate(s);
    if constexpr (encrypted) s.tls.reset();  // close_notify is out; its memory is not needed
    s.lingering = true;
    s.readable = true;
    timers_.unlink(s);
    timers_.link(s, t_linger, now_);  // not moved by progress: lingering_time at most
    if constexpr (!Poller::edge_triggered) poller_.set_interest(s.fd, s.handle, true, false);
    drop_input(s);
}

template <class Shared, class Poller>
void event_loop<Shared, Poller>::drop_input(slot& s) noexcept {
    for (int budget = reads_per_wakeup; budget-- > 0;) {
        long n = socket_receive(s.fd, input_.data(), input_.size());
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s.readable = false;
            return;
        }
        s.eof = true;  // the peer closed, or the connection broke: done
        close(s);
        return;
    }
    try {
        defer(s);  // more is coming: after the loop's other connections
    } catch (...) {
        close(s);  // no memory to come back to it
    }
}

}  // namespace porthole::detail
