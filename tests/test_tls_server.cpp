// porthole::https_server over loopback sockets, with blocking OpenSSL clients: threads and
// poll() stepping, on epoll and (built again with PORTHOLE_USE_POLL) on poll(2); files and
// streams under TLS; plain HTTP, garbage, stalled and vanishing handshakes; reloads under load.
#include "server/client.hpp"
#include "tls_test_certs.hpp"
#include "websocket_support.hpp"

#include <porthole/static_files.hpp>
#include <porthole/tls.hpp>
#include <porthole/websocket.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <poll.h>

using namespace porthole;
using namespace std::chrono_literals;

namespace {

std::string path_of(char const* name) { return tls_test::shared_files().path(name); }

std::shared_ptr<tls::context> make_context(tls::config c = {}) {
    if (c.server.certificate_chain_file.empty()) c.server = {path_of("server.pem"), path_of("server.key")};
    return std::make_shared<tls::context>(std::move(c));
}

int open_descriptors() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

// Reads until the server closes the connection (true) or 10 s pass (false).
bool ends(int fd) {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) <= 0) return false;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return true;
    }
}

int connect_to(std::uint16_t port) {
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
int socket_connected_to(int fd) {
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

server_options test_options(collected_log* log = nullptr) {
    server_options o;
    o.port = 0;
    o.threads = 2;
    if (log) o.error_log = log->function();
    return o;
}

}  // namespace

TEST_CASE("HTTPS on loop threads: TLS 1.3 and 1.2, keep-alive and pipelining; the request knows it is secure") {
    hello_app app;
    https_server<hello_app&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        SSL_CTX_set_max_proto_version(client.ctx, v);
        tls_conn c(s.port(), client.ctx);
        REQUIRE(c.ok());
        CHECK(SSL_version(c.ssl()) == v);
        for (int i = 0; i < 20; ++i)
            CHECK(c.get("/n" + std::to_string(i)).body == "secure /n" + std::to_string(i) + " []");
        std::string pipelined;
        for (int i = 0; i < 10; ++i)
            pipelined += "GET /p" + std::to_string(i) +
                         " HTTP/1.1\r\nHost: localhost\r\n\r\n";  // a loopback name: others get 421
        REQUIRE(c.send(pipelined));
        auto rs = c.read(10);
        REQUIRE(rs.size() == 10);
        CHECK(rs[9].body == "secure /p9 []");
        // An "https" target is served over TLS (plain TCP answers it 421: test_connection.cpp).
        CHECK(c.get("https://localhost/abs").body == "secure /abs []");
    }
    s.stop();
}

// close_notify goes out with the last records of a closing connection (one send; bench/tls_bench.py
// and strace show the count): here, that it still comes after the whole response, never before
// the end of a streamed one, and ends the session cleanly.
TEST_CASE("Connection: close: the last response, then close_notify (RFC 8446 section 6.1), on TLS 1.3 and 1.2") {
    hello_app app;
    https_server<hello_app&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        for (std::string target : {"/short", "/stream"}) {
            CAPTURE(v);
            CAPTURE(target);
            SSL_CTX_set_max_proto_version(client.ctx, v);
            tls_conn c(s.port(), client.ctx);
            REQUIRE(c.ok());
            REQUIRE(c.send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
            auto rs = c.read(1);
            REQUIRE(rs.size() == 1);
            CHECK(rs.front().complete);
            CHECK(rs.front().body.size() == (target == "/stream" ? 50000u : std::string("secure /short []").size()));
            CHECK(c.reads_close_notify());
        }
    }
    s.stop();
}

TEST_CASE("a client's close_notify ends its input only: requests in the same read are answered, then close_notify") {
    hello_app app;
    https_server<hello_app&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        for (int requests : {0, 1, 5}) {
            CAPTURE(v);
            CAPTURE(requests);
            SSL_CTX_set_max_proto_version(client.ctx, v);
            tls_conn c(s.port(), client.ctx);
            REQUIRE(c.ok());
            if (requests > 0) REQUIRE(c.get("/warm").status == 200);  // the session is well under way
            std::string pipelined;
            for (int i = 0; i < requests; ++i)
                pipelined += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
            REQUIRE(c.send_then_close_notify(pipelined));
            auto rs = c.read(static_cast<std::size_t>(requests));
            REQUIRE(rs.size() == static_cast<std::size_t>(requests));
            for (int i = 0; i < requests; ++i)
                CHECK(rs[static_cast<std::size_t>(i)].body == "secure /r" + std::to_string(i) + " []");
            CHECK(c.reads_close_notify());
        }
    }
    s.stop();
}

