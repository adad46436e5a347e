// The ceiling: a hand-written single-threaded epoll server that only counts "\r\n\r\n" and
// answers each with a fixed response. No parsing, no routing, no timeouts: nothing a real
// server could skip is skipped elsewhere, so nothing real should be faster.
//   epoll_ceiling --port N      prints "listening on http://127.0.0.1:PORT/", exits 0 on SIGINT/SIGTERM
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view keep_alive_reply =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
constexpr std::string_view close_reply =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nHello, World!";

struct conn {
    int fd;
    std::string tail;  // an unfinished request head
};

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(lfd, 4096) != 0) {
        std::perror("bind/listen");
        return 1;
    }
    socklen_t len = sizeof sa;
    getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.ptr = &sfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    std::printf("listening on http://127.0.0.1:%u/\n", ntohs(sa.sin_port));
    std::fflush(stdout);

    static char buf[64 * 1024];
    std::string out;
    epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; ++i) {
            void* p = events[i].data.ptr;
            if (p == &sfd) return 0;
            if (!p) {
                for (int k = 0; k < 64; ++k) {
                    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    auto* c = new conn{fd, {}};
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
                    cev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            auto* c = static_cast<conn*>(p);
            bool close_it = false;
            for (;;) {
                ssize_t r = recv(c->fd, buf, sizeof buf, 0);
                if (r <= 0) {
                    if (r == 0 || (errno != EAGAIN && errno != EINTR)) close_it = true;
                    break;
                }
                std::string_view data(buf, static_cast<std::size_t>(r));
                std::string joined;
                if (!c->tail.empty()) {
                    joined = c->tail;
                    joined.append(data);
                    data = joined;
                }
                out.clear();
                std::size_t start = 0;
                for (;;) {
                    auto end = data.find("\r\n\r\n", start);
                    if (end == std::string_view::npos) break;
                    bool close_req =
                        data.substr(start, end - start).find("Connection: close") != std::string_view::npos;
                    out += close_req ? close_reply : keep_alive_reply;
                    start = end + 4;
                    if (close_req) {
                        close_it = true;
                        break;
                    }
                }
                c->tail.assign(data.substr(start));
                if (!out.empty()) send(c->fd, out.data(), out.size(), MSG_NOSIGNAL);
                if (close_it || static_cast<std::size_t>(r) < sizeof buf) break;
            }
            if (close_it) {
                close(c->fd);
                delete c;
            }
        }
    }
}
