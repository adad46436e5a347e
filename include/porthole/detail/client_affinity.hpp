// porthole/detail/client_affinity.hpp: a loop thread that serves the server's only client runs
// on the CPU that client's packets arrive on (Linux: SO_INCOMING_CPU) while the two take turns
// (a request, its answer, the next request), and goes back to the CPUs it had as soon as a
// second connection comes, an answer does not leave at once, the client goes quiet, or it leaves.
//
// Why (docs/server.md, "One client"): a thread waiting in epoll_wait is woken without the
// scheduler's sync hint, so it stays on its own idle CPU and every request and every answer
// wakes an idle CPU (dear, above all in a virtual machine). A thread blocked on one socket is
// woken with the hint and is moved next to its client, where the two hand the CPU to each other.
// Under load a loop has many connections and none of this runs: one comparison per wake-up.
#pragma once

#include <cstdint>

#if defined(__linux__)
#include <sched.h>
#include <sys/socket.h>
#endif

namespace porthole::detail {

class client_affinity {
public:
    // Wake-ups with one client before following it: a client that asks once or twice (or a
    // connection that only says Connection: close) never moves the thread.
    static constexpr std::uint64_t settle_wakeups = 32;

    // Off by default: only a thread the server owns may be moved (never a caller's poll()).
    void enable(bool on) noexcept { enabled_ = on; }
    bool enabled() const noexcept { return enabled_; }

    // The CPU this thread is held on, or -1 (it runs where the scheduler puts it).
    int cpu() const noexcept { return cpu_; }

    // Once per loop wake-up, on the loop's own thread. lone_fd: the socket of the server's only
    // connection while it and its client take turns, else -1.
    void step(int lone_fd) noexcept {
        if (lone_fd < 0) {
            lone_wakeups_ = 0;
            if (cpu_ >= 0) release();
            return;
        }
        // Counts up to settled and stays there.
        if (lone_wakeups_ < settle_wakeups && ++lone_wakeups_ < settle_wakeups) {
            if (cpu_ >= 0) release();  // a new client, not yet settled
            return;
        }
        // Settled: the client's CPU is read at every wake-up (a getsockopt; sched_setaffinity
        // only when it has changed). Where both CPUs share a cache, the scheduler moves the client
        // to the idle CPU often (hundreds of times a second), and a thread that follows late pays
        // an idle CPU's wake-up per request until it does.
        follow(lone_fd);
    }

    // A connection closed: whoever is alone next starts afresh.
    void forget() noexcept { lone_wakeups_ = 0; }

    // Back to the CPUs the thread had before it followed a client.
    void release() noexcept {
#if defined(__linux__)
        if (cpu_ >= 0) (void)::sched_setaffinity(0, sizeof own_, &own_);
#endif
        cpu_ = -1;
    }

private:
    void follow([[maybe_unused]] int fd) noexcept {
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
        socklen_t len = sizeof cpu;
        if (::getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) != 0 || cpu < 0 || cpu >= CPU_SETSIZE ||
            cpu == cpu_)
            return;
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
    std::uint64_t lone_wakeups_ = 0;
#if defined(__linux__)
    cpu_set_t own_{};  // the thread's CPUs before it followed a client
    bool own_known_ = false;
#endif
};

}  // namespace porthole::detail
