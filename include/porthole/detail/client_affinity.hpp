// porthole/detail/client_affinity.hpp: a loop thread that serves the server's one client (its
// few connections, all on this loop, whose packets all arrive on one CPU) runs on that CPU
// (Linux: SO_INCOMING_CPU) while the two take turns (requests, their answers, the next ones), and
// goes back to the CPUs it had as soon as a connection comes from elsewhere or on another loop,
// an answer does not leave at once, the client goes quiet, or it leaves.
//
// Why (docs/server.md, "One client"): a thread waiting in epoll_wait is woken without the
// scheduler's sync hint, so it stays on its own idle CPU and every request and every answer
// wakes an idle CPU (dear, above all in a virtual machine). A thread blocked on one socket is
// woken with the hint and is moved next to its client, where the two hand the CPU to each other.
// Under load a loop has many connections and none of this runs: one comparison per wake-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#if defined(__linux__)
#include <sched.h>
#include <sys/socket.h>
#endif

namespace porthole::detail {

class client_affinity {
public:
    // The most connections followed together: a browser opens up to 6 to one server, a load
    // generator's thread a few. One CPU serving both ends beats two waking each other up to
    // about 8 (wrk -t1 on 2 CPUs: 6.0x at 2 connections, 1.8x at 8, 0.92x at 16).
    static constexpr std::size_t most_connections = 8;

    // Wake-ups with one client before following it: a client that asks once or twice (or a
    // connection that only says Connection: close) never moves the thread.
    static constexpr std::uint64_t settle_wakeups = 32;

    // Off by default: only a thread the server owns may be moved (never a caller's poll()).
    void enable(bool on) noexcept { enabled_ = on; }
    bool enabled() const noexcept { return enabled_; }

    // The CPU this thread is held on, or -1 (it runs where the scheduler puts it).
    int cpu() const noexcept { return cpu_; }

    // Once per loop wake-up, on the loop's own thread. fds: the sockets of the server's
    // connections while they are few, all on this loop, and each awake and idle at the end of
    // the wake-up (client and server take turns), else none.
    void step(std::span<int const> fds) noexcept {
        if (fds.empty() || fds.size() > most_connections) {
            forget();
            if (cpu_ >= 0) release();
            return;
        }
        // Counts up to settled and stays there.
        if (turn_wakeups_ < settle_wakeups && ++turn_wakeups_ < settle_wakeups) {
            if (cpu_ >= 0) release();  // a new client, not yet settled
            return;
        }
        if (skip_ > 0) {
            --skip_;
            return;
        }
        // Settled: the client's CPU is read at every wake-up (a getsockopt per connection;
        // sched_setaffinity only when it has changed). Where both CPUs share a cache, the
        // scheduler moves the client to the idle CPU often (hundreds of times a second), and a
        // thread that follows late pays an idle CPU's wake-up per request until it does.
        follow(fds);
    }

    // A connection closed: the connections left start afresh.
    void forget() noexcept { turn_wakeups_ = split_ = skip_ = 0; }

    // Back to the CPUs the thread had before it followed a client.
    void release() noexcept {
#if defined(__linux__)
        if (cpu_ >= 0) (void)::sched_setaffinity(0, sizeof own_, &own_);
#endif
        cpu_ = -1;
    }

private:
    void follow([[maybe_unused]] std::span<int const> fds) noexcept {
#if defined(__linux__) && defined(SO_INCOMING_CPU)
        // The CPUs the program gave the thread, read once (the loop's thread is the server's own),
        // before it is first moved: what release() gives back.
        if (!own_known_) {
            if (::sched_getaffinity(0, sizeof own_, &own_) != 0 || CPU_COUNT(&own_) < 2) {
                enabled_ = false;  // one CPU: nothing to choose, so no system call per wake-up
                return;
            }
            own_known_ = true;
        }
        int cpu = -1;
        for (int fd : fds) {
            int its = -1;
            socklen_t len = sizeof its;
            if (::getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &its, &len) != 0 || its < 0 || its >= CPU_SETSIZE)
                return;                    // no CPU to go by (a Unix socket): the thread stays where it is
            if (cpu >= 0 && its != cpu) {  // clients on different CPUs: none is followed
                release();
                // A client moving shows this for a wake-up; several clients (or one with several
                // threads) keep showing it, and are looked at after 2, 4, ... 1024 wake-ups.
                if (split_ < 10) ++split_;
                skip_ = (1u << split_) - 1;
                return;
            }
            cpu = its;
        }
        split_ = 0;
        if (cpu == cpu_) return;
        if (!CPU_ISSET(cpu, &own_)) {  // only among the thread's own CPUs
            release();
            return;
        }
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (::sched_setaffinity(0, sizeof one, &one) == 0) cpu_ = cpu;
#endif
    }

    bool enabled_ = false;
    int cpu_ = -1;
    std::uint64_t turn_wakeups_ = 0;
    unsigned split_ = 0;  // how many times in a row the connections' CPUs differed
    unsigned skip_ = 0;   // settled wake-ups left before they are looked at again
#if defined(__linux__)
    cpu_set_t own_{};  // the thread's CPUs before it followed a client
    bool own_known_ = false;
#endif
};

}  // namespace porthole::detail
