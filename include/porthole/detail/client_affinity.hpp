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
// Whether that pays depends on the machine, so it is measured (follow_trial, below). With more
// than 8 connections none of this runs: one comparison per wake-up.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#if defined(__linux__)
#include <sched.h>
#include <sys/socket.h>
#endif

namespace porthole::detail {

// Whether following pays is measured, not assumed. Where waking an idle CPU is dear (a virtual
// machine whose hypervisor must wake it), following served a lone client 8.8x faster at one
// connection and 5.2x at two; where it is cheap (an AMD EPYC virtual machine) 1.2x faster at one
// and 0.7x as fast at two: there client and server working side by side on two CPUs beat taking
// turns on one. So a settled client is served a moment each way, the rates of work (bytes it
// sent per millisecond) compared and the faster way kept; it is tried again after 1, 2, 4 ... 16 s
// while the answer stays the same.
class follow_trial {
public:
    static constexpr std::int64_t warm_ms = 10;   // after a switch, not counted: the scheduler moves things
    static constexpr std::int64_t trial_ms = 50;  // counted, each way
    static constexpr std::int64_t first_hold_ms = 1000;
    static constexpr std::int64_t longest_hold_ms = 16000;
    // Fewer wake-ups in the counted parts of a trial, both ways together: a client too slow for
    // its rate to say anything; it is followed (a turn on the client's CPU costs least CPU when
    // nothing waits for it).
    static constexpr std::uint64_t least_wakeups_both_ways = 200;

    // Once per wake-up: whether to follow in it. now_ms: a monotonic clock; work: what the
    // client has sent so far, in bytes (any count that grows with the work done); held: whether
    // the thread ran on the client's CPU since the last call (the work since then was done so).
    bool follow_now(std::int64_t now_ms, std::uint64_t work, bool held) noexcept {
        if (stage_ == stage::along || stage_ == stage::apart) {
            ++wakeups_;
            held_ += held ? 1 : 0;
        }
        if (next_ms_ < 0) next_ms_ = now_ms + first_hold_ms;  // after a dropped trial
        if (now_ms >= next_ms_) advance(now_ms, work);
        if (stage_ == stage::hold) return following_;
        return stage_ == stage::along_warm || stage_ == stage::along;
    }

    // The connections changed (one closed, or a wake-up ended with one busy): a trial under way
    // is dropped and tried again first_hold_ms on, the way kept meanwhile. Between trials this
    // does nothing.
    void interrupt() noexcept {
        if (stage_ != stage::hold) drop();
    }

    // The way kept between trials: following until a trial finds not following faster.
    bool following() const noexcept { return following_; }
    std::int64_t hold_ms() const noexcept { return hold_ms_; }

private:
    // Each trial serves the client followed (along), then not (apart), whichever way is kept.
    enum class stage : unsigned char { hold, along_warm, along, apart_warm, apart };

    struct rate {
        std::uint64_t work;
        std::int64_t ms;
        std::uint64_t wakeups;
    };

    void advance(std::int64_t now_ms, std::uint64_t work) noexcept {
        switch (stage_) {
            case stage::hold: enter(stage::along_warm, now_ms, warm_ms); break;
            case stage::along_warm: start(stage::along, now_ms, work); break;
            case stage::along:
                // Held for fewer than three wake-ups in four (its connections on two CPUs: a
                // client's passing move costs a few): a part that did not follow says nothing.
                if (held_ * 4 < wakeups_ * 3) {
                    drop();
                    return;
                }
                along_ = measured(now_ms, work);
                enter(stage::apart_warm, now_ms, warm_ms);
                break;
            case stage::apart_warm: start(stage::apart, now_ms, work); break;
            case stage::apart: decide(measured(now_ms, work), now_ms); break;
        }
    }

    void enter(stage s, std::int64_t now_ms, std::int64_t for_ms) noexcept {
        stage_ = s;
        next_ms_ = now_ms + for_ms;
    }
    void start(stage s, std::int64_t now_ms, std::uint64_t work) noexcept {
        mark_work_ = work;
        mark_ms_ = now_ms;
        wakeups_ = held_ = 0;
        enter(s, now_ms, trial_ms);
    }
    rate measured(std::int64_t now_ms, std::uint64_t work) const noexcept {
        return {work - mark_work_, now_ms - mark_ms_, wakeups_};
    }
    // Back to holding the way kept; the next trial first_hold_ms after the next call.
    void drop() noexcept {
        stage_ = stage::hold;
        next_ms_ = -1;
    }