TEST_CASE("a client's close_notify read behind an answer that fills the output is the end of input all the same") {
    // The records after the large answer's request wait, read, until its output drains; the
    // close_notify among them was not taken for the end of input when they were taken up: no
    // close_notify back, the connection open until the keep-alive timeout (60 s).
    std::string const big(4u << 20, 'b');
    auto app = [&big](request const& req) { return response::text(req.path() == "/big" ? big : "small"); };
    https_server<decltype(app)&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(v);
        SSL_CTX_set_max_proto_version(client.ctx, v);
        tls_conn c(s.port(), client.ctx);
        REQUIRE(c.ok());
        timeval wait{5, 0};
        ::setsockopt(SSL_get_fd(c.ssl()), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        REQUIRE(c.send_then_close_notify(
            "GET /big HTTP/1.1\r\nHost: localhost\r\n\r\nGET /small HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        auto rs = c.read(2);
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].body.size() == big.size());
        CHECK(rs[1].body == "small");
        CHECK(c.reads_close_notify());  // within the 5 s
    }
    s.stop();
}

// Lingering close over TLS (RFC 9112 section 9.6): without it the server closes with the body
// unread, the kernel resets the connection, and the client's writes fail before it reads the 413.
TEST_CASE("lingering close over TLS: a refused upload still being sent gets its 413, close_notify, then a FIN") {
    hello_app app;
    https_server<hello_app&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(v);
        SSL_CTX_set_max_proto_version(client.ctx, v);
        tls_conn c(s.port(), client.ctx);
        REQUIRE(c.ok());
        // 8 MiB announced, past the 1 MiB limit: refused from the head, then 4 MiB sent on.
        REQUIRE(c.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8388608\r\n\r\n"));
        std::string piece(64 * 1024, 'b');
        bool all_sent = true;
        for (int i = 0; i < 64 && all_sent; ++i) all_sent = c.send(piece);
        CHECK(all_sent);
        auto rs = c.read(1);
        REQUIRE(rs.size() == 1);
        CHECK(rs.front().status == 413);
        CHECK(c.reads_close_notify());
        char buf[1];
        CHECK(::recv(SSL_get_fd(c.ssl()), buf, 1, 0) == 0);  // then a FIN, not a reset
    }
    s.stop();
}

TEST_CASE("HTTPS from the caller's thread with poll(), several clients at once") {
    hello_app app;
    https_server<hello_app&> s(app, test_options(), make_context());
    REQUIRE(s.poll(0ms));
    std::uint16_t port = s.port();
    std::atomic<int> good{0};
    std::atomic<bool> done{false};
    std::thread clients([&] {
        client_ctx client;
        std::vector<std::unique_ptr<tls_conn>> conns;
        for (int i = 0; i < 8; ++i) conns.push_back(std::make_unique<tls_conn>(port, client.ctx));
        for (int round = 0; round < 5; ++round)
            for (auto& c : conns) good += c->ok() && c->get("/x").body == "secure /x []";
        conns.clear();
        done = true;
    });
    auto until = std::chrono::steady_clock::now() + 20s;
    while (!done && std::chrono::steady_clock::now() < until) s.poll(10ms);
    clients.join();
    CHECK(good == 40);
    s.stop();
}

TEST_CASE("files and streams go out encrypted, whole, in bounded pieces") {
    tls_test::files dir;
    std::string content;
    for (int i = 0; i < 300000; ++i) content += static_cast<char>('a' + i % 26);
    content += std::string(100000, 'z');
    std::ofstream(dir.path("big.txt"), std::ios::binary) << content;
    auto files = static_files(dir.dir);
    https_server<decltype(files)&> s(files, test_options(), make_context());
    s.start();
    client_ctx client;
    tls_conn c(s.port(), client.ctx);
    REQUIRE(c.ok());
    auto r = c.get("/big.txt");
    CHECK(r.status == 200);
    CHECK(r.body.size() == content.size());
    CHECK(r.body == content);
    s.stop();

    hello_app app;
    https_server<hello_app&> s2(app, test_options(), make_context());
    s2.start();
    tls_conn c2(s2.port(), client.ctx);
    REQUIRE(c2.ok());
    auto streamed = c2.get("/stream");
    CHECK(streamed.body == std::string(50000, 's'));
    s2.stop();
}

