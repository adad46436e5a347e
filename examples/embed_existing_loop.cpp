// embed_existing_loop: a program that already owns its main loop (here: poll() over a timerfd that
// ticks twice a second and a signalfd) adds a web server by stepping it with server::poll() when
// the server's descriptor is ready. Everything runs on this one thread.
//   build/examples/embed_existing_loop --port 8080, then open / to see the tick count
#include <porthole/porthole.hpp>

#include <atomic>
#include <csignal>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(int argc, char** argv) {
    unsigned long ticks = 0;  // the program's own state, touched only on this thread
    auto app = [&ticks](porthole::request const&) { return "ticks: " + std::to_string(ticks) + "\n"; };
    auto command_line = porthole::server_options::from_command_line(argc, argv);
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    auto opts = command_line.options;
    opts.handle_signals = false;  // this loop handles them itself, through a signalfd
    opts.threads = 1;
    porthole::server server(app, opts);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    int signals = signalfd(-1, &mask, SFD_CLOEXEC);
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    itimerspec every{{0, 500'000'000}, {0, 500'000'000}};
    timerfd_settime(timer, 0, &every, nullptr);

    server.poll();  // binds, listens and says where
    for (;;) {
        pollfd fds[] = {{timer, POLLIN, 0}, {signals, POLLIN, 0}, {server.native_handle(), POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) continue;
        if (fds[0].revents & POLLIN) {
            std::uint64_t n = 0;
            if (::read(timer, &n, sizeof n) == sizeof n) ticks += n;
            server.poll();  // also lets the server's timeouts run
        }
        if (fds[1].revents & POLLIN) break;
        if (fds[2].revents & POLLIN) server.poll();
    }
    server.stop();  // graceful: requests in flight finish
    return 0;
}
