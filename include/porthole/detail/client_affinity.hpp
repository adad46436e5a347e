// porthole/detail/client_affinity.hpp: a loop thread that serves the server's one client runs on
// that client's CPU (Linux: SO_INCOMING_CPU) while the two take turns (requests, their answers,
// the next ones), and goes back to the CPUs it had as soon as a connection comes on another loop
// or from another CPU, an answer does not leave at once, the client goes quiet, or it leaves.
// "One client" is what the kernel can tell: few connections (at most 8), all on this loop, whose
// packets all arrive on one CPU. Behind a network card with one receive queue, every remote
// client's packets arrive on the CPU that queue interrupts, so a few clients count as one there
// (the loop then runs beside that CPU's packet handling: one loop is one CPU whichever it is).
//
// Why (docs/server.md, "One client"): a thread waiting in epoll_wait is woken without the
// scheduler's sync hint, so it stays on its own idle CPU and every request and every answer
// wakes an idle CPU (dear, above all in a virtual machine). A thread blocked on one socket is
// woken with the hint and is moved next to its client, where the two hand the CPU to each other.
// With more than 8 connections none of this runs: one comparison per wake-up.
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

    // Connections with no one CPU are read again after 2, 4, ... 2^this wake-ups.
    static constexpr unsigned max_backoff_doublings = 10;

    // Off by default: only a thread the server owns may be moved (never a caller's poll()).
    void enable(bool on) noexcept { enabled_ = on; }
    bool enabled() const noexcept { return enabled_; }

    // The CPU this thread is held on, or -1 (it runs where the scheduler puts it).
    int cpu() const noexcept { return cpu_; }

    // Once per loop wake-up, on the loop's own thread. fds: the sockets of the awake connections
    // while the server's connections are few, all on this loop, and each idle (awake or asleep)
    // at the end of the wake-up (client and server take turns), else none.
    void step(std::span<int const> fds) noexcept {
        if (fds.empty() || fds.size() > most_connections) {
            forget();
            release();
            return;
        }
        // Counts up to settled and stays there.
        if (turn_wakeups_ < settle_wakeups && ++turn_wakeups_ < settle_wakeups) {
            release();  // a new client, not yet settled
            return;
        }
        if (skip_ > 0) {
            --skip_;
            return;
        }
        // Settled: the client's CPU is read at every wake-up (a getsockopt per connection;
        // sched_setaffinity only when it has changed), less often while the connections' CPUs
        // differ. Where both CPUs share a cache, the scheduler moves the client to the idle CPU
        // often (hundreds of times a second), and a thread that follows late pays an idle CPU's
        // wake-up per request until it does.
        follow(fds);
    }

    // A connection closed: the connections left start afresh.
    void forget() noexcept { turn_wakeups_ = mismatches_ = skip_ = 0; }

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
            bool none = ::getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &its, &len) != 0 || its < 0 ||
                        its >= CPU_SETSIZE;  // a Unix socket
            if (none || (cpu >= 0 && its != cpu)) {
                no_one_cpu();
                return;
            }
            cpu = its;
        }
        mismatches_ = 0;
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

    // No CPU to follow: connections on different CPUs (several clients, a client's threads) or
    // one with no CPU. Nobody is followed, and the CPUs are read again after 2, 4, ... 1024
    // wake-ups: a client moving to another CPU shows this until each of its connections has
    // sent from there, several clients keep showing it.
    void no_one_cpu() noexcept {
        release();
        if (mismatches_ < max_backoff_doublings) ++mismatches_;
        skip_ = (1u << mismatches_) - 1;
    }

    bool enabled_ = false;
    int cpu_ = -1;
    std::uint64_t turn_wakeups_ = 0;
    unsigned mismatches_ = 0;  // looks in a row that found no one CPU
    unsigned skip_ = 0;        // settled wake-ups left before the CPUs are read again
#if defined(__linux__)
    cpu_set_t own_{};  // the thread's CPUs before it followed a client
    bool own_known_ = false;
#endif
};

}  // namespace porthole::detail
