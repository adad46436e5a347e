// porthole/detail/signal_pipe.hpp: the stop (and reload) signals serve() waits for.
#pragma once

#include <porthole/detail/sys.hpp>
#include <porthole/unique_fd.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <initializer_list>

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
// reloads its certificate on SIGHUP. A signal has one pipe at a time.
inline std::atomic<int> signal_pipe_ends[NSIG]{};      // write end + 1; 0: none
inline std::atomic<bool> signal_ends_process[NSIG]{};  // the next one takes its default action

extern "C" inline void porthole_on_signal(int sig) {
    if (sig > 0 && sig < NSIG && signal_ends_process[sig].load()) {
        // Both async-signal-safe: the signal, blocked while its handler runs, is delivered again
        // when the handler returns, and ends the process as if no handler had been set.
        ::signal(sig, SIG_DFL);
        ::raise(sig);
        return;
    }
    int saved = errno;
    char c = 1;
    int fd = sig > 0 && sig < NSIG ? signal_pipe_ends[sig].load() - 1 : -1;
    if (fd >= 0) (void)!::write(fd, &c, 1);
    errno = saved;
}

class signal_pipe {
public:
    explicit signal_pipe(std::initializer_list<int> signals) {
        open_pipe(read_, write_);
        sigset_t set;
        sigemptyset(&set);
        struct sigaction sa {};
        sa.sa_handler = porthole_on_signal;
        sigemptyset(&sa.sa_mask);
        for (int sig : signals) {
            if (count_ == max_signals || sig <= 0 || sig >= NSIG) continue;
            signal_pipe_ends[sig].store(write_.get() + 1);
            ::sigaction(sig, &sa, &old_[count_]);
            signals_[count_++] = sig;
            sigaddset(&set, sig);
        }
        ::pthread_sigmask(SIG_UNBLOCK, &set, &old_mask_);
    }
    signal_pipe(signal_pipe const&) = delete;
    signal_pipe& operator=(signal_pipe const&) = delete;
    ~signal_pipe() {
        for (int i = 0; i < count_; ++i) {
            ::sigaction(signals_[i], &old_[i], nullptr);
            signal_pipe_ends[signals_[i]].store(0);
            signal_ends_process[signals_[i]].store(false);
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
    static constexpr int max_signals = 4;
    unique_fd read_;
    unique_fd write_;
    int signals_[max_signals]{};
    int count_ = 0;
    struct sigaction old_[max_signals] {};
    sigset_t old_mask_{};
};
#endif

}  // namespace porthole::detail
