// porthole/detail/signal_pipe.hpp: the stop (and reload) signals serve() waits for.
#pragma once

#include <porthole/detail/sys.hpp>
#include <porthole/unique_fd.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <initializer_list>
#include <mutex>
#include <stdexcept>
#include <string>

#if !defined(_WIN32)
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#endif

namespace porthole::detail {

#if !defined(_WIN32)  // Windows: console control events (sys_windows.hpp)
// Signals become a byte on a pipe (the only async-signal-safe way to act on one), and the
// previous handlers come back afterwards: serve() stops on SIGINT and SIGTERM, and with HTTPS
// reloads its certificate on SIGHUP. Several pipes may want one signal (two serve() calls on
// two threads, a public port and an admin one): each gets the byte, and the program's own
// handler comes back when the last pipe is gone.
inline constexpr int signal_pipes_per_signal = 8;
inline std::atomic<int> signal_pipe_ends[NSIG][signal_pipes_per_signal]{};  // write end + 1; 0: none
inline std::atomic<bool> signal_ends_process[NSIG]{};                       // the next one takes its default action

extern "C" inline void porthole_on_signal(int sig) {
    if (sig <= 0 || sig >= NSIG) return;
    if (signal_ends_process[sig].load()) {
        // Both async-signal-safe: the signal, blocked while its handler runs, is delivered again
        // when the handler returns, and ends the process as if no handler had been set.
        ::signal(sig, SIG_DFL);
        ::raise(sig);
        return;
    }
    int saved = errno;
    char c = 1;
    for (auto& end : signal_pipe_ends[sig])
        if (int fd = end.load() - 1; fd >= 0) (void)!::write(fd, &c, 1);
    errno = saved;
}

// Who wants each signal, and the program's own handler to give back after the last of them.
struct signal_users {
    std::mutex m;
    int count[NSIG]{};
    struct sigaction program_handler[NSIG] {};

    static signal_users& get() noexcept {
        static signal_users users;
        return users;
    }
};

class signal_pipe {
public:
    explicit signal_pipe(std::initializer_list<int> signals) {
        open_pipe(read_, write_);
        sigset_t set;
        sigemptyset(&set);
        struct sigaction sa {};
        sa.sa_handler = porthole_on_signal;
        sigemptyset(&sa.sa_mask);
        auto& users = signal_users::get();
        std::lock_guard lock(users.m);
        for (int sig : signals)
            if (sig > 0 && sig < NSIG && !free_slot(sig))  // a pipe that would never be told
                throw std::runtime_error("more than " + std::to_string(signal_pipes_per_signal) +
                                         " serve() calls handle signals at once");
        for (int sig : signals) {
            if (count_ == max_signals || sig <= 0 || sig >= NSIG) continue;
            free_slot(sig)->store(write_.get() + 1);
            if (users.count[sig]++ == 0) ::sigaction(sig, &sa, &users.program_handler[sig]);
            signals_[count_++] = sig;
            sigaddset(&set, sig);
        }
        ::pthread_sigmask(SIG_UNBLOCK, &set, &old_mask_);
    }
    signal_pipe(signal_pipe const&) = delete;
    signal_pipe& operator=(signal_pipe const&) = delete;
    ~signal_pipe() {
        auto& users = signal_users::get();
        {
            std::lock_guard lock(users.m);
            for (int i = 0; i < count_; ++i) {
                int sig = signals_[i];
                for (auto& end : signal_pipe_ends[sig])
                    if (end.load() == write_.get() + 1) end.store(0);
                if (--users.count[sig] == 0) {
                    ::sigaction(sig, &users.program_handler[sig], nullptr);
                    signal_ends_process[sig].store(false);
                }
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    }
    int fd() const noexcept { return read_.get(); }  // readable once a signal came
    void wait() const {
        pollfd p{read_.get(), POLLIN, 0};
        while (::poll(&p, 1, -1) < 0 && errno == EINTR) {}
    }
    void clear() const noexcept {
        char buf[64];
        while (::read(read_.get(), buf, sizeof buf) > 0) {}
    }
    // From now on the next of its signals ends the process at once, by the signal's default
    // action (an operator's second Ctrl-C while serve() stops gracefully).
    void next_ends_process() const noexcept {
        for (int i = 0; i < count_; ++i) signal_ends_process[signals_[i]].store(true);
    }

private:
    static std::atomic<int>* free_slot(int sig) noexcept {
        for (auto& end : signal_pipe_ends[sig])
            if (end.load() == 0) return &end;
        return nullptr;
    }

    static constexpr int max_signals = 4;
    unique_fd read_;
    unique_fd write_;
    int signals_[max_signals]{};
    int count_ = 0;
    sigset_t old_mask_{};
};
#endif

}  // namespace porthole::detail
