// porthole/detail/poller.hpp: readiness back ends for the event loop. On Linux, epoll with
// edge-triggered connections (input from the start, output added once after a short write);
// elsewhere, or with
// PORTHOLE_USE_POLL defined, level-triggered poll(2) (WSAPoll on Windows) with interest updated
// as needed.
#pragma once

#include <porthole/detail/sys.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#if !defined(_WIN32)
#include <poll.h>
#endif

#if defined(__linux__)
#include <sys/epoll.h>
#endif

namespace porthole::detail {

// What became ready, as the loop sees it.
// ready_hangup: the peer has closed its side (or the socket failed), so a read that comes up
// short is not the end of what there is to read: the end of input is still to be seen.
enum : unsigned { ready_read = 1, ready_write = 2, ready_hangup = 4 };

#if defined(__linux__)

class epoll_poller {
public:
    // Connections are registered for input, and for output once a write comes up short
    // (want_output); the loop remembers readiness itself, so set_interest() has nothing to do.
    static constexpr bool edge_triggered = true;
    struct handle {};

    epoll_poller() : ep_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!ep_) throw_errno("epoll_create1");
    }

    // The epoll descriptor is itself pollable: it reads ready when any watched socket is.
    int native_handle() const noexcept { return ep_.get(); }

    // Level-triggered read interest: listeners and wake-up channels. `exclusive` wakes only
    // one of the loops sharing a listener per connection.
    void add_watch(int fd, void* tag, handle&, bool exclusive = false) {
        epoll_event ev{};
        ev.events = EPOLLIN;
#if defined(EPOLLEXCLUSIVE)
        if (exclusive) ev.events |= EPOLLEXCLUSIVE;
#else
        (void)exclusive;
#endif
        ev.data.ptr = tag;
        if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl");
    }

    bool add_connection(int fd, void* tag, handle&) noexcept {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = tag;
        return ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
    }

    // A write came up short: from now on, also say when the socket takes output again.
    // False if that cannot be arranged (the connection could then never finish writing).
    bool want_output(int fd, void* tag, handle&) noexcept {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = tag;
        return ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
    }

    void set_interest(int, handle&, bool, bool) noexcept {}

    // Closing a descriptor removes it from epoll; this is for ones that stay open.
    void remove(int fd, handle&) noexcept {
        epoll_event ev{};
        ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, &ev);
    }

    // on_wake() runs once when the wait returns, before any on_ready(tag, ready_bits).
    template <class W, class F>
    void wait(int timeout_ms, W&& on_wake, F&& on_ready) {
        int n = ::epoll_wait(ep_.get(), events_, max_events, timeout_ms);
        on_wake();
        for (int i = 0; i < n; ++i) {
            std::uint32_t e = events_[i].events;
            unsigned r = 0;
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) r |= ready_read;
            if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) r |= ready_write;
            if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) r |= ready_hangup;
            on_ready(events_[i].data.ptr, r);
        }
    }

private:
    static constexpr int max_events = 256;
    unique_fd ep_;
    epoll_event events_[max_events];
};

#endif  // __linux__

class poll_poller {
public:
    static constexpr bool edge_triggered = false;
    // Where the descriptor sits in the pollfd array (moves when another one is removed), and
    // whether it sits out the next wait (see wait()).
    struct handle {
        std::uint32_t index = ~std::uint32_t{0};
        bool parked = false;
    };

    // poll(2) has no descriptor to expose: a caller's own loop calls poll() on a short timer.
    int native_handle() const noexcept { return -1; }

    void add_watch(int fd, void* tag, handle& h, bool = false) { insert(fd, POLLIN, tag, h); }

    bool add_connection(int fd, void* tag, handle& h) noexcept {
        try {
            insert(fd, 0, tag, h);  // the loop tries the socket first, then says what it waits for
            return true;
        } catch (...) {
            return false;
        }
    }

    void set_interest(int, handle& h, bool in, bool out) noexcept {
        fds_[h.index].events = static_cast<short>((in ? POLLIN : 0) | (out ? POLLOUT : 0));
    }

