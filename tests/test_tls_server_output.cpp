// What porthole::https_server sends, over loopback sockets with blocking OpenSSL clients, on
// epoll and (built again with PORTHOLE_USE_POLL) on poll(2): files and streams encrypted whole,
// turns between connections, the last records then close_notify, lingering close.
#include "server/client.hpp"
#include "server/test_app.hpp"
#include "tls_server_support.hpp"

#include <porthole/static_files.hpp>
#include <porthole/tls.hpp>

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

TEST_CASE("a stream slower than its reader takes turns with the loop's other connections, over TLS too") {
    // Its reader keeps up, so the socket never fills: the loop encrypted and wrote on until the
    // stream's end, every other client of its loop waiting.
    test_server::slow_stream_app app;
    constexpr int pieces = test_server::slow_stream_app::pieces;
    auto& produced = app.produced;
    auto o = test_options();
    o.threads = 1;  // one loop: both clients on it
    https_server<test_server::slow_stream_app&> s(app, o, make_context());
    s.start();
    client_ctx client;
    tls_conn slow(s.port(), client.ctx);
    REQUIRE(slow.ok());
    REQUIRE(slow.send("GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    std::thread reader([&] {
        auto rs = slow.read(1);
        CHECK((rs.size() == 1 && rs[0].body.size() == std::size_t{pieces} * 100));
    });
    while (produced.load() < 10) std::this_thread::sleep_for(1ms);
    tls_conn other(s.port(), client.ctx);
    REQUIRE(other.ok());
    auto r = other.get("/small");
    int when = produced.load();
    CHECK(r.body == "small");
    CHECK(when < pieces / 2);  // answered while the stream went on, not after its end
    reader.join();
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

TEST_CASE("close_notify still ends a lingering close when the write budget runs out on the last record") {
    // The budget spent on the answer's last piece deferred the connection before close_notify,
    // and the lingering close that followed freed the session without it (a bare FIN).
    std::size_t size = 0;
    auto app = [&](request const&) { return response::text(std::string(size, 'a')); };
    https_server<decltype(app)&> s(app, test_options(), make_context());
    s.start();
    client_ctx client;
    for (std::size_t k : {14, 15, 30, 31}) {
        for (std::size_t d : {0, 1, 199, 200}) {
            size = k * 65536 + 1 - d;
            CAPTURE(size);
            tls_conn c(s.port(), client.ctx);
            REQUIRE(c.ok());
            // A request behind the closing one: the connection closes with input unread (lingers).
            REQUIRE(
                c.send("GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                       "GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n"));
            auto rs = c.read(1);
            REQUIRE(rs.size() == 1);
            CHECK(rs[0].body.size() == size);
            CHECK(c.reads_close_notify());
        }
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
