// The WebSocket ceiling: a hand-written single-threaded epoll server that takes any upgrade
// request, answers 101, and echoes every data frame back unmasked with the same opcode. It reads
// frame headers and unmasks, nothing else: no UTF-8 check, no limits, no fragmentation rules, no
// close handshake, no timeouts. Nothing a real server could skip is skipped elsewhere, so
// nothing real should be faster.
//   ws_epoll_ceiling --port N   prints "listening on http://127.0.0.1:PORT/", exits 0 on SIGINT/SIGTERM
#include <porthole/websocket_handshake.hpp>  // accept_key, for the handshake only

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

struct conn {
    int fd;
    bool upgraded = false;
    std::string in;   // bytes not yet used
    std::string out;  // bytes not yet written
};

// The Sec-WebSocket-Key of a request head, or empty.
std::string_view key_of(std::string_view head) {
    auto at = head.find("Sec-WebSocket-Key:");
    if (at == std::string_view::npos) at = head.find("sec-websocket-key:");
    if (at == std::string_view::npos) return {};
    at += 18;
    while (at < head.size() && head[at] == ' ') ++at;
    auto end = head.find("\r\n", at);
    return head.substr(at, end - at);
}

// Echoes every complete frame in c.in into c.out; returns false on a close frame.
bool echo_frames(conn& c) {
    std::size_t pos = 0;
    bool open = true;
    for (;;) {
        auto* p = reinterpret_cast<unsigned char*>(c.in.data()) + pos;
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
        if (avail < head + 4 + len) break;
        unsigned char key[4];
        std::memcpy(key, p + head, 4);
        unsigned char* payload = p + head + 4;
        std::uint64_t wide = 0;
        for (int i = 0; i < 8; ++i) wide |= std::uint64_t{key[i & 3]} << (8 * i);
        std::size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            std::uint64_t v;
            std::memcpy(&v, payload + i, 8);
            v ^= wide;
            std::memcpy(payload + i, &v, 8);
        }
        for (; i < len; ++i) payload[i] ^= key[i & 3];
        unsigned op = p[0] & 0x0f;
        if (op == 8) {
            open = false;
            break;
        }
        char h[10];
        std::size_t hn = 2;
        h[0] = static_cast<char>(op == 9 ? 0x8a : p[0]);  // a ping gets a pong
        if (len < 126) {
            h[1] = static_cast<char>(len);
        } else if (len < 65536) {
            h[1] = 126;
            h[2] = static_cast<char>(len >> 8);
            h[3] = static_cast<char>(len);
            hn = 4;
        } else {
            h[1] = 127;
            for (int k = 0; k < 8; ++k) h[2 + k] = static_cast<char>(len >> (56 - 8 * k));
            hn = 10;
        }
        if (op != 10) {
            c.out.append(h, hn);
            c.out.append(reinterpret_cast<char*>(payload), len);
        }
        pos += head + 4 + len;
    }
    c.in.erase(0, pos);
    return open;
}

}  // namespace

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
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
    epoll_event events[256];
    auto drop = [&](conn* c) {
        close(c->fd);
        delete c;
    };
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; ++i) {
            void* p = events[i].data.ptr;
            if (p == &sfd) return 0;
            if (p == nullptr) {
                for (;;) {
                    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLRDHUP;
                    cev.data.ptr = new conn{fd, false, {}, {}};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            auto* c = static_cast<conn*>(p);
            if (events[i].events & EPOLLOUT) {
                ssize_t w = write(c->fd, c->out.data(), c->out.size());
                if (w > 0) c->out.erase(0, static_cast<std::size_t>(w));
                if (c->out.empty()) {
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLRDHUP;
                    cev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                }
                continue;
            }
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                drop(c);
                continue;
            }
            c->in.append(buf, static_cast<std::size_t>(r));
            bool open = true;
            if (!c->upgraded) {
                auto end = c->in.find("\r\n\r\n");
                if (end == std::string::npos) continue;
                std::string head = c->in.substr(0, end);
                c->in.erase(0, end + 4);
                c->out +=
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: ";
                c->out += porthole::ws::accept_key(key_of(head));
                c->out += "\r\n\r\n";
                c->upgraded = true;
            }
            open = echo_frames(*c);
            if (!c->out.empty()) {
                ssize_t w = write(c->fd, c->out.data(), c->out.size());
                if (w > 0) c->out.erase(0, static_cast<std::size_t>(w));
                if (!c->out.empty()) {
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
                    cev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                }
            }
            if (!open) drop(c);
        }
    }
}
