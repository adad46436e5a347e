// porthole/detail/engine.hpp: a set of event loops behind one or more listening addresses, run
// either on background threads (start/stop/wait) or one step at a time on the caller's thread
// (poll).
#pragma once

#include <porthole/detail/event_loop.hpp>
#include <porthole/detail/poller.hpp>
#include <porthole/detail/sys.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

namespace porthole::detail {

// Where an engine listens once open: the address as parsed and, for TCP, the port it bound.
struct bound_address {
    listen_address address;
    std::uint16_t port = 0;
};

// Every listening socket of an engine: those shared by the loops, those of each loop (with
// SO_REUSEPORT), and what each loop is to watch. Not a template: one copy whatever the server.
struct listener_set {
    std::vector<unique_socket> shared;    // every loop accepts from these; the engine closes them
    std::vector<unique_socket> own;       // each loop's own; released to the loop once it is made
    std::vector<loop_listener> watch;     // loop i watches watch[i * addresses + k]
    std::vector<unix_socket_file> files;  // removed when the listeners close
    std::vector<bound_address> bound;
    std::size_t addresses = 0;
    std::uint16_t first_port = 0;

    // Closes the shared listeners and removes the socket files (the loops close their own).
    void close() noexcept {
        shared.clear();
        for (auto const& f : files) f.remove();
        files.clear();
    }

    void open(engine_settings const& s, unsigned loops, bool per_loop) {
        std::vector<listen_address> parsed;
        bool any_ipv4 = false;
        for (auto const& text : s.addresses) {
            parsed.push_back(parse_listen_address(text));
            in_addr v4{};
            any_ipv4 =
                any_ipv4 || (!parsed.back().is_unix() && ::inet_pton(AF_INET, parsed.back().host.c_str(), &v4) == 1);
        }
        if (parsed.empty()) throw std::invalid_argument("porthole: no address to listen on");
        addresses = parsed.size();
        watch.assign(std::size_t{loops} * addresses, loop_listener{});
        std::uint16_t default_port = s.port;
        for (std::size_t k = 0; k < addresses; ++k) {
            auto const& a = parsed[k];
            auto each_loop = [&](int fd, bool owned, bool check) {
                for (unsigned i = 0; i < loops; ++i) watch[i * addresses + k] = {fd, owned, check};
            };
            if (a.is_unix()) {
                unix_socket_file made;
                shared.push_back(open_unix_listener(a, s.unix_socket, s.backlog, made));
                if (!made.path.empty()) files.push_back(made);
                each_loop(shared.back().get(), false, false);
                bound.push_back({a, 0});
                continue;
            }
            // "::" takes IPv4 too (dual stack), unless an IPv4 address is listed beside it.
            in6_addr v6{};
            bool wildcard6 = ::inet_pton(AF_INET6, a.host.c_str(), &v6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&v6);
            auto v6only = !wildcard6 ? ipv6_only::system_default : any_ipv4 ? ipv6_only::on : ipv6_only::off;
            bool check = s.check_loopback_host && is_loopback_host(a.host);
            std::uint16_t port = a.port.value_or(default_port), got = 0;
            if (per_loop) {
                got = claim_port(a.host, port, v6only);
                for (unsigned i = 0; i < loops; ++i) {
                    own.push_back(open_listener(a.host, got, true, s.backlog, v6only));
                    watch[i * addresses + k] = {own.back().get(), true, check};
                }
            } else {
                shared.push_back(open_listener(a.host, port, false, s.backlog, v6only));
                got = local_port(shared.back().get());
                each_loop(shared.back().get(), false, check);
            }
            if (!a.port && default_port == 0) default_port = got;  // the others share the port picked
            if (first_port == 0) first_port = got;
            bound.push_back({a, got});
        }
    }
};

// What every engine shows the others, whatever its type: how many of its loop threads (or
// poll() steps) wait in another server's stop() now. A stop() from a handler waits for the
// other server's loops unless one of them waits in turn (two servers whose handlers stop each
// other would wait for each other forever): then it only asks.
struct loop_owner {
    std::atomic<int> waiting_elsewhere{0};
};
// The engine whose loop step runs on this thread (a handler runs inside one), or null.
inline loop_owner*& loop_owner_on_this_thread() noexcept {
    thread_local loop_owner* owner = nullptr;
    return owner;
}

template <class Shared, class Poller>
class engine : loop_owner {
    using loop_type = event_loop<Shared, Poller>;
    enum class mode : std::uint8_t { closed, polling, threaded };

public:
    explicit engine(Shared& shared) : shared_(shared) {}
    engine(engine const&) = delete;
    engine& operator=(engine const&) = delete;
    ~engine() {
        if (auto generation = request_stop_of_generation(); mode_ == mode::threaded) join(generation);
        std::lock_guard lock(control_);
        finalize_locked();
    }

