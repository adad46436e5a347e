// What the HTTPS server's tests share: the test certificates' context, a blocking OpenSSL client
// on one connection (tls_conn), a client context that trusts the test CA, an application that
// says whether the request came over TLS, an error log to count lines in, and socket helpers.
#pragma once

#include "server/client.hpp"
#include "tls_test_certs.hpp"

#include <porthole/tls.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tls_server_test {

using namespace porthole;

inline std::string path_of(char const* name) { return tls_test::shared_files().path(name); }

inline std::shared_ptr<tls::context> make_context(tls::config c = {}) {
    if (c.server.certificate_chain_file.empty()) c.server = {path_of("server.pem"), path_of("server.key")};
    return std::make_shared<tls::context>(std::move(c));
}

inline int open_descriptors() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

// Reads until the server closes the connection (true) or 10 s pass (false).
inline bool ends(int fd) {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) <= 0) return false;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return true;
    }
}

inline int connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// This process's descriptor for the other end of `fd`, a loopback TCP connection (the server's
// accepted socket, when the server runs here), or -1.
inline int socket_connected_to(int fd) {
    sockaddr_in mine{};
    socklen_t len = sizeof mine;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &len) != 0) return -1;
    for (int other = 3; other < 4096; ++other) {
        sockaddr_in peer{};
        len = sizeof peer;
        if (other != fd && ::getpeername(other, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
            peer.sin_family == AF_INET && peer.sin_port == mine.sin_port)
            return other;
    }
    return -1;
}

// A blocking HTTPS client on one connection.
class tls_conn {
public:
    tls_conn(std::uint16_t port, SSL_CTX* ctx) : fd_(connect_to(port)), ssl_(SSL_new(ctx)) {
        SSL_set_fd(ssl_, fd_);
        SSL_set_tlsext_host_name(ssl_, "localhost");
        ok_ = fd_ >= 0 && SSL_connect(ssl_) == 1;
    }
    ~tls_conn() {
        if (ok_) SSL_shutdown(ssl_);
        SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
    }
    tls_conn(tls_conn const&) = delete;
    tls_conn& operator=(tls_conn const&) = delete;
    bool ok() const noexcept { return ok_; }
    SSL* ssl() noexcept { return ssl_; }

    bool send(std::string_view s) {
        std::size_t n = 0;
        return SSL_write_ex(ssl_, s.data(), s.size(), &n) == 1 && n == s.size();
    }
    // Reads until `count` whole responses are in (Content-Length bodies) or the connection ends.
    std::vector<porthole::testing::parsed_response> read(std::size_t count) {
        for (;;) {
            auto rs = porthole::testing::parse_responses(in_);
            std::size_t complete = 0;
            for (auto const& r : rs) complete += r.complete;
            if (complete >= count) return rs;
            char buf[16384];
            std::size_t n = 0;
            if (SSL_read_ex(ssl_, buf, sizeof buf, &n) != 1) return rs;
            in_.append(buf, n);
        }
    }
    // Raw bytes (after a 101): reads until `done(bytes so far)` or the connection ends.
    template <class Done>
    std::string read_until(Done&& done) {
        while (!done(std::string_view(in_))) {
            char buf[16384];
            std::size_t n = 0;
            if (SSL_read_ex(ssl_, buf, sizeof buf, &n) != 1) break;
            in_.append(buf, n);
        }
        return in_;
    }
    porthole::testing::parsed_response get(std::string const& target) {
        in_.clear();
        if (!send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n")) return {};
        auto rs = read(1);
        in_.clear();
        return rs.empty() ? porthole::testing::parsed_response{} : rs.front();
    }
    // Sends `requests` and then close_notify in one segment (corked), so that the server reads
    // them at once.
    bool send_then_close_notify(std::string_view requests) {
        int on = 1, off = 0;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        bool sent = (requests.empty() || send(requests)) && SSL_shutdown(ssl_) == 0;  // 0: ours sent
        ::setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        return sent;
    }
    // Whether the next read ends with the server's close_notify (not a bare FIN, not data).
    bool reads_close_notify() {
        char buf[64];
        std::size_t n = 0;
        int r = SSL_read_ex(ssl_, buf, sizeof buf, &n);
        return r == 0 && SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN;
    }

private:
    int fd_;
    SSL* ssl_;
    bool ok_ = false;
    std::string in_;
};

struct client_ctx {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    client_ctx() {
        SSL_CTX_load_verify_locations(ctx, path_of("ca.pem").c_str(), nullptr);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    ~client_ctx() { SSL_CTX_free(ctx); }
    client_ctx(client_ctx const&) = delete;
    client_ctx& operator=(client_ctx const&) = delete;
};

struct hello_app {
    response operator()(request const& req) const {
        if (req.path() == "/stream") {
            auto left = std::make_shared<int>(50);
            return response::stream([left]() -> std::optional<std::string> {
                if ((*left)-- == 0) return std::nullopt;
                return std::string(1000, 's');
            });
        }
        return response::text(std::string(req.secure() ? "secure " : "plain ") + std::string(req.path()) + " [" +
                              std::string(req.client_subject()) + "]");
    }
};

struct collected_log {
    std::mutex m;
    std::vector<std::string> lines;
    error_log_function function() {
        return [this](std::string_view l) {
            std::lock_guard lock(m);
            lines.emplace_back(l);
        };
    }
    std::size_t count(std::string_view needle) {
        std::lock_guard lock(m);
        std::size_t n = 0;
        for (auto const& l : lines) n += l.find(needle) != std::string::npos;
        return n;
    }
};

inline server_options test_options(collected_log* log = nullptr) {
    server_options o;
    o.port = 0;
    o.threads = 2;
    if (log) o.error_log = log->function();
    return o;
}

}  // namespace tls_server_test