// OpenSSL answers a KeyUpdate that asks for one with one of its own: a peer that floods them and
// reads nothing made the server read on and hold every answer (27 bytes each, without bound),
// and, since records waited, moved the connection from the header clock to the write clock.
TEST_CASE("a peer that floods KeyUpdates and reads nothing: the server stops reading; the head's clock still runs") {
    hello_app app;
    auto o = test_options();
    o.threads = 1;
    o.header_timeout = 1s;
    o.write_timeout = 30s;
    https_server<hello_app&> s(app, o, make_context());
    s.start();
    client_ctx client;
    SSL_CTX_set_min_proto_version(client.ctx, TLS1_3_VERSION);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;  // before connect(): a small window, so the server's answers wait on its side
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(s.port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    SSL* ssl = SSL_new(client.ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    REQUIRE(SSL_connect(ssl) == 1);
    // The server's end of this connection is a descriptor of this process: a small send buffer
    // there, so that its answers wait as records (the kernel would otherwise take megabytes first).
    int server_end = socket_connected_to(fd);
    REQUIRE(server_end >= 0);
    int tiny = 8192;
    REQUIRE(::setsockopt(server_end, SOL_SOCKET, SO_SNDBUF, &tiny, sizeof tiny) == 0);
    std::string_view head = "GET / HTTP/1.1\r\nHost: localhost\r\nX-A: ";  // never finished
    std::size_t n = 0;
    REQUIRE(SSL_write_ex(ssl, head.data(), head.size(), &n) == 1);
    auto started = std::chrono::steady_clock::now();
    timeval tv{0, 300000};  // a send the server no longer reads for gives up
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    // The flood ends when the server stops reading (a send blocks) or closes the connection (its
    // header clock ran out, records unread); before, it read on, holding every answer, with the
    // write clock in place of the header clock, and the flood ran out of time.
    enum { running, blocked, closed } end = running;
    long sent = 0;
    while (end == running && std::chrono::steady_clock::now() - started < 8s) {
        if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1) break;
        int r = SSL_do_handshake(ssl);
        if (r == 1) ++sent;
        else end = SSL_get_error(ssl, r) == SSL_ERROR_WANT_WRITE ? blocked : closed;
    }
    MESSAGE(sent
            << " KeyUpdates sent in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
            << " ms, then "
            << std::string(end == blocked  ? "blocked"
                           : end == closed ? "closed"
                                           : "still running"));
    CHECK(end != running);
    // The server ends the connection at its header timeout (a reset: it left the rest unread),
    // not at the write timeout (30 s).
    pollfd p{fd, POLLRDHUP, 0};
    CHECK(::poll(&p, 1, 5000) == 1);
    CHECK(std::chrono::steady_clock::now() - started < 6s);
    SSL_free(ssl);
    ::close(fd);
}

TEST_CASE("each pipelined request has a header clock of its own, over TLS too") {
    // As over plain sockets (test_server.cpp): every head ends 150 ms after it begins, the next
    // one's first bytes in the same record; none takes the header timeout, all together do.
    hello_app app;
    auto o = test_options();
    o.threads = 1;
    o.header_timeout = 1s;
    https_server<hello_app&> s(app, o, make_context());
    s.start();
    client_ctx client;
    tls_conn c(s.port(), client.ctx);
    REQUIRE(c.ok());
    constexpr int requests = 14;
    auto took = test_client::pipeline_heads_slowly([&](std::string const& bytes) { return c.send(bytes); },
                                                   "GET /p HTTP/1.1\r\nHost: localhost\r\n\r\n", requests, 150ms);
    REQUIRE(took);
    CHECK(*took > o.header_timeout * 2);
    auto rs = c.read(requests);
    int answered = 0;
    for (auto const& r : rs) answered += r.complete && r.status == 200 && r.body == "secure /p []";
    CHECK(answered == requests);  // a 408 among them: the clock ran from the first request's first byte
}

TEST_CASE("over max_connections, an HTTPS port closes a newcomer without the plain-text 503") {
    hello_app app;
    auto o = test_options();
    o.threads = 1;
    o.max_connections = 1;
    https_server<hello_app&> s(app, o, make_context());
    s.start();
    client_ctx client;
    tls_conn first(s.port(), client.ctx);
    REQUIRE(first.ok());
    CHECK(first.get("/a").status == 200);
    int fd = connect_to(s.port());
    REQUIRE(fd >= 0);
    std::string got;
    char buf[512];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    CHECK(got.empty());  // closed: no "HTTP/1.1 503" for a TLS client to take as a broken record
    ::close(fd);
    CHECK(first.get("/b").status == 200);
}

TEST_CASE("plain HTTP on the HTTPS port: a plain-text 400, closed, logged once with the peer") {
    collected_log log;
    hello_app app;
    https_server<hello_app&> s(app, test_options(&log), make_context());
    s.start();
    test_client::connection c(s.port());
    REQUIRE(c.ok());
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("HTTPS") != std::string::npos);
    CHECK(c.closed_by_peer());
    s.stop();
    CHECK(log.count("TLS: 127.0.0.1:") == 1);
    CHECK(log.count("plain HTTP request on the TLS port") == 1);
}