    void decide(rate apart, std::int64_t now_ms) noexcept {
        rate along = along_;
        // Not following only when clearly faster (by a sixteenth): the two are measured a
        // moment apart, and following costs the less CPU when they are alike. A client too slow
        // to tell, or whose pauses stretched a part past twice its length, is followed.
        bool unclear = along.wakeups + apart.wakeups < least_wakeups_both_ways || along.ms > 2 * trial_ms ||
                       apart.ms > 2 * trial_ms;
        bool follow = unclear || apart.work * static_cast<std::uint64_t>(along.ms) * 16 <=
                                     along.work * static_cast<std::uint64_t>(apart.ms) * 17;
        if (follow == following_) {
            hold_ms_ = std::min(2 * hold_ms_, longest_hold_ms);
        } else {
            following_ = follow;
            hold_ms_ = first_hold_ms;
        }
        enter(stage::hold, now_ms, hold_ms_);
    }

    stage stage_ = stage::hold;
    bool following_ = true;
    std::int64_t next_ms_ = 0;                  // the first wake-up starts a trial; -1: a dropped one
    std::int64_t hold_ms_ = first_hold_ms / 2;  // a first trial that keeps following doubles it
    std::uint64_t mark_work_ = 0;               // where the counted part began
    std::int64_t mark_ms_ = 0;
    std::uint64_t wakeups_ = 0;  // in the counted part
    std::uint64_t held_ = 0;     // of those, held on the client's CPU
    rate along_{};
};

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
    // measured: unless follow_trial finds not following clearly faster; else whenever there is
    // one client.
    void enable(bool on, bool measured) noexcept {
        enabled_ = on;
        measured_ = measured;
    }
    bool enabled() const noexcept { return enabled_; }

    // The CPU this thread is held on, or -1 (it runs where the scheduler puts it).
    int cpu() const noexcept { return cpu_; }

    // Once per loop wake-up, on the loop's own thread. fds: the sockets of the awake connections
    // while the server's connections are few, all on this loop, and each idle (awake or asleep)
    // at the end of the wake-up (client and server take turns), else none. now_ms and work: the
    // loop's monotonic clock and the bytes its connections have been fed so far, for the trials.
    void step(std::span<int const> fds, std::int64_t now_ms, std::uint64_t work) noexcept {
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
        if (!can_choose()) return;
        bool skipping = skip_ > 0;
        if (skipping) --skip_;  // counted whichever way is kept: the back-off is in wake-ups
        if (measured_) {
            bool was_following = following_now_;
            following_now_ = trial_.follow_now(now_ms, work, cpu_ >= 0);
            if (!following_now_) {
                release();
                return;
            }
            // A back-off left from before a spell not following is stale: the client's CPUs are
            // read at once, or a long skip could outlast a trial's following part.
            if (!was_following) {
                mismatches_ = skip_ = 0;
                skipping = false;
            }
        }
        if (skipping) return;
        // Settled: the client's CPU is read at every wake-up (a getsockopt per connection;
        // sched_setaffinity only when it has changed), less often while the connections' CPUs
        // differ. Where both CPUs share a cache, the scheduler moves the client to the idle CPU
        // often (hundreds of times a second), and a thread that follows late pays an idle CPU's
        // wake-up per request until it does.
        follow(fds);
    }

    // A connection closed, or a wake-up ended with one busy: the connections left start afresh
    // (the way the trials found is kept; a trial under way is dropped and tried again a second
    // on).
    void forget() noexcept {
        turn_wakeups_ = mismatches_ = skip_ = 0;
        trial_.interrupt();
    }

    // The loop has no connection left: the next client is tried afresh.
    void reset() noexcept {
        forget();
        trial_ = {};
    }

    // Back to the CPUs the thread had before it followed a client.
    void release() noexcept {
#if defined(__linux__)
        if (cpu_ >= 0) (void)::sched_setaffinity(0, sizeof own_, &own_);
#endif
        cpu_ = -1;
    }

private:
    // The CPUs the program gave the thread, read once (the loop's thread is the server's own),
    // before it is first moved: what release() gives back. With one CPU (or no SO_INCOMING_CPU)
    // there is nothing to choose: following stops, so no system call or trial per wake-up.
    bool can_choose() noexcept {
#if defined(__linux__) && defined(SO_INCOMING_CPU)
        if (!own_known_) {
            own_known_ = ::sched_getaffinity(0, sizeof own_, &own_) == 0 && CPU_COUNT(&own_) >= 2;
            enabled_ = own_known_;
        }
        return own_known_;
#else
        enabled_ = false;
        return false;
#endif
    }

    void follow([[maybe_unused]] std::span<int const> fds) noexcept {
#if defined(__linux__) && defined(SO_INCOMING_CPU)
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
        else release();  // not on the old CPU either: it would count as held
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
    bool measured_ = true;
    bool following_now_ = false;  // measured: what the trial said at the last wake-up
    follow_trial trial_;
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
