// The subscribers for bench/sse_bench.py: one thread, epoll, N connections to GET /events
// (opened 256 at a time), each reading the event stream. Once all are subscribed it prints
// "ready", then for `--seconds` counts the events received and times each from its publish
// time (the `"t":NS` in its data, steady clock, same machine) to its receipt, and prints
//   events E seconds S p50_us A p99_us B max_us C resyncs R closed K
//   sse_load --port N --subscribers N [--seconds 10]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct subscriber {
    int fd = -1;
    bool subscribed = false;
    std::string tail;  // a line not yet whole
};

long long now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    std::size_t n = 1000;
    double seconds = 10;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--subscribers")) n = std::strtoul(argv[i + 1], nullptr, 10);
        if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    }
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<subscriber> subs(n);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static char const request[] = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";

    std::size_t opened = 0, subscribed = 0, closed = 0;
    bool measuring = false;
    long long window_end = 0, events = 0, resyncs = 0;
    std::vector<std::uint32_t> histogram(1'000'000);  // 10 us buckets up to 10 s
    std::uint64_t late = 0;
    long long max_us = 0;

    auto line = [&](std::string_view l) {
        if (!measuring) return;
        if (l == "event: resync") ++resyncs;
        auto at = l.find("\"t\":");
        if (!l.starts_with("data: ") || at == std::string_view::npos) return;
        long long t = std::strtoll(l.data() + at + 4, nullptr, 10);
        long long us = (now_ns() - t) / 1000;
        ++events;
        if (us > max_us) max_us = us;
        if (us / 10 < static_cast<long long>(histogram.size())) ++histogram[static_cast<std::size_t>(us / 10)];
        else ++late;
    };
    auto open_more = [&] {
        while (opened < n && opened - subscribed < 256) {
            auto& s = subs[opened];
            s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
                std::perror("connect");
                std::exit(1);
            }
            if (::send(s.fd, request, sizeof request - 1, 0) != sizeof request - 1) std::exit(1);
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = opened;
            epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
            ++opened;
        }
    };
    open_more();
    std::vector<epoll_event> ready(1024);
    char buf[65536];
    auto give_up = now_ns() + 120'000'000'000LL;
    for (;;) {
        int k = epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), 100);
        for (int i = 0; i < k; ++i) {
            auto& s = subs[ready[static_cast<std::size_t>(i)].data.u64];
            ssize_t got = ::recv(s.fd, buf, sizeof buf, 0);
            if (got <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
                ::close(s.fd);
                ++closed;
                continue;
            }
            s.tail.append(buf, static_cast<std::size_t>(got));
            if (!s.subscribed) {
                auto head = s.tail.find("\r\n\r\n");
                if (head == std::string::npos) continue;
                if (s.tail.compare(0, 12, "HTTP/1.1 200") != 0) {
                    std::fprintf(stderr, "refused: %.40s\n", s.tail.c_str());
                    return 1;
                }
                s.subscribed = true;
                ++subscribed;
                s.tail.erase(0, head + 4);
            }
            std::string_view rest = s.tail;
            for (auto e = rest.find('\n'); e != std::string_view::npos; e = rest.find('\n')) {
                line(rest.substr(0, e));
                rest.remove_prefix(e + 1);
            }
            s.tail.erase(0, s.tail.size() - rest.size());
        }
        if (!measuring) {
            open_more();
            if (subscribed == n) {
                measuring = true;
                window_end = now_ns() + static_cast<long long>(seconds * 1e9);
                std::printf("ready\n");
                std::fflush(stdout);
            } else if (now_ns() > give_up) {
                std::fprintf(stderr, "only %zu of %zu subscribed\n", subscribed, n);
                return 1;
            }
        } else if (now_ns() >= window_end) {
            break;
        }
    }
    auto percentile = [&](double p) -> long long {
        auto want = static_cast<std::uint64_t>(p * static_cast<double>(events));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < histogram.size(); ++i) {
            seen += histogram[i];
            if (seen > want) return static_cast<long long>(i) * 10;
        }
        return max_us;
    };
    std::printf("events %lld seconds %.3f p50_us %lld p99_us %lld max_us %lld resyncs %lld closed %zu\n", events,
                seconds, percentile(0.5), percentile(0.99), max_us, resyncs, closed);
    return 0;
}
