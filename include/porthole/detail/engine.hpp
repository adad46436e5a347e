// porthole/detail/engine.hpp: a set of event loops behind one or more listening addresses, run
// either on background threads (start/stop/wait) or one step at a time on the caller's thread
// (poll).
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

// Where an engine listens once open: the address as parsed and, for TCP, the port it bound.
struct bound_address {
    listen_address address;
    std::uint16_t port = 0;
};

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
        // Threads start with every asynchronous signal blocked; signals belong to the program.
        sigset_t all, old;
        sigfillset(&all);
        for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS}) sigdelset(&all, s);
        ::pthread_sigmask(SIG_BLOCK, &all, &old);
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
            ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
            shared_.stop_requested.store(true, std::memory_order_release);
            for (auto& l : loops_) l->wake();
            for (auto& t : threads_) t.join();
            threads_.clear();
            finalize_locked();
            throw;
        }
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
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

    // The port of the first TCP address; 0 when not listening.
    std::uint16_t port() const noexcept { return port_.load(std::memory_order_acquire); }
    // Every address, as last opened; for the thread that started the engine.
    std::vector<bound_address> const& bound() const noexcept { return bound_; }
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
        try {
            open_listeners(loops);
        } catch (...) {
            loops_.clear();
            close_listeners();
            throw;
        }
    }

    void open_listeners(unsigned loops) {
        auto const& s = shared_.settings;
        bool per_loop = s.listener_per_thread && loops > 1;
#if !defined(SO_REUSEPORT) || !defined(__linux__)
        per_loop = false;  // elsewhere SO_REUSEPORT does not spread connections
#endif
        std::vector<listen_address> addresses;
        bool any_ipv4 = false;
        for (auto const& text : s.addresses) {
            addresses.push_back(parse_listen_address(text));
            in_addr v4{};
            any_ipv4 = any_ipv4 || (!addresses.back().is_unix() && ::inet_pton(AF_INET, addresses.back().host.c_str(), &v4) == 1);
        }
        if (addresses.empty()) throw std::invalid_argument("porthole: no address to listen on");
        std::vector<std::vector<loop_listener>> listeners(loops);
        std::vector<std::vector<unique_fd>> owned(loops);  // each loop's own, until the loop takes them
        std::uint16_t default_port = s.port;
        bound_.clear();
        for (auto const& a : addresses) {
            if (a.is_unix()) {
                unix_socket_file made;
                shared_listeners_.push_back(open_unix_listener(a, s.unix_socket, s.backlog, made));
                if (!made.path.empty()) unix_files_.push_back(made);
                for (auto& l : listeners) l.push_back({shared_listeners_.back().get(), false, false});
                bound_.push_back({a, 0});
                continue;
            }
            // "::" takes IPv4 too (dual stack), unless an IPv4 address is listed beside it.
            in6_addr v6{};
            bool wildcard6 = ::inet_pton(AF_INET6, a.host.c_str(), &v6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&v6);
            auto v6only = !wildcard6 ? ipv6_only::system_default : any_ipv4 ? ipv6_only::on : ipv6_only::off;
            bool check = s.check_loopback_host && is_loopback_host(a.host);
            std::uint16_t port = a.port.value_or(default_port), bound = 0;
            if (per_loop) {
                bound = claim_port(a.host, port, v6only);
                for (unsigned i = 0; i < loops; ++i) {
                    owned[i].push_back(open_listener(a.host, bound, true, s.backlog, v6only));
                    listeners[i].push_back({owned[i].back().get(), true, check});
                }
            } else {
                shared_listeners_.push_back(open_listener(a.host, port, false, s.backlog, v6only));
                bound = local_port(shared_listeners_.back().get());
                for (auto& l : listeners) l.push_back({shared_listeners_.back().get(), false, check});
            }
            if (!a.port && default_port == 0) default_port = bound;  // the others share the port picked
            if (port_.load(std::memory_order_relaxed) == 0) port_.store(bound, std::memory_order_release);
            bound_.push_back({a, bound});
        }
        for (unsigned i = 0; i < loops; ++i) {
            loops_.push_back(std::make_unique<loop_type>(shared_, listeners[i]));
            for (auto& fd : owned[i]) (void)fd.release();  // the loop closes them now
        }
    }

    void close_listeners() noexcept {
        shared_listeners_.clear();
        for (auto const& f : unix_files_) f.remove();
        unix_files_.clear();
        port_.store(0, std::memory_order_release);
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
        close_listeners();
        mode_ = mode::closed;
        finished_.store(true);
        finished_.notify_all();
    }

    Shared& shared_;
    std::vector<std::unique_ptr<loop_type>> loops_;
    std::vector<std::thread> threads_;
    std::vector<unique_fd> shared_listeners_;  // listeners every loop accepts from
    std::vector<unix_socket_file> unix_files_;  // removed when the listeners close
    std::vector<bound_address> bound_;
    std::atomic<std::uint16_t> port_{0};
    std::atomic<bool> finished_{true};
    std::mutex control_;
    std::mutex join_;
    std::atomic<mode> mode_{mode::closed};
    bool in_poll_ = false;
    std::thread::id poll_thread_{};
};

}  // namespace porthole::detail
