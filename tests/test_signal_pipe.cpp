// detail/signal_pipe.hpp: a signal becomes a byte on a pipe while the signal_pipe lives, and the
// handler and signal mask that were there before come back when it goes.
#include <porthole/detail/signal_pipe.hpp>

#include <doctest/doctest.h>

#include <csignal>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using porthole::detail::signal_pipe;

namespace {

volatile std::sig_atomic_t earlier_handler_ran = 0;
extern "C" void earlier_handler(int) { earlier_handler_ran = 1; }

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

bool blocked(int sig) {
    sigset_t now;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
    return sigismember(&now, sig) == 1;
}

}  // namespace

TEST_CASE("a signal makes the pipe readable; clear() empties it for the next one") {
    signal_pipe pipe({SIGUSR1, SIGUSR2});
    CHECK(!readable(pipe.fd()));
    REQUIRE(std::raise(SIGUSR2) == 0);  // to this thread, handled before raise returns
    CHECK(readable(pipe.fd()));
    pipe.wait();  // returns at once: a signal came
    pipe.clear();
    CHECK(!readable(pipe.fd()));
    REQUIRE(std::raise(SIGUSR1) == 0);
    REQUIRE(std::raise(SIGUSR1) == 0);
    CHECK(readable(pipe.fd()));
    pipe.clear();  // however many came
    CHECK(!readable(pipe.fd()));
}

TEST_CASE("the handler that was there before comes back, and meanwhile does not run") {
    sigset_t usr1;  // deliverable after the pipe too, whatever mask this process was started with
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigset_t mask_before;
    REQUIRE(::pthread_sigmask(SIG_UNBLOCK, &usr1, &mask_before) == 0);
    struct sigaction sa {};
    sa.sa_handler = earlier_handler;
    sigemptyset(&sa.sa_mask);
    struct sigaction saved {};
    REQUIRE(::sigaction(SIGUSR1, &sa, &saved) == 0);
    earlier_handler_ran = 0;
    {
        signal_pipe pipe({SIGUSR1});
        REQUIRE(std::raise(SIGUSR1) == 0);
        CHECK(readable(pipe.fd()));
        CHECK(earlier_handler_ran == 0);
    }
    REQUIRE(std::raise(SIGUSR1) == 0);
    CHECK(earlier_handler_ran == 1);
    ::sigaction(SIGUSR1, &saved, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &mask_before, nullptr);
}

TEST_CASE("its signals are unblocked in this thread while it lives, the mask restored after") {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigset_t before;
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &usr2, &before) == 0);  // as a program that blocked it
    CHECK(blocked(SIGUSR2));
    {
        signal_pipe pipe({SIGUSR2, 0, NSIG});  // numbers out of range are passed over
        CHECK(!blocked(SIGUSR2));
        REQUIRE(std::raise(SIGUSR2) == 0);
        CHECK(readable(pipe.fd()));
    }
    CHECK(blocked(SIGUSR2));
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

// serve() arms its stop pipe once the first stop signal came: a second one ends the process at
// once, by the signal, rather than wait for the drain and the handlers still running.
TEST_CASE("after next_ends_process() a signal takes its default action; a later pipe is a pipe again") {
    auto child_status = [](auto in_child) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            in_child();
            ::_exit(0);  // still here: the signal did not end the process
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        return status;
    };
    int ended = child_status([] {
        signal_pipe pipe({SIGUSR1});
        pipe.next_ends_process();
        std::raise(SIGUSR1);
    });
    CHECK(WIFSIGNALED(ended));
    CHECK(WTERMSIG(ended) == SIGUSR1);
    int kept = child_status([] {
        {
            signal_pipe armed({SIGUSR1});
            armed.next_ends_process();
        }
        signal_pipe pipe({SIGUSR1});
        std::raise(SIGUSR1);
        if (!readable(pipe.fd())) ::_exit(3);
    });
    CHECK(WIFEXITED(kept));
    CHECK(WEXITSTATUS(kept) == 0);
}
