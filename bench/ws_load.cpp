// A WebSocket load generator for bench/ws_bench.py: one thread, epoll, many connections.
//
//   ws_load echo --port N [--path /ws] --connections C --size S --seconds T
//       each connection sends a binary message of S bytes, waits for its echo, and sends again;
//       prints "round_trips R seconds T"
//   ws_load broadcast --port N [--path /ws] --connections C --size S --rounds R [--hold-file F]
//       opens C connections; then R times, the first sends a text message of S bytes and the
//       time until every connection has received it is taken; prints "deliver_ms M" per round.
//       With --hold-file, writes "connected" to F once all are open and waits 2 s before the
//       rounds (the caller reads the server's memory then).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct client {
    int fd = -1;
    bool upgraded = false;
    std::string in;
    std::size_t out_done = 0;  // of the message being sent
    std::size_t received = 0;  // messages received
};

std::string masked_frame(unsigned opcode, std::size_t size) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    if (size < 126) {
        f += static_cast<char>(0x80 | size);
    } else if (size < 65536) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(size >> 8);
        f += static_cast<char>(size & 0xff);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int i = 0; i < 8; ++i) f += static_cast<char>(std::uint64_t(size) >> (56 - 8 * i));
    }
    unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(reinterpret_cast<char*>(key), 4);
    for (std::size_t i = 0; i < size; ++i) f += static_cast<char>('a' + i % 26) ^ static_cast<char>(key[i & 3]);
    return f;
}

// Takes complete server frames off the front of c.in; returns how many data frames.
std::size_t take_frames(client& c) {
    std::size_t pos = 0, n = 0;
    for (;;) {
        auto const* p = reinterpret_cast<unsigned char const*>(c.in.data()) + pos;
        std::size_t avail = c.in.size() - pos;
        if (avail < 2) break;
        std::uint64_t len = p[1] & 0x7f;
        std::size_t head = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = std::uint64_t{p[2]} << 8 | p[3];
            head = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; ++i) len = len << 8 | p[2 + i];
            head = 10;
        }
        if (avail < head + len) break;
        unsigned op = p[0] & 0x0f;
        if (op == 1 || op == 2) ++n;
        pos += head + len;
    }
    c.in.erase(0, pos);
    return n;
}

int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0; connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0; ++attempt) {
        if (attempt > 50) {
            std::perror("connect");
            std::exit(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the backlog is full: retry
        close(fd);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// Opens `count` upgraded connections (blocking handshakes, then non-blocking).
std::vector<client> open_all(int port, std::string const& path, std::size_t count) {
    std::vector<client> cs(count);
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    std::size_t batch = 200;  // handshakes in flight at a time
    for (std::size_t first = 0; first < count; first += batch) {
        std::size_t last = std::min(count, first + batch);
        for (std::size_t i = first; i < last; ++i) {
            cs[i].fd = connect_to(port);
            if (write(cs[i].fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
                std::perror("write");
                std::exit(1);
            }
        }
        for (std::size_t i = first; i < last; ++i) {
            char buf[4096];
            while (cs[i].in.find("\r\n\r\n") == std::string::npos) {
                ssize_t r = read(cs[i].fd, buf, sizeof buf);
                if (r <= 0) {
                    std::fprintf(stderr, "handshake %zu: connection closed\n", i);
                    std::exit(1);
                }
                cs[i].in.append(buf, static_cast<std::size_t>(r));
            }
            if (cs[i].in.compare(0, 12, "HTTP/1.1 101") != 0) {
                std::fprintf(stderr, "handshake %zu: %s\n", i, cs[i].in.substr(0, 40).c_str());
                std::exit(1);
            }
            cs[i].in.erase(0, cs[i].in.find("\r\n\r\n") + 4);
            cs[i].upgraded = true;
            fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
        }
    }
    return cs;
}

void raise_fd_limit() {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: ws_load echo|broadcast --port N ...\n");
        return 2;
    }
    std::string mode = argv[1], path = "/ws", hold_file;
    int port = 0;
    std::size_t connections = 1, size = 64, rounds = 5;
    double seconds = 3;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string_view a = argv[i];
        if (a == "--port") port = std::atoi(argv[i + 1]);
        else if (a == "--path") path = argv[i + 1];
        else if (a == "--connections") connections = std::strtoul(argv[i + 1], nullptr, 10);
        else if (a == "--size") size = std::strtoul(argv[i + 1], nullptr, 10);
        else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
        else if (a == "--rounds") rounds = std::strtoul(argv[i + 1], nullptr, 10);
        else if (a == "--hold-file") hold_file = argv[i + 1];
    }
    raise_fd_limit();
    auto cs = open_all(port, path, connections);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < cs.size(); ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    static char buf[256 * 1024];
    std::vector<epoll_event> events(1024);

    if (mode == "echo") {
        auto frame = masked_frame(2, size);
        auto send_from = [&](client& c) {
            while (c.out_done < frame.size()) {
                ssize_t w = write(c.fd, frame.data() + c.out_done, frame.size() - c.out_done);
                if (w <= 0) return;  // the rest goes when the echo of what went is read
                c.out_done += static_cast<std::size_t>(w);
            }
        };
        for (auto& c : cs) send_from(c);
        std::uint64_t round_trips = 0;
        auto start = clock_type::now();
        auto until = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
        while (clock_type::now() < until) {
            int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
            for (int i = 0; i < n; ++i) {
                auto& c = cs[events[i].data.u64];
                ssize_t r = read(c.fd, buf, sizeof buf);
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN) continue;
                    std::fprintf(stderr, "echo: connection closed\n");
                    return 1;
                }
                c.in.append(buf, static_cast<std::size_t>(r));
                send_from(c);
                if (std::size_t got = take_frames(c); got > 0) {
                    round_trips += got;
                    c.out_done = 0;
                    send_from(c);
                }
            }
        }
        double took = std::chrono::duration<double>(clock_type::now() - start).count();
        std::printf("round_trips %llu seconds %.3f\n", static_cast<unsigned long long>(round_trips), took);
        return 0;
    }

    if (mode == "broadcast") {
        if (!hold_file.empty()) {
            std::ofstream(hold_file) << "connected\n";
            std::this_thread::sleep_for(std::chrono::seconds(2));
        }
        std::string frame = masked_frame(1, size);
        for (std::size_t round = 0; round < rounds; ++round) {
            for (auto& c : cs) c.received = 0;
            auto start = clock_type::now();
            if (write(cs[0].fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) {
                std::perror("write");
                return 1;
            }
            std::size_t done = 0;
            while (done < cs.size()) {
                int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 5000);
                if (n == 0) {
                    std::fprintf(stderr, "broadcast: %zu of %zu received after 5 s\n", done, cs.size());
                    return 1;
                }
                for (int i = 0; i < n; ++i) {
                    auto& c = cs[events[i].data.u64];
                    ssize_t r;
                    while ((r = read(c.fd, buf, sizeof buf)) > 0) c.in.append(buf, static_cast<std::size_t>(r));
                    if (r == 0) {
                        std::fprintf(stderr, "broadcast: connection closed\n");
                        return 1;
                    }
                    std::size_t before = c.received;
                    c.received += take_frames(c);
                    if (before == 0 && c.received > 0) ++done;
                }
            }
            double ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
            std::printf("deliver_ms %.3f\n", ms);
            std::fflush(stdout);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return 0;
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
