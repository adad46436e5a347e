// examples/blocking_work's /slow and /fast routes on cpp-httplib with its default thread pool,
// for bench/blocking_bench.py, which compiles it against the cpp-httplib header it is given
// (nothing of cpp-httplib is kept here).
//   blocking_httplib --port N     prints "listening on http://127.0.0.1:PORT/", exits 0 on SIGINT/SIGTERM
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
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
    svr.Get("/slow", [](httplib::Request const& req, httplib::Response& res) {
        long ms = req.has_param("ms") ? std::atol(req.get_param_value("ms").c_str()) : 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        res.set_content("slept " + std::to_string(ms) + " ms\n", "text/plain");
    });
    svr.Get("/fast", [](httplib::Request const&, httplib::Response& res) { res.set_content("fast\n", "text/plain"); });
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
