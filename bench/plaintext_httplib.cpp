// The plaintext app on Debian's cpp-httplib 0.11 (libcpp-httplib-dev, a shared library), with
// TCP_NODELAY on: -DCPPHTTPLIB_TCP_NODELAY=true for the header's inline parts and
// set_tcp_nodelay(true) for the compiled ones (without it every response waits on Nagle).
//   plaintext_httplib --port N     prints "listening on http://127.0.0.1:PORT/", exits 0 on SIGINT/SIGTERM
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <pthread.h>
#include <signal.h>

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by httplib's threads

    httplib::Server svr;
    svr.set_tcp_nodelay(true);
    svr.Get("/",
            [](httplib::Request const&, httplib::Response& res) { res.set_content("Hello, World!", "text/plain"); });
    if (port == 0) port = svr.bind_to_any_port("127.0.0.1");
    else if (!svr.bind_to_port("127.0.0.1", port)) port = -1;
    if (port < 0) {
        std::perror("bind");
        return 1;
    }
    std::thread t([&] { svr.listen_after_bind(); });
    std::printf("listening on http://127.0.0.1:%d/\n", port);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    svr.stop();
    t.join();
    return 0;
}