    void remove(int, handle& h) noexcept {
        if (h.parked) std::erase_if(parked_, [&](parked_socket const& p) { return p.owner == &h; });
        h.parked = false;
        std::uint32_t i = h.index;
        std::uint32_t last = static_cast<std::uint32_t>(fds_.size() - 1);
        if (i != last) {
            fds_[i] = fds_[last];
            tags_[i] = tags_[last];
            handles_[i] = handles_[last];
            handles_[i]->index = i;
        }
        fds_.pop_back();
        tags_.pop_back();
        handles_.pop_back();
        h.index = ~std::uint32_t{0};
    }

    // Readiness is copied out before any callback runs, because callbacks add and remove
    // descriptors (which moves entries of the pollfd array).
    //
    // A socket that waits for output room alone and is told only of a hangup sits out the next
    // wait, which lasts retry_ms at most, and is then reported writable: WSAPoll reports POLLHUP
    // from the peer's FIN on, whatever `events` asks for, so a half-closed peer that does not
    // read would have every wait return at once, and the loop spin until the write timeout.
    // Elsewhere such a socket's next write fails, a retry_ms later.
    template <class W, class F>
    void wait(int timeout_ms, W&& on_wake, F&& on_ready) {
        std::size_t parked = parked_.size();
        if (parked) [[unlikely]] {
            for (parked_socket const& p : parked_) fds_[p.owner->index].fd = ignored_socket;
            if (timeout_ms < 0 || timeout_ms > retry_ms) timeout_ms = retry_ms;
        }
        int n = poll_sockets(fds_.data(), fds_.size(), timeout_ms);
        for (std::size_t k = 0; k < parked; ++k) fds_[parked_[k].owner->index].fd = parked_[k].socket;
        on_wake();
        ready_.clear();
        for (std::size_t k = 0; k < parked; ++k) {
            parked_[k].owner->parked = false;
            ready_.emplace_back(tags_[parked_[k].owner->index], ready_write | ready_hangup);
        }
        parked_.erase(parked_.begin(), parked_.begin() + static_cast<std::ptrdiff_t>(parked));
        for (std::size_t i = 0; n > 0 && i < fds_.size(); ++i) {
            short re = fds_[i].revents;
            if (!re) continue;
            --n;
            if (re == (re & POLLHUP) && fds_[i].events == POLLOUT && !handles_[i]->parked) [[unlikely]] {
                if (park(i)) continue;
            }
            unsigned r = 0;
            if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) r |= ready_read;
            if (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) r |= ready_write;
            if (re & (POLLHUP | POLLERR | POLLNVAL)) r |= ready_hangup;
            ready_.emplace_back(tags_[i], r);
        }
        for (auto const& [tag, r] : ready_) on_ready(tag, r);
    }

private:
    static constexpr int retry_ms = 20;
    static constexpr decltype(pollfd::fd) ignored_socket = static_cast<decltype(pollfd::fd)>(-1);  // by poll

    // Sets entry i aside for the next wait; false if there is no room to note it.
    bool park(std::size_t i) noexcept {
        try {
            parked_.push_back({handles_[i], fds_[i].fd});
        } catch (...) {
            return false;
        }
        handles_[i]->parked = true;
        return true;
    }

    void insert(int fd, short events, void* tag, handle& h) {
        fds_.push_back(pollfd{native_socket(fd), events, 0});
        try {
            tags_.push_back(tag);
            handles_.push_back(&h);
        } catch (...) {
            fds_.resize(handles_.size());
            tags_.resize(handles_.size());
            throw;
        }
        h.index = static_cast<std::uint32_t>(fds_.size() - 1);
    }

    std::vector<pollfd> fds_;
    std::vector<void*> tags_;
    std::vector<handle*> handles_;
    std::vector<std::pair<void*, unsigned>> ready_;
    struct parked_socket {
        handle* owner;
        decltype(pollfd::fd) socket;  // kept here while its entry holds ignored_socket
    };
    std::vector<parked_socket> parked_;  // sitting out the next wait
};

#if defined(__linux__) && !defined(PORTHOLE_USE_POLL)
using default_poller = epoll_poller;
#else
using default_poller = poll_poller;
#endif

}  // namespace porthole::detail
