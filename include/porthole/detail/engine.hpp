// porthole/detail/engine.hpp: a set of event loops behind one listening address, run either
// on background threads (start/stop/wait) or one step at a time on the caller's thread (poll).
#pragma once

#include <porthole/detail/event_loop.hpp>
#include <porthole/detail/poller.hpp>
#include <porthole/detail/sys.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace porthole::detail {

template <class Shared, class Poller>
class engine {
    using loop_type = event_loop<Shared, Poller>;
    enum class mode : std::uint8_t { closed, polling, threaded };

public:
    explicit engine(Shared& shared) : shared_(shared) {}
    engine(engine const&) = delete;
    engine& operator=(engine const&) = delete;
    ~engine() {
        request_stop();
        if (mode_ == mode::threaded) join();
        std::lock_guard lock(control_);
        finalize_locked();
    }

    // Opens the listeners and runs one loop per thread in the background. Throws
    // std::system_error when the address cannot be bound, std::logic_error when running.
    void start() {
        std::lock_guard lock(control_);
        if (mode_ != mode::closed) throw std::logic_error("porthole: server already started");
        open(shared_.settings.threads == 0 ? 1u : shared_.settings.threads);
        mode_ = mode::threaded;
        async_signals_blocked blocked;  // inherited by the loop threads
        try {
            for (auto& l : loops_) {
                loop_type* loop = l.get();
                threads_.emplace_back([this, loop] {
                    current() = this;
                    while (loop->run_once(-1)) {
                    }
                    current() = nullptr;
                });
            }
        } catch (...) {
            shared_.stop_requested.store(true, std::memory_order_release);
            for (auto& l : loops_) l->wake();
            for (auto& t : threads_) t.join();
            threads_.clear();
            finalize_locked();
            throw;
        }
    }

    // Thread-safe and signal-free: every loop stops accepting, closes idle connections,
    // finishes the requests in flight, and ends (at the latest after the drain timeout).
    void request_stop() noexcept {
        std::lock_guard lock(control_);
        shared_.stop_requested.store(true, std::memory_order_release);
        for (auto& l : loops_) l->wake();
    }

    // Stops and waits for the loops to end, unless called from a loop's own thread (a handler),
    // where it only asks: the loop cannot wait for itself.
    void stop() {
        request_stop();
        if (current() == this) return;
        if (mode_ == mode::threaded) {
            join();
        } else if (mode_ == mode::polling && !in_poll_ && poll_thread_ == std::this_thread::get_id()) {
            while (poll(-1)) {
            }
        }
    }

    // Blocks until the server has stopped (after stop() or request_stop() from elsewhere).
    void wait() {
        if (current() == this) throw std::logic_error("porthole: wait() called from a handler");
        if (mode_ == mode::threaded) {
            join();
        } else if (mode_ == mode::polling) {
            if (poll_thread_ == std::this_thread::get_id()) {
                while (poll(-1)) {
                }
            } else {
                finished_.wait(false);
            }
        }
    }

    // One step on the caller's thread: a single loop serves every connection. Returns false
    // once a requested stop has drained (the next call listens again).
    bool poll(int timeout_ms) {
        if (mode_ == mode::threaded) throw std::logic_error("porthole: poll() on a started server");
        if (in_poll_) return true;  // from a handler: the step under way continues
        ensure_polling();
        poll_thread_ = std::this_thread::get_id();
        in_poll_ = true;
        bool more;
        try {
            more = loops_.front()->run_once(timeout_ms);
        } catch (...) {
            in_poll_ = false;
            throw;
        }
        in_poll_ = false;
        if (!more) {
            std::lock_guard lock(control_);
            finalize_locked();
        }
        return more;
    }

    // The descriptor a caller's loop can wait on before calling poll() (epoll: the epoll
    // descriptor, readable when there is work). -1 once started on threads, or with poll(2).
    int native_handle() {
        if (mode_ == mode::threaded) return -1;
        ensure_polling();
        return loops_.front()->native_handle();
    }

    std::uint16_t port() const noexcept { return port_.load(std::memory_order_acquire); }
    bool running() const noexcept { return mode_ != mode::closed; }
    std::size_t loop_count() const noexcept { return loops_.size(); }

private:
    static engine const*& current() noexcept {
        thread_local engine const* running = nullptr;
        return running;
    }

    void ensure_polling() {
        if (mode_ == mode::polling) return;
        std::lock_guard lock(control_);
        if (mode_ == mode::closed) {
            open(1);
            mode_ = mode::polling;
        }
    }

    void open(unsigned loops) {
        ignore_sigpipe_if_default();
        raise_descriptor_limit();
        shared_.stop_requested.store(false, std::memory_order_relaxed);
        finished_.store(false);
        auto const& s = shared_.settings;
        bool per_loop = s.listener_per_thread && loops > 1;
#if !defined(SO_REUSEPORT) || !defined(__linux__)
        per_loop = false;  // elsewhere SO_REUSEPORT does not spread connections
#endif
        std::vector<unique_socket> listeners;
        std::uint16_t bound = 0;
        if (per_loop) {
            bound = claim_port(s.address, s.port);
            for (unsigned i = 0; i < loops; ++i) listeners.push_back(open_listener(s.address, bound, true, s.backlog));
        } else {
            shared_listener_ = open_listener(s.address, s.port, false, s.backlog);
            bound = local_port(shared_listener_.get());
        }
        try {
            for (unsigned i = 0; i < loops; ++i) {
                int fd = per_loop ? listeners[i].get() : shared_listener_.get();
                loops_.push_back(std::make_unique<loop_type>(shared_, fd, per_loop));
                if (per_loop) (void)listeners[i].release();
            }
        } catch (...) {
            loops_.clear();
            shared_listener_.reset();
            throw;
        }
        port_.store(bound, std::memory_order_release);
    }

    // Joining happens without control_ held: a handler may be calling request_stop().
    void join() {
        std::lock_guard lock(join_);
        std::vector<std::thread> threads;
        {
            std::lock_guard c(control_);
            threads.swap(threads_);
        }
        for (auto& t : threads) t.join();
        std::lock_guard c(control_);
        if (mode_ == mode::threaded) finalize_locked();
    }

    void finalize_locked() noexcept {
        loops_.clear();
        shared_listener_.reset();
        port_.store(0, std::memory_order_release);
        mode_ = mode::closed;
        finished_.store(true);
        finished_.notify_all();
    }

    Shared& shared_;
    std::vector<std::unique_ptr<loop_type>> loops_;
    std::vector<std::thread> threads_;
    unique_socket shared_listener_;
    std::atomic<std::uint16_t> port_{0};
    std::atomic<bool> finished_{true};
    std::mutex control_;
    std::mutex join_;
    std::atomic<mode> mode_{mode::closed};
    bool in_poll_ = false;
    std::thread::id poll_thread_{};
};

}  // namespace porthole::detail