TEST_CASE(
    "faults: garbage, a handshake cut off, a stalled handshake, no close_notify; the server goes on, nothing leaks") {
    collected_log log;
    hello_app app;
    auto o = test_options(&log);
    o.header_timeout = 300ms;
    int before = open_descriptors();
    {
        https_server<hello_app&> s(app, o, make_context());
        s.start();
        client_ctx client;
        {  // garbage that claims to be a handshake
            test_client::connection c(s.port());
            c.send(std::string("\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00", 13));
            CHECK(ends(c.fd()));  // after an alert
        }
        {  // half a ClientHello, then the client goes away
            int fd = connect_to(s.port());
            ::send(fd, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, MSG_NOSIGNAL);
            ::close(fd);
        }
        {  // half a ClientHello, then silence: closed at the header timeout
            test_client::connection c(s.port());
            c.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
            auto t0 = std::chrono::steady_clock::now();
            CHECK(ends(c.fd()));
            CHECK(std::chrono::steady_clock::now() - t0 < 5s);
        }
        for (int i = 0; i < 20; ++i) {  // requests, then a close without close_notify
            int fd = connect_to(s.port());
            SSL* ssl = SSL_new(client.ctx);
            SSL_set_fd(ssl, fd);
            REQUIRE(SSL_connect(ssl) == 1);
            std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            std::size_t n = 0;
            SSL_write_ex(ssl, req.data(), req.size(), &n);
            ::close(fd);
            SSL_free(ssl);
        }
        tls_conn c(s.port(), client.ctx);
        REQUIRE(c.ok());
        CHECK(c.get("/still").body == "secure /still []");
        s.stop();
    }
    CHECK(open_descriptors() == before);
    CHECK(log.count("handshake failed") == 1);             // the garbage
    CHECK(log.count("closed during the handshake") == 2);  // cut off, and timed out
    CHECK(log.count("TLS: 127.0.0.1:") == 3);              // one line each, with the peer
}

