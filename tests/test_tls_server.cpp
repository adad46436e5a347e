// porthole::https_server over loopback sockets, with blocking OpenSSL clients: threads and
// poll() stepping, on epoll and (built again with PORTHOLE_USE_POLL) on poll(2); plain HTTP,
// garbage, stalled and vanishing handshakes; reloads under load; wss. What goes out (files,
// streams, the last records and close_notify): test_tls_server_output.cpp.
#include "server/client.hpp"
#include "tls_server_support.hpp"
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
using namespace tls_server_test;
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

TEST_CASE("wss: a message followed at once by the client's close_notify is answered, as before a FIN") {
    // The end of input was told to the WebSocket connection before what the message's callback
    // queued was encrypted: no echo, only the server's close_notify (over TCP, the echo came).
    // An echo longer than one wake-up's writes (1 MiB) was cut there, then close_notify.
    auto app = router{websocket<"/ws">({.on_open = [](ws::session& s, request const&) { s.send_text("open"); },
                                        .on_text = [](ws::session& s, std::string_view m) { s.send_text(m); }},
                                       {.limits = {.max_message_size = 8u << 20, .max_queued_output = 8u << 20}})};
    https_server<decltype(app)&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    for (int v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        for (std::size_t size : {std::size_t{7}, std::size_t{1536} * 1024}) {
            CAPTURE(v);
            CAPTURE(size);
            SSL_CTX_set_max_proto_version(client.ctx, v);
            tls_conn c(s.port(), client.ctx);
            REQUIRE(c.ok());
            REQUIRE(
                c.send("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            auto frames_in = [](std::string_view raw) {
                auto at = raw.find("\r\n\r\n");
                return at == std::string_view::npos ? std::vector<ws_support::recorded_event>{}
                                                    : ws_support::read_server_output(raw.substr(at + 4));
            };
            c.read_until([&](std::string_view r) { return !frames_in(r).empty(); });
            std::string message(size, 'e');
            REQUIRE(c.send_then_close_notify(ws_support::text(message)));
            auto raw = c.read_until([&](std::string_view r) { return frames_in(r).size() >= 2; });
            CAPTURE(raw.size());
            auto frames = frames_in(raw);
            REQUIRE(frames.size() >= 2);
            CHECK(frames[1].data.size() == size);
            CHECK(frames[1].data == message);
        }
    }
    s.stop();
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
