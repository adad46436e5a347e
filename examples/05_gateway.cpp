// 05_gateway: the server and the application are separate; any driver can run the application.
// The same `app` runs three ways:
//   --way server   the built-in server                          (default)
//   --way loop     a hand-written poll() loop feeding porthole::connection (a lesson: it keeps
//                  no timeouts and closes without lingering; docs/connection.md lists all a
//                  driver does)
//   --way direct   called as a plain function, no socket at all
#include <porthole/porthole.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <vector>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile std::sig_atomic_t stopping = 0;

int main(int argc, char** argv) {
    auto app = [](porthole::request const& req) { return "gateway answers " + std::string(req.path()) + "\n"; };
    auto command_line = porthole::server_options::from_command_line(
        argc, argv,
        {{"--way WAY", "server (the built-in server, default), loop (a poll() loop of its own) or direct (a call)"}});
    if (!command_line.ok()) return command_line.report();  // --help, or a malformed value
    auto const& opts = command_line.options;
    auto way = porthole::command_line_value(argc, argv, "--way").value_or("server");
    if (way == "server") return porthole::serve(app, opts);
    if (way == "direct") {
        porthole::request::parts direct;
        direct.target = direct.raw_path = direct.path = "/direct";
        auto res = porthole::to_response(app(porthole::request(direct)));
        std::printf("%u %s", porthole::to_int(res.status()), std::string(res.body_view()).c_str());
        return 0;
    }
    std::signal(SIGINT, [](int) { stopping = 1; });
    std::signal(SIGTERM, [](int) { stopping = 1; });
    int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{
        .sin_family = AF_INET, .sin_port = htons(opts.port), .sin_addr = {htonl(INADDR_LOOPBACK)}, .sin_zero = {}};
    socklen_t len = sizeof addr;
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(lfd, 128) != 0) return 1;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("listening on http://127.0.0.1:%u/\n", ntohs(addr.sin_port));
    std::fflush(stdout);
    std::map<int, std::unique_ptr<porthole::connection<decltype(app)>>> clients;
    while (!stopping) {
        std::vector<pollfd> fds{{lfd, POLLIN, 0}};
        for (auto& [fd, c] : clients)  // no input while output waits (wants_read): memory stays bounded
            fds.push_back(
                {fd, static_cast<short>((c->wants_read() ? POLLIN : 0) | (c->pending_output().empty() ? 0 : POLLOUT)),
                 0});
        if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
        if (int fd = (fds[0].revents & POLLIN) ? ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK) : -1;
            fd >= 0)
            clients[fd] = std::make_unique<porthole::connection<decltype(app)>>(app);
        for (auto& p : fds) {
            if (p.fd == lfd || !p.revents) continue;
            auto& conn = *clients[p.fd];
            char buf[16384];
            if (conn.wants_read() && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t n = ::read(p.fd, buf, sizeof buf);
                if (n > 0) conn.feed(std::span<char>(buf, static_cast<std::size_t>(n)));
                else if (n == 0 || errno != EAGAIN) conn.read_eof();
            }
            // A hangup or error while not reading: the connection is gone both ways.
            bool gone = !conn.wants_read() && (p.revents & (POLLHUP | POLLERR));
            for (auto out = conn.pending_output(); !out.empty(); out = conn.pending_output()) {
                // This app sends memory only; a full socket buffer waits for POLLOUT. MSG_NOSIGNAL:
                // a peer that left is an error here (EPIPE), not a SIGPIPE that ends the program.
                ssize_t w = ::send(p.fd, out[0].memory.data(), out[0].memory.size(), MSG_NOSIGNAL);
                gone = gone || (w < 0 && errno != EAGAIN);
                if (w <= 0) break;
                conn.written(static_cast<std::size_t>(w));
            }
            if (gone || (conn.should_close() && !conn.has_output())) ::close(p.fd), clients.erase(p.fd);
        }
    }
    for (auto& [fd, c] : clients) ::close(fd);
    return 0;
}
