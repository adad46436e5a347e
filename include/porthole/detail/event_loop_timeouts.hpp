// porthole/detail/event_loop_timeouts.hpp: a connection's clock running out. Each wake-up the
// loop expires the timer lists in order: a request that stopped coming is answered 408 (503 for
// an answer that did not come), an upgraded protocol pings or gives up, a lingering close ends,
// and idle keep-alive connections first give their object back, then close. Members of
// event_loop (event_loop.hpp), defined here, out of the class.
#pragma once

#include <porthole/detail/event_loop.hpp>

namespace porthole::detail {

template <class Shared, class Poller>
inline void event_loop<Shared, Poller>::expire_timers() {
    for (int k = 0; k < t_count; ++k) {
        auto& l = timers_[k];
        while (l.head && l.head->deadline <= now_) {
            slot& s = *l.head;
            if (k == t_upgraded || k == t_upgraded_close) {  // counted only when it closes
                if (!timed_out_upgraded(s)) continue;
                if (auto* m = metrics_recorder()) count_timeout(*m, k);
                continue;
            }
            if (k == t_linger) {  // not a timeout of the peer's: it had its answer
                close(s);
                continue;
            }
            if (auto* m = metrics_recorder()) count_timeout(*m, k);
            if (k == t_header || k == t_body || k == t_answer) timed_out_reading(s);
            else close(s);
        }
    }
}

template <class Shared, class Poller>
inline void event_loop<Shared, Poller>::count_timeout(metrics_shard& m, int k) noexcept {
    using metrics::timeout_kind;
    timeout_kind kind = k == t_header                              ? timeout_kind::header
                        : k == t_body                              ? timeout_kind::body
                        : k == t_write                             ? timeout_kind::write
                        : k == t_answer                            ? timeout_kind::response
                        : k == t_upgraded || k == t_upgraded_close ? timeout_kind::websocket
                                                                   : timeout_kind::keep_alive;
    m.timeouts[static_cast<std::size_t>(kind)].add();
}

// Awake idle connections that saw no request for a while give their object back. Moving
// keeps the deadline, so the asleep list is sorted to within the sleep delay.
template <class Shared, class Poller>
inline std::int64_t event_loop<Shared, Poller>::sleep_time(slot const& s) const noexcept {
    auto const& l = timers_[t_idle];
    return s.deadline - l.duration + 2 * l.refresh;
}

template <class Shared, class Poller>
inline void event_loop<Shared, Poller>::put_idle_to_sleep() noexcept {
    auto& l = timers_[t_idle];
    while (l.head && sleep_time(*l.head) <= now_) {
        slot& s = *l.head;
        std::int64_t deadline = s.deadline;
        timers_.unlink(s);
        hibernate(s);
        timers_.link(s, t_asleep, now_);
        s.deadline = deadline;
    }
}

// The connection answers 408 (or 503 for an answer that did not come) when it still can;
// that answer gets the write clock.
template <class Shared, class Poller>
inline void event_loop<Shared, Poller>::timed_out_reading(slot& s) noexcept {
    timers_.unlink(s);
    try {
        if (!s.conn) {  // nothing arrived at all: nobody to answer
            close(s);
            return;
        }
        if constexpr (encrypted) {  // a peer that leaves records unread would not read the 408 either
            if (!s.writable && shared_.transport.has_output(s.tls)) {
                close(s);
                return;
            }
        }
        s.conn->timeout();
        bool progressed = false;
        int writes = writes_per_wakeup;
        if (!flush(s, progressed, writes)) return;
        if (phase(s) != connection_phase_type::writing) {
            close(s);
            return;
        }
        timers_.link(s, t_write, now_);
        if constexpr (!Poller::edge_triggered) poller_.set_interest(s.fd, s.handle, false, !s.writable);
    } catch (...) {
        close(s);
    }
}

// The upgraded protocol's clock ran out: it pings, or gives up (then closes); the loop
// writes what it queued and files the connection again.
// True when the timeout ended the connection (a ping went unanswered, or a close); false
// when it only sent a ping.
template <class Shared, class Poller>
inline bool event_loop<Shared, Poller>::timed_out_upgraded(slot& s) noexcept {
    timers_.unlink(s);
    try {
        std::size_t backlog = 0;
        if (send_queue_bytes(s.fd, backlog)) {
            // TLS's records the socket did not take yet wait too (and are larger than what was
            // written: a peer that took nothing never looks as if it took some).
            if constexpr (encrypted) backlog += shared_.transport.unsent(s.tls);
            s.conn->transport_backlog(backlog);
        }
        s.conn->timeout();
    } catch (...) {
        close(s);
        return true;
    }
    bool ended = s.conn->phase() == connection_phase_type::closed;  // TLS may still say goodbye
    drive(s);
    if (!s.closed && s.timer == t_none) timers_.link(s, kind_for(s, phase(s)), now_);
    return ended || s.closed;
}

}  // namespace porthole::detail
