// bench/sse_porthole.cpp's hub on cpp-httplib: GET /events answered with its chunked content
// provider, a thread per subscriber (the pool sized for them) waiting on a condition variable
// for events, which are encoded once and shared through a bounded history, as event_hub does.
// For bench/sse_bench.py, which compiles it against the cpp-httplib header it is given
// (nothing of cpp-httplib is kept here).
//   sse_httplib --port N [--rate 100] [--subscribers 1100]
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pthread.h>
#include <signal.h>

namespace {
struct hub {
    std::mutex m;
    std::condition_variable cv;
    std::deque<std::shared_ptr<std::string const>> history;  // ids first..last
    unsigned long long first = 1, last = 0;
    bool stopping = false;
    void publish(std::string data) {
        {
            std::lock_guard lock(m);
            ++last;
            history.push_back(std::make_shared<std::string const>("id: " + std::to_string(last) +
                                                                  "\nevent: tick\ndata: " + data + "\n\n"));
            if (history.size() > 256) {
                history.pop_front();
                ++first;
            }
        }
        cv.notify_all();
    }
};
}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    double rate = 100;
    std::size_t subscribers = 1100;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
        if (std::strcmp(argv[i], "--rate") == 0) rate = std::atof(argv[i + 1]);
        if (std::strcmp(argv[i], "--subscribers") == 0) subscribers = std::strtoul(argv[i + 1], nullptr, 10);
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by httplib's threads

    hub h;
    httplib::Server svr;
    svr.set_tcp_nodelay(true);
    svr.new_task_queue = [subscribers] { return new httplib::ThreadPool(subscribers); };
    svr.set_keep_alive_timeout(3600);
    svr.set_read_timeout(3600);
    svr.set_write_timeout(30);
    svr.Get("/events", [&h](httplib::Request const&, httplib::Response& res) {
        res.set_header("Cache-Control", "no-store");
        unsigned long long cursor;
        {
            std::lock_guard lock(h.m);
            cursor = h.last;
        }
        res.set_chunked_content_provider("text/event-stream",
                                         [&h, cursor](std::size_t, httplib::DataSink& sink) mutable {
                                             std::string out;
                                             {
                                                 std::unique_lock lock(h.m);
                                                 h.cv.wait(lock, [&] { return h.last > cursor || h.stopping; });
                                                 if (h.stopping) return false;
                                                 if (cursor + 1 < h.first) cursor = h.first - 1;
                                                 for (auto id = cursor + 1; id <= h.last; ++id)
                                                     out += *h.history[id - h.first];
                                                 cursor = h.last;
                                             }
                                             return sink.write(out.data(), out.size());
                                         });
    });
    if (port == 0) port = svr.bind_to_any_port("127.0.0.1");
    else if (!svr.bind_to_port("127.0.0.1", port)) port = -1;
    if (port < 0) {
        std::perror("bind");
        return 1;
    }
    std::thread server([&] { svr.listen_after_bind(); });
    std::thread publisher([&] {
        auto period =
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(1.0 / rate));
        auto next = std::chrono::steady_clock::now();
        std::string pad(48, 'x');
        for (;;) {
            next += period;
            std::this_thread::sleep_until(next);
            {
                std::lock_guard lock(h.m);
                if (h.stopping) return;
            }
            auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now().time_since_epoch());
            h.publish("{\"t\":" + std::to_string(now.count()) + ",\"pad\":\"" + pad + "\"}");
        }
    });
    std::printf("listening on http://127.0.0.1:%d/\n", port);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    {
        std::lock_guard lock(h.m);
        h.stopping = true;
    }
    h.cv.notify_all();
    publisher.join();
    svr.stop();
    server.join();
    return 0;
}
