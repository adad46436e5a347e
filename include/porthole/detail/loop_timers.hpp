// porthole/detail/loop_timers.hpp: an event loop's timeouts, as one list of sockets per kind of
// timeout. Each kind has one duration, so appending at the tail keeps each list sorted by
// deadline and expiry only ever looks at the heads.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace porthole::detail {

// Which timeout applies. Idle connections are in two lists: awake ones (their connection object
// kept, because requests came back to back) and asleep ones (the object given back); awake ones
// fall asleep after a short while. A connection awaiting its application's answer is on the
// response clock; one whose live stream has nothing to send is on a list that never expires (it
// is only for finding it). An upgraded connection (WebSocket) is on its protocol's keep-alive
// clock, whose expiry asks it to ping (or to give up on a peer that did not answer the last
// ping), then on its close clock while it waits for the peer's close. A connection closed
// before its peer was done sending lingers (event_loop.hpp) on a clock of its own.
enum timer_kind : std::uint8_t {
    t_idle,
    t_asleep,
    t_header,
    t_body,
    t_write,
    t_answer,
    t_stream,
    t_upgraded,
    t_upgraded_close,
    t_linger,
    t_count,
    t_none = 0xff
};

// The lists are threaded through the loop's per-socket records: a Slot has prev and next (its
// links), deadline, and timer (its timer_kind; t_none while on no list).
template <class Slot>
class loop_timers {
public:
    struct list {
        Slot* head = nullptr;
        Slot* tail = nullptr;
        std::int64_t duration = 0;
        std::int64_t refresh = 0;  // progress moves a deadline only after this much time
    };

    void set_duration(timer_kind k, std::chrono::milliseconds d) noexcept {
        lists_[k].duration = std::max<std::int64_t>(1, d.count());
        lists_[k].refresh = std::min<std::int64_t>(1000, lists_[k].duration / 8);
    }

    // At the tail of k's list, due its duration after now.
    void link(Slot& s, timer_kind k, std::int64_t now) noexcept {
        list& l = lists_[k];
        s.timer = k;
        s.deadline = now + l.duration;
        s.next = nullptr;
        s.prev = l.tail;
        if (l.tail) l.tail->next = &s;
        else l.head = &s;
        l.tail = &s;
    }

    void unlink(Slot& s) noexcept {
        if (s.timer == t_none) return;
        list& l = lists_[s.timer];
        if (s.prev) s.prev->next = s.next;
        else l.head = s.next;
        if (s.next) s.next->prev = s.prev;
        else l.tail = s.prev;
        s.prev = s.next = nullptr;
        s.timer = t_none;
    }

    list& operator[](std::size_t k) noexcept { return lists_[k]; }
    list const& operator[](std::size_t k) const noexcept { return lists_[k]; }
    list* begin() noexcept { return lists_; }
    list* end() noexcept { return lists_ + t_count; }
    list const* begin() const noexcept { return lists_; }
    list const* end() const noexcept { return lists_ + t_count; }

private:
    list lists_[t_count];
};

}  // namespace porthole::detail