    // Opens the listeners and runs one loop per thread in the background. Throws
    // std::system_error when the address cannot be bound, std::logic_error when running.
    void start() {
        std::lock_guard lock(control_);
        if (mode_ != mode::closed) throw std::logic_error("porthole: server already started");
        drained_unreported_ = false;
        open(shared_.settings.threads == 0 ? 1u : shared_.settings.threads);
        mode_ = mode::threaded;
        ++generation_;
        async_signals_blocked blocked;  // inherited by the loop threads
        try {
            for (auto& l : loops_) {
                loop_type* loop = l.get();
                loop->follow_single_client(shared_.settings.single_client_affinity,
                                           shared_.settings.measure_single_client_affinity);
                threads_.emplace_back([this, loop] {
                    current() = this;
                    loop_owner_on_this_thread() = this;
                    while (loop->run_once(-1)) {}
                    loop_owner_on_this_thread() = nullptr;
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
    void request_stop() noexcept { (void)request_stop_of_generation(); }

    // Stops and waits for the loops to end, unless called from its own handler, where it only
    // asks (a loop cannot wait for itself), or from another server's handler while a loop of
    // this one waits in turn (in that server's stop(), say). It waits for the loops it asked
    // only: a start() on another thread meanwhile begins a new run.
    void stop() {
        auto generation = request_stop_of_generation();
        if (current() == this) return;
        loop_owner* caller = loop_owner_on_this_thread();
        if (caller) {
            // Counted before looking: of two servers stopping each other at once, at least one
            // sees the other waiting, and only asks.
            caller->waiting_elsewhere.fetch_add(1);
            if (waiting_elsewhere.load() > 0) {
                caller->waiting_elsewhere.fetch_sub(1);
                return;
            }
        }
        struct waited {
            loop_owner* caller;
            ~waited() {
                if (caller) caller->waiting_elsewhere.fetch_sub(1);
            }
        } counted{caller};
        if (mode_ == mode::threaded) {
            join(generation);
        } else if (mode_ == mode::polling && !in_poll_.load(std::memory_order_relaxed) &&
                   poll_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
            drain_here();
        }
    }

    // Blocks until the server has stopped (after stop() or request_stop() from elsewhere).
    void wait() {
        if (current() == this) throw std::logic_error("porthole: wait() called from a handler");
        if (mode_ == mode::threaded) {
            join(running_generation());
        } else if (mode_ == mode::polling) {
            if (poll_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
                drain_here();
            } else {
                finished_.wait(false);
            }
        }
    }

    // One step on the caller's thread: a single loop serves every connection. Returns false
    // once a requested stop has drained, also when stop() or wait() drained it on this thread
    // between two calls (the call after that listens again).
    bool poll(int timeout_ms) {
        if (mode_ == mode::threaded) throw std::logic_error("porthole: poll() on a started server");
        if (in_poll_.load(std::memory_order_relaxed)) return true;  // from a handler: the step under way continues
        if (std::exchange(drained_unreported_, false)) return false;
        ensure_polling();
        poll_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
        in_poll_.store(true, std::memory_order_relaxed);
        bool more;
        // A handler in this step is this server's, as on a loop thread: wait() refuses it.
        auto* outer = std::exchange(current(), this);
        auto* outer_owner = std::exchange(loop_owner_on_this_thread(), static_cast<loop_owner*>(this));
        try {
            more = loops_.front()->run_once(timeout_ms);
        } catch (...) {
            loop_owner_on_this_thread() = outer_owner;
            current() = outer;
            in_poll_.store(false, std::memory_order_relaxed);
            throw;
        }
        loop_owner_on_this_thread() = outer_owner;
        current() = outer;
        in_poll_.store(false, std::memory_order_relaxed);
        if (!more) {
            std::lock_guard lock(control_);
            finalize_locked();
        } else {
            loops_.front()->keep_handle_ready();
        }
        return more;
    }

    // The descriptor a caller's loop can wait on before calling poll() (epoll: the epoll
    // descriptor, readable when there is work). -1 once started on threads, with poll(2), or
    // while a stop drained by stop() or wait() awaits its poll() returning false.
    int native_handle() {
        if (mode_ == mode::threaded) return -1;
        if (drained_unreported_) return -1;  // the next poll() reports the stop, and opens nothing
        ensure_polling();
        return loops_.front()->native_handle();
    }

    // The port of the first TCP address; 0 when not listening.
    std::uint16_t port() const noexcept { return port_.load(std::memory_order_acquire); }
    // Every address, as last opened; for the thread that started the engine.
    std::vector<bound_address> const& bound() const noexcept { return listeners_.bound; }
    bool running() const noexcept { return mode_ != mode::closed; }
    // A stop drained by stop() or wait() on the polling thread, which the next poll() reports.
    bool stop_unreported() const noexcept { return drained_unreported_; }
    std::size_t loop_count() const noexcept { return loops_.size(); }

private:
    static engine const*& current() noexcept {
        thread_local engine const* running = nullptr;
        return running;
    }

    // stop() or wait() on the polling thread, outside poll(): the loop drains here, and the
    // caller's loop, which has not seen poll() return false, sees it from the next call.
    void drain_here() {
        drained_unreported_ = false;  // a report not yet taken is this drain's
        while (poll(-1)) {}
        drained_unreported_ = true;
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
        std::size_t descriptors = raise_descriptor_limit();
        shared_.stop_requested.store(false, std::memory_order_relaxed);
        finished_.store(false);
        try {
            open_listeners(loops);
        } catch (...) {
            loops_.clear();
            close_listeners();
            throw;
        }
        shared_.connection_limit =
            connection_limit_for(shared_.settings.max_connections, descriptors, loops, listeners_.addresses);
    }

    void open_listeners(unsigned loops) {
        bool per_loop = shared_.settings.listener_per_thread && loops > 1;
#if !defined(SO_REUSEPORT) || !defined(__linux__)
        per_loop = false;  // elsewhere SO_REUSEPORT does not spread connections
#endif
        listeners_ = {};
        listeners_.open(shared_.settings, loops, per_loop);
        auto n = listeners_.addresses;
        for (unsigned i = 0; i < loops; ++i) {
            loops_.push_back(std::make_unique<loop_type>(
                shared_, std::span<loop_listener const>(listeners_.watch.data() + i * n, n)));
            for (std::size_t k = 0; k < n; ++k) {  // the loop closes its own listeners now
                auto const& w = listeners_.watch[i * n + k];
                if (!w.owned) continue;
                for (auto& fd : listeners_.own)
                    if (fd.get() == w.fd) (void)fd.release();
            }
        }
        port_.store(listeners_.first_port, std::memory_order_release);
    }

    void close_listeners() noexcept {
        listeners_.close();
        port_.store(0, std::memory_order_release);
    }

    // Asks the loops to stop; the run (counted by start()) that it asked, 0 when none ran.
    std::uint64_t request_stop_of_generation() noexcept {
        std::lock_guard lock(control_);
        shared_.stop_requested.store(true, std::memory_order_release);
        for (auto& l : loops_) l->wake();
        return mode_ == mode::threaded ? generation_ : 0;
    }

    std::uint64_t running_generation() {
        std::lock_guard lock(control_);
        return mode_ == mode::threaded ? generation_ : 0;
    }

    // Waits for the loops of run `generation` to end; returns at once when that run is over (a
    // later run, started meanwhile, was not asked to stop). One caller joins the threads, others
    // wait for it. Joining happens without control_ held: a handler may be calling request_stop().
    void join(std::uint64_t generation) {
        std::vector<std::thread> threads;
        {
            std::unique_lock c(control_);
            if (generation == 0 || ended_ >= generation) return;
            if (joining_ == generation) {
                ended_changed_.wait(c, [&] { return ended_ >= generation; });
                return;
            }
            joining_ = generation;
            threads.swap(threads_);
        }
        for (auto& t : threads) t.join();
        std::lock_guard c(control_);
        if (mode_ == mode::threaded && generation_ == generation) finalize_locked();
    }

    void finalize_locked() noexcept {
        loops_.clear();
        close_listeners();
        mode_ = mode::closed;
        ended_ = generation_;
        ended_changed_.notify_all();
        finished_.store(true);
        finished_.notify_all();
    }

    Shared& shared_;
    std::vector<std::unique_ptr<loop_type>> loops_;
    std::vector<std::thread> threads_;
    listener_set listeners_;
    std::atomic<std::uint16_t> port_{0};
    std::atomic<bool> finished_{true};
    std::mutex control_;
    std::condition_variable ended_changed_;  // with control_
    std::atomic<mode> mode_{mode::closed};
    std::uint64_t generation_ = 0;  // runs begun by start(), under control_
    std::uint64_t ended_ = 0;       // the last run over, under control_
    std::uint64_t joining_ = 0;     // the run whose threads a join() took, under control_
    // Atomic because stop() and wait() may ask from another thread whether they run on the
    // polling one; only the polling thread writes them.
    std::atomic<bool> in_poll_{false};
    std::atomic<std::thread::id> poll_thread_{};
    bool drained_unreported_ = false;  // the polling thread's (start() clears it, under control_, when not polling)
};

}  // namespace porthole::detail
