// A small blocking HTTP/1.1 client over loopback for the server tests: connect, send raw
// bytes, read whole responses (Content-Length or chunked), see the connection close.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace test_client {

struct reply {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::string header(std::string_view name) const {
        for (auto const& [k, v] : headers) {
            if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
        }
        return {};
    }
};

class connection {
public:
    // Connects to 127.0.0.1:port; check ok().
    explicit connection(std::uint16_t port, int timeout_ms = 10000) : timeout_ms_(timeout_ms) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    connection(connection&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), timeout_ms_(o.timeout_ms_), in_(std::move(o.in_)) {}
    connection& operator=(connection&&) = delete;
    ~connection() { close(); }

    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    bool get(std::string_view path, std::string_view extra_headers = {}) {
        std::string r = "GET ";
        r.append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n").append(extra_headers).append("\r\n");
        return send(r);
    }

    // The next whole response, or nullopt if the connection closed (or timed out) before one.
    std::optional<reply> read_reply() {
        std::size_t head_end;
        while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill()) return std::nullopt;
        }
        reply r;
        std::string_view head(in_.data(), head_end);
        auto line_end = head.find("\r\n");
        std::string_view status_line = head.substr(0, line_end);
        if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
        r.status = static_cast<unsigned>(std::atoi(std::string(status_line.substr(9, 3)).c_str()));
        std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            auto e = head.find("\r\n", pos);
            if (e == std::string_view::npos) e = head.size();
            std::string_view line = head.substr(pos, e - pos);
            auto colon = line.find(':');
            if (colon != std::string_view::npos) {
                std::string_view v = line.substr(colon + 1);
                while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
                while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
                r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
            }
            pos = e + 2;
        }
        in_.erase(0, head_end + 4);
        bool no_body = r.status < 200 || r.status == 204 || r.status == 304 || head_only_;
        if (no_body) return r;
        std::string te = r.header("Transfer-Encoding");
        if (!te.empty()) {
            for (;;) {
                std::size_t e;
                while ((e = in_.find("\r\n")) == std::string::npos) {
                    if (!fill()) return std::nullopt;
                }
                std::size_t size = std::strtoul(in_.substr(0, e).c_str(), nullptr, 16);
                in_.erase(0, e + 2);
                if (size == 0) {
                    while ((e = in_.find("\r\n")) != 0) {  // trailers end with an empty line
                        if (e == std::string::npos) {
                            if (!fill()) return std::nullopt;
                            continue;
                        }
                        in_.erase(0, e + 2);
                    }
                    in_.erase(0, 2);
                    return r;
                }
                while (in_.size() < size + 2) {
                    if (!fill()) return std::nullopt;
                }
                r.body.append(in_, 0, size);
                in_.erase(0, size + 2);
            }
        }
        std::string cl = r.header("Content-Length");
        if (cl.empty()) {  // until close
            while (fill()) {}
            r.body = std::move(in_);
            in_.clear();
            return r;
        }
        std::size_t length = std::strtoull(cl.c_str(), nullptr, 10);
        while (in_.size() < length) {
            if (!fill()) return std::nullopt;
        }
        r.body = in_.substr(0, length);
        in_.erase(0, length);
        return r;
    }

    // True when the server closes the connection (EOF or reset) with nothing more to read;
    // false when bytes come, or when nothing does within the timeout (left open is not closed).
    bool closed_by_peer() {
        if (!in_.empty()) return false;
        if (!readable()) return false;
        char byte;
        ssize_t n = ::recv(fd_, &byte, 1, 0);
        if (n > 0) {
            in_.push_back(byte);
            return false;
        }
        return n == 0 || errno == ECONNRESET;
    }

    void expect_no_body(bool on) { head_only_ = on; }
    // Raw bytes after the replies (another protocol after a 101): waits up to the timeout until
    // `done(bytes so far)` holds or the connection ends, then takes them all.
    template <class Done>
    std::string read_raw_until(Done&& done) {
        while (!done(std::string_view(in_)) && fill()) {}
        return std::exchange(in_, {});
    }
    std::size_t buffered() const { return in_.size(); }

private:
    // Waits up to the timeout for bytes or the end of the connection.
    bool readable() {
        pollfd p{fd_, POLLIN, 0};
        int r;
        do {
            r = ::poll(&p, 1, timeout_ms_);
        } while (r < 0 && errno == EINTR);
        return r > 0;
    }
    bool fill() {
        if (!readable()) return false;
        char buf[65536];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        in_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    int timeout_ms_;
    bool head_only_ = false;
    std::string in_;
};

// Descriptors and threads of this process, for leak checks.
inline std::size_t count_entries(char const* dir) {
    std::size_t n = 0;
    if (DIR* d = ::opendir(dir)) {
        while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
        ::closedir(d);
    }
    return n;
}
inline std::size_t open_descriptors() { return count_entries("/proc/self/fd"); }
inline std::size_t thread_count() { return count_entries("/proc/self/task"); }

// Polls `condition` every 5 ms until it holds (true) or `limit` has passed (false).
bool wait_until(auto&& condition, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

// Reads a raw stream from `c` into `got` until `needle` has arrived (true), the peer closed or
// the time is up (then whether `needle` came anyway).
inline bool read_until(connection& c, std::string& got, std::string_view needle, int ms = 3000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (got.find(needle) == std::string::npos) {
        if (std::chrono::steady_clock::now() > end) return false;
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        char buf[8192];
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) return got.find(needle) != std::string::npos;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

// A slow pipeliner: sends `count` copies of `request`, each head ending `gap` after it began and
// the next one's first bytes (8) going with that end, so that a head is always under way.
// `send(bytes)` returns false once the connection is gone. How long the sending took, or
// nullopt if a send failed.
inline std::optional<std::chrono::steady_clock::duration> pipeline_heads_slowly(auto&& send, std::string const& request,
                                                                                int count,
                                                                                std::chrono::milliseconds gap) {
    std::string const first = request.substr(0, 8), rest = request.substr(8);
    if (!send(first)) return std::nullopt;
    auto start = std::chrono::steady_clock::now();
    for (int i = 1; i <= count; ++i) {
        std::this_thread::sleep_for(gap);
        if (!send(rest + (i < count ? first : std::string()))) return std::nullopt;
    }
    return std::chrono::steady_clock::now() - start;
}

}  // namespace test_client