TEST_CASE("failed handshakes: at most failure_lines_per_second log lines a second, the next line counts the rest") {
    collected_log log;
    hello_app app;
    https_server<hello_app&> s(app, test_options(&log), make_context());
    s.start();
    auto garbage = [&] {  // a ClientHello that is not one: an alert, a close, a log line
        test_client::connection c(s.port());
        c.send(std::string("\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00", 13));
        CHECK(ends(c.fd()));
    };
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 60; ++i) garbage();
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0).count();
    std::this_thread::sleep_for(1100ms);  // a new second: the next failure is written
    garbage();
    client_ctx client;
    tls_conn c(s.port(), client.ctx);  // a good client is served meanwhile
    REQUIRE(c.ok());
    CHECK(c.get("/fine").status == 200);
    s.stop();

    std::size_t written = 0;
    std::uint64_t left_out = 0;
    for (auto const& l : log.lines) {
        if (l.find("TLS: 127.0.0.1:") == std::string::npos) continue;
        ++written;
        if (auto at = l.find("(and "); at != std::string::npos) left_out += std::stoull(l.substr(at + 5));
    }
    CHECK(written + left_out == 61);  // every failure written or counted on a later line
    std::size_t per_second = detail::tls_transport::failure_lines_per_second;
    CHECK(written <= per_second * static_cast<std::size_t>(seconds + 2) + 1);  // each second started: at most 10
    if (seconds == 0) CHECK(left_out > 0);  // 60 in at most two seconds' budgets of 10
    CHECK(log.lines.back().find("TLS: 127.0.0.1:") != std::string::npos);
    // The count rides on the first line written after a second's budget ran out; which line that is depends on
    // where the burst crossed a second, so it is looked for on any line.
    if (left_out > 0) CHECK(log.count("more TLS failures not logged)") >= 1);
}

