// A TLS load generator for bench/tls_bench.py: one thread, epoll, N connections at once, each
// doing a full handshake (no resumption) in the TLS version asked for, then `requests` GETs on
// it (the last with Connection: close), then closing and starting over, for a number of seconds.
//   tls_load --port N [--connections 16] [--seconds 3] [--tls 1.3|1.2] [--requests 1]
// Prints: "handshakes H requests R seconds S errors E".
//   tls_load --port N --connections N --hold
// opens N connections, 16 handshakes at a time (as a steady arrival of clients would, not one
// burst of N), one request each, keeps them open: prints "held N" once all are answered, and
// closes them when its standard input ends.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct client {
    int fd = -1;
    SSL* ssl = nullptr;
    bool handshaken = false;
    int left = 0;          // requests still to send on this connection
    bool waiting = false;  // a request is out, its response not yet whole
    std::string in;
};

long long counter_handshakes = 0, counter_requests = 0, counter_errors = 0;

char const* arg(int argc, char** argv, char const* name, char const* fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    int port = std::atoi(arg(argc, argv, "--port", "0"));
    int connections = std::atoi(arg(argc, argv, "--connections", "16"));
    double seconds = std::atof(arg(argc, argv, "--seconds", "3"));
    std::string version = arg(argc, argv, "--tls", "1.3");
    int requests = std::max(1, std::atoi(arg(argc, argv, "--requests", "1")));
    bool hold = false;
    for (int i = 1; i < argc; ++i) hold = hold || std::strcmp(argv[i], "--hold") == 0;
    if (hold) requests = 2;  // the first request keeps the connection; the second is never sent
    int held = 0;
    int opened = 0;

    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    int v = version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<client> clients(static_cast<std::size_t>(connections));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string const keep = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    std::string const last = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    auto open = [&](client& c) {
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        c.ssl = SSL_new(ctx);
        SSL_set_fd(c.ssl, c.fd);
        SSL_set_connect_state(c.ssl);
        c.handshaken = false;
        c.left = requests;
        c.waiting = false;
        c.in.clear();
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = &c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    };
    auto close = [&](client& c, bool error) {
        counter_errors += error;
        SSL_free(c.ssl);
        ::close(c.fd);
        ERR_clear_error();
    };
    // Moves one client as far as it goes; false when it closed (then it is opened again).
    auto step = [&](client& c) -> bool {
        for (;;) {
            if (!c.handshaken) {
                int r = SSL_do_handshake(c.ssl);
                if (r != 1) {
                    int e = SSL_get_error(c.ssl, r);
                    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
                    close(c, true);
                    return false;
                }
                c.handshaken = true;
                ++counter_handshakes;
            }
            if (!c.waiting) {
                std::string const& req = c.left == 1 ? last : keep;
                std::size_t n = 0;
                if (SSL_write_ex(c.ssl, req.data(), req.size(), &n) != 1) {
                    close(c, true);
                    return false;
                }
                c.waiting = true;
            }
            char buf[16384];
            std::size_t n = 0;
            int r = SSL_read_ex(c.ssl, buf, sizeof buf, &n);
            if (r != 1) {
                int e = SSL_get_error(c.ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
                close(c, true);
                return false;
            }
            c.in.append(buf, n);
            auto head_end = c.in.find("\r\n\r\n");
            if (head_end == std::string::npos) continue;
            auto cl = c.in.find("Content-Length: ");
            std::size_t length = cl == std::string::npos ? 0 : std::strtoul(c.in.c_str() + cl + 16, nullptr, 10);
            if (c.in.size() < head_end + 4 + length) continue;
            ++counter_requests;
            c.in.erase(0, head_end + 4 + length);
            c.waiting = false;
            if (hold) {
                c.waiting = true;  // answered once: now idle
                if (opened < connections) open(clients[static_cast<std::size_t>(opened++)]);
                if (++held == connections) {
                    std::printf("held %d\n", held);
                    std::fflush(stdout);
                    char b[64];
                    while (::read(0, b, sizeof b) > 0) {}
                    std::exit(0);
                }
                return true;
            }
            if (--c.left == 0) {
                close(c, false);
                return false;
            }
        }
    };

    if (hold) {
        for (; opened < std::min(16, connections); ++opened) open(clients[static_cast<std::size_t>(opened)]);
    } else {
        for (auto& c : clients) open(c);
    }
    auto start = std::chrono::steady_clock::now();
    auto end =
        start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    if (hold) end = start + std::chrono::seconds(120);
    std::vector<epoll_event> events(static_cast<std::size_t>(connections));
    while (std::chrono::steady_clock::now() < end) {
        int n = epoll_wait(ep, events.data(), connections, 100);
        for (int i = 0; i < n; ++i) {
            client& c = *static_cast<client*>(events[static_cast<std::size_t>(i)].data.ptr);
            while (!step(c)) {
                if (std::chrono::steady_clock::now() >= end) break;
                open(c);
            }
        }
    }
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("handshakes %lld requests %lld seconds %.3f errors %lld\n", counter_handshakes, counter_requests, took,
                counter_errors);
    return 0;
}
