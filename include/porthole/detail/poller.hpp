// porthole/detail/poller.hpp: readiness back ends for the event loop. On Linux, epoll with
// edge-triggered connections (input from the start, output added once after a short write);
// elsewhere, or with
// PORTHOLE_USE_POLL defined, level-triggered poll(2) (WSAPoll on Windows) with interest updated
// as needed.
#pragma once

#include <porthole/detail/sys.hpp>

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
    // Where the descriptor sits in the pollfd array (moves when another one is removed).
    struct handle {
        std::uint32_t index = ~std::uint32_t{0};
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
    template <class W, class F>
    void wait(int timeout_ms, W&& on_wake, F&& on_ready) {
        int n = poll_sockets(fds_.data(), fds_.size(), timeout_ms);
        on_wake();
        ready_.clear();
        for (std::size_t i = 0; n > 0 && i < fds_.size(); ++i) {
            short re = fds_[i].revents;
            if (!re) continue;
            --n;
            unsigned r = 0;
            if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) r |= ready_read;
            if (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) r |= ready_write;
            if (re & (POLLHUP | POLLERR | POLLNVAL)) r |= ready_hangup;
            ready_.emplace_back(tags_[i], r);
        }
        for (auto const& [tag, r] : ready_) on_ready(tag, r);
    }

private:
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
};

#if defined(__linux__) && !defined(PORTHOLE_USE_POLL)
using default_poller = epoll_poller;
#else
using default_poller = poll_poller;
#endif

}  // namespace porthole::detail