TEST_CASE("a reload under load: every request is answered, new handshakes get the new certificate") {
    tls_test::files dir;
    auto copy = [&](char const* from, char const* to) {
        std::filesystem::copy_file(path_of(from), dir.path(to), std::filesystem::copy_options::overwrite_existing);
    };
    copy("server.pem", "live.pem");
    copy("server.key", "live.key");
    tls::config cfg;
    cfg.server = {dir.path("live.pem"), dir.path("live.key")};
    auto context = make_context(cfg);
    hello_app app;
    https_server<hello_app&> s(app, test_options(), context);
    s.start();
    std::atomic<int> good{0}, bad{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    for (int t = 0; t < 3; ++t)
        load.emplace_back([&] {
            client_ctx client;
            SSL_CTX_set_verify(client.ctx, SSL_VERIFY_NONE, nullptr);
            while (!stop) {
                tls_conn c(s.port(), client.ctx);
                for (int i = 0; i < 3; ++i) (c.ok() && c.get("/r").status == 200 ? good : bad)++;
            }
        });
    std::this_thread::sleep_for(200ms);
    copy("other.pem", "live.pem");
    copy("other.key", "live.key");
    for (int i = 0; i < 5; ++i) {
        context->reload();
        std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(200ms);
    stop = true;
    for (auto& t : load) t.join();
    CHECK(bad == 0);
    CHECK(good > 30);
    client_ctx client;
    SSL_CTX_set_verify(client.ctx, SSL_VERIFY_NONE, nullptr);
    tls_conn c(s.port(), client.ctx);
    REQUIRE(c.ok());
    X509* cert = SSL_get0_peer_certificate(c.ssl());
    char cn[64] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    CHECK(std::string(cn) == "other.test");
    s.stop();
}

TEST_CASE("mutual TLS over sockets: the subject reaches the application; no certificate, no request") {
    tls::config cfg;
    cfg.verify_clients = tls::client_certificates::required;
    cfg.client_ca_file = path_of("ca.pem");
    collected_log log;
    hello_app app;
    https_server<hello_app&> s(app, test_options(&log), make_context(cfg));
    s.start();
    client_ctx with;
    SSL_CTX_use_certificate_file(with.ctx, path_of("client.pem").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(with.ctx, path_of("client.key").c_str(), SSL_FILETYPE_PEM);
    tls_conn c(s.port(), with.ctx);
    REQUIRE(c.ok());
    CHECK(c.get("/me").body == "secure /me [CN=alice,O=porthole tests]");
    client_ctx without;
    tls_conn d(s.port(), without.ctx);
    CHECK(d.get("/me").status == 0);
    s.stop();
    CHECK(log.count("handshake failed") == 1);
}

TEST_CASE("stop() with HTTPS connections open: idle ones close, the server ends") {
    hello_app app;
    https_server<hello_app&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    std::vector<std::unique_ptr<tls_conn>> conns;
    for (int i = 0; i < 10; ++i) {
        conns.push_back(std::make_unique<tls_conn>(s.port(), client.ctx));
        REQUIRE(conns.back()->get("/").status == 200);
    }
    auto t0 = std::chrono::steady_clock::now();
    s.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
}

TEST_CASE("WebSocket over TLS (wss): the upgrade, echo, and a stop's 1001 go through the same transport") {
    auto app = router{websocket<"/ws">({
        .on_open = [](ws::session& s, request const& req) { s.send_text(req.secure() ? "secure" : "plain"); },
        .on_text = [](ws::session& s, std::string_view m) { s.send_text(m); },
    })};
    https_server<decltype(app)&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    tls_conn c(s.port(), client.ctx);
    REQUIRE(c.ok());
    REQUIRE(
        c.send("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
    std::string big(40000, 'w');  // several TLS records each way
    REQUIRE(c.send(ws_support::text(big)));
    auto frames_in = [](std::string_view raw) {
        auto at = raw.find("\r\n\r\n");
        return at == std::string_view::npos ? std::vector<ws_support::recorded_event>{}
                                            : ws_support::read_server_output(raw.substr(at + 4));
    };
    auto raw = c.read_until([&](std::string_view r) { return frames_in(r).size() >= 2; });
    CHECK(raw.rfind("HTTP/1.1 101 ", 0) == 0);
    auto frames = frames_in(raw);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].data == "secure");
    CHECK(frames[1].data == big);
    std::thread stopper([&] { s.stop(); });
    raw = c.read_until([&](std::string_view r) { return frames_in(r).size() >= 3; });
    frames = frames_in(raw);
    REQUIRE(frames.size() == 3);
    CHECK(frames[2].type == ws::event_type::close);
    CHECK(frames[2].code == 1001);
    CHECK(c.send(ws_support::close_frame(1001)));
    stopper.join();
}

TEST_CASE("wss: a client reading a large message slowly but steadily outlives unanswered pings") {
    // As over plain TCP (test_websocket.cpp), with TLS's own records waiting beside the socket's.
    std::size_t const size = 4u << 20;
    std::string const message(size, 'm');
    auto app =
        router{websocket<"/big">({.on_open = [&](ws::session& s, request const&) { (void)s.send_binary(message); }})};
    auto o = test_options();
    o.websocket_ping_interval = 200ms;
    https_server<decltype(app)&> s(app, o, make_context());
    s.start();
    client_ctx client;
    tls_conn c(s.port(), client.ctx);
    REQUIRE(c.ok());
    int small = 64 * 1024;
    ::setsockopt(SSL_get_fd(c.ssl()), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    REQUIRE(
        c.send("GET /big HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
    auto frames_in = [](std::string_view raw) {
        auto at = raw.find("\r\n\r\n");
        return at == std::string_view::npos ? std::vector<ws_support::recorded_event>{}
                                            : ws_support::read_server_output(raw.substr(at + 4));
    };
    std::string in;
    char buf[16 * 1024];
    auto deadline = std::chrono::steady_clock::now() + 20s;
    // At most 16 KiB every 5 ms: more than a second for the message.
    while (std::chrono::steady_clock::now() < deadline) {
        std::size_t n = 0;
        if (SSL_read_ex(c.ssl(), buf, sizeof buf, &n) != 1) break;  // given up
        in.append(buf, n);
        std::this_thread::sleep_for(5ms);
        auto at = in.find("\r\n\r\n");
        if (at != std::string::npos && in.size() >= at + 4 + 10 + size + 2) break;  // the ping too
    }
    auto frames = frames_in(in);
    REQUIRE(frames.size() >= 2);
    CHECK(frames[0].data.size() == size);
    CHECK(frames[1].type == ws::event_type::ping);
    // Still open: a ping of the client's own is answered.
    REQUIRE(c.send(ws_support::client_frame(ws::opcode::ping, "alive")));
    std::string tail;
    while (std::chrono::steady_clock::now() < deadline) {
        std::size_t n = 0;
        if (SSL_read_ex(c.ssl(), buf, sizeof buf, &n) != 1) break;
        tail.append(buf, n);
        auto got = ws_support::read_server_output(tail);
        if (!got.empty() && got.back().type == ws::event_type::pong) break;
    }
    auto got = ws_support::read_server_output(tail);
    REQUIRE_FALSE(got.empty());
    CHECK(got.back() == ws_support::recorded_event{ws::event_type::pong, "alive"});
    s.stop();
}
