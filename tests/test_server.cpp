// The server over real loopback sockets. Built twice: with the default back end (epoll on
// Linux) and with PORTHOLE_USE_POLL (the portable poll(2) back end).
#include <porthole/server.hpp>

#include "server/client.hpp"
#include "server/test_app.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace std::chrono_literals;
using porthole::request;
using porthole::response;
using porthole::status;
using test_client::connection;
using test_server::test_app;
using test_server::test_options;
using test_server::thread_name;

TEST_CASE("port 0 picks a free port, port() tells it, and the server answers there") {
    porthole::server s(test_app, test_options());
    CHECK(s.port() == 0);
    s.start();
    REQUIRE(s.port() != 0);
    connection c(s.port());
    REQUIRE(c.ok());
    REQUIRE(c.get("/"));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "Hello, World!");
    CHECK(r->header("Date").size() == 29);
    REQUIRE(c.get("/missing"));
    r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 404);
}

TEST_CASE("options() gives back the options the server was made with") {
    auto o = test_options();
    o.threads = 3;
    o.limits.max_header_bytes = 12345;
    porthole::server s(test_app, o);
    CHECK(s.options().threads == 3);
    CHECK(s.options().limits.max_header_bytes == 12345);
    CHECK(s.options().port == 0);
}

TEST_CASE("a port in use is refused, not shared, with either listener layout") {
    porthole::server first(test_app, test_options(2));
    first.start();
    for (bool per_loop : {true, false}) {
        auto o = test_options(2);
        o.port = first.port();
        o.listener_per_thread = per_loop;
        porthole::server second(test_app, o);
        CHECK_THROWS_AS(second.start(), std::system_error);
        CHECK(second.port() == 0);
    }
}

TEST_CASE("a keep-alive connection serves many requests in turn") {
    porthole::server s(test_app, test_options());
    s.start();
    connection c(s.port());
    for (int i = 0; i < 200; ++i) {
        REQUIRE(c.get("/echo/" + std::to_string(i)));
        auto r = c.read_reply();
        REQUIRE(r);
        CHECK(r->body == std::to_string(i));
    }
}

TEST_CASE("pipelined requests are all answered, in order") {
    porthole::server s(test_app, test_options());
    s.start();
    connection c(s.port());
    std::string batch;
    for (int i = 0; i < 300; ++i) batch += "GET /echo/" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    REQUIRE(c.send(batch));
    for (int i = 0; i < 300; ++i) {
        auto r = c.read_reply();
        REQUIRE(r);
        CHECK(r->body == std::to_string(i));
    }
}

TEST_CASE("200 concurrent keep-alive clients are all served") {
    porthole::server s(test_app, test_options());
    s.start();
    constexpr int clients = 200, rounds = 5;
    std::vector<connection> conns;
    for (int i = 0; i < clients; ++i) conns.emplace_back(s.port());
    int good = 0;
    for (int round = 0; round < rounds; ++round) {
        for (int i = 0; i < clients; ++i) conns[i].get("/echo/" + std::to_string(i * 10 + round));
        for (int i = 0; i < clients; ++i) {
            auto r = conns[i].read_reply();
            good += r && r->status == 200 && r->body == std::to_string(i * 10 + round);
        }
    }
    CHECK(good == clients * rounds);
}

TEST_CASE("a client that does not read does not hold up the others") {
    porthole::server s(test_app, test_options(1));  // one loop: the slow client shares it
    s.start();
    connection slow(s.port());
    std::string many;
    for (int i = 0; i < 8; ++i) many += "GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n";  // 64 MiB of answers
    REQUIRE(slow.send(many));
    std::this_thread::sleep_for(100ms);
    connection fast(s.port());
    for (int i = 0; i < 50; ++i) {
        REQUIRE(fast.get("/"));
        auto r = fast.read_reply();
        REQUIRE(r);
        CHECK(r->status == 200);
    }
    // The slow client gets every byte once it reads.
    for (int i = 0; i < 8; ++i) {
        auto r = slow.read_reply();
        REQUIRE(r);
        CHECK(r->body.size() == (8u << 20));
    }
}

TEST_CASE("connections beyond max_connections get 503 and the others go on") {
    auto o = test_options(1);
    o.max_connections = 3;
    porthole::server s(test_app, o);
    s.start();
    std::vector<connection> held;
    for (int i = 0; i < 3; ++i) {
        held.emplace_back(s.port());
        REQUIRE(held.back().get("/"));
        REQUIRE(held.back().read_reply());  // accepted and answered: counted
    }
    connection extra(s.port());
    REQUIRE(extra.ok());
    extra.get("/");
    auto r = extra.read_reply();
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->header("Connection") == "close");
    // The one error page, response::error's, though written without a connection.
    auto const page = porthole::response::error(porthole::status::service_unavailable);
    CHECK(r->header("Content-Type") == page.content_type());
    CHECK(r->body == std::get<std::string_view>(page.body()));
    CHECK(extra.closed_by_peer());
    // The held ones still work, and a freed slot is taken by the next client.
    REQUIRE(held[0].get("/"));
    REQUIRE(held[0].read_reply());
    held.back().close();
    CHECK(test_client::wait_until(
        [&] {
            connection again(s.port());
            again.get("/");
            auto a = again.read_reply();
            return a && a->status == 200;
        },
        10s));
}

TEST_CASE("a client that trickles its request head is closed at the header timeout") {
    auto o = test_options(1);
    o.header_timeout = 300ms;
    porthole::server s(test_app, o);
    s.start();
    connection slow(s.port());
    REQUIRE(slow.send("GET / HTTP/1.1\r\n"));
    bool closed = false;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100 && !closed; ++i) {  // one header line every 50 ms: never done
        std::this_thread::sleep_for(50ms);
        closed = !slow.send("X-Slow: " + std::to_string(i) + "\r\n");
        pollfd p{slow.fd(), POLLIN, 0};
        closed = closed || ::poll(&p, 1, 0) == 1;
    }
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - start < 4s);  // far below the 5 s the client would go on
    auto r = slow.read_reply();
    if (r) CHECK(r->status == 408);
    CHECK(slow.closed_by_peer());
    connection fine(s.port());  // and it held no thread: the one loop still serves
    REQUIRE(fine.get("/"));
    REQUIRE(fine.read_reply());
}

TEST_CASE("each pipelined request has a header clock of its own") {
    // Each head ends 150 ms after it begins, the next one's first bytes coming with the end of
    // the one before, so the server is never without a head under way: no head takes the header
    // timeout, though all of them together take twice as long.
    auto o = test_options(1);
    o.header_timeout = 1s;
    porthole::server s(test_app, o);
    s.start();
    connection c(s.port());
    constexpr int requests = 14;
    auto took = test_client::pipeline_heads_slowly([&](std::string const& bytes) { return c.send(bytes); },
                                                   "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", requests, 150ms);
    REQUIRE(took);
    CHECK(*took > o.header_timeout * 2);
    int answered = 0;
    for (int i = 0; i < requests; ++i) {
        auto r = c.read_reply();
        if (!r) break;
        CHECK(r->status == 200);  // a 408 here: the clock ran from the first request's first byte
        answered += r->status == 200;
    }
    CHECK(answered == requests);
}

TEST_CASE("an idle keep-alive connection is closed at the keep-alive timeout") {
    auto o = test_options(1);
    o.keep_alive_timeout = 200ms;
    porthole::server s(test_app, o);
    s.start();
    connection c(s.port());
    REQUIRE(c.get("/"));
    REQUIRE(c.read_reply());
    CHECK(c.closed_by_peer());
}

TEST_CASE("a handler that throws gives 500 and the server keeps serving") {
    auto o = test_options(1);
    o.error_log = [](std::string_view) {};
    porthole::server s(test_app, o);
    s.start();
    for (int i = 0; i < 3; ++i) {
        connection c(s.port());
        REQUIRE(c.get("/throw"));
        auto r = c.read_reply();
        REQUIRE(r);
        CHECK(r->status == 500);
    }
    connection c(s.port());
    REQUIRE(c.get("/"));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 200);
}

TEST_CASE("stop() finishes the requests in flight, closes idle connections and stops accepting") {
    porthole::server s(test_app, test_options(2));
    s.start();
    auto port = s.port();
    connection idle(port);
    REQUIRE(idle.get("/"));
    REQUIRE(idle.read_reply());
    constexpr int n = 10;
    std::vector<connection> busy;
    for (int i = 0; i < n; ++i) {
        busy.emplace_back(port);
        REQUIRE(busy.back().get("/slow"));
    }
    std::this_thread::sleep_for(100ms);  // the handlers are running (or queued on their loop)
    s.stop();
    int whole = 0;
    for (auto& c : busy) {
        auto r = c.read_reply();
        whole += r && r->status == 200 && r->body == "slow";
    }
    CHECK(whole == n);
    CHECK(idle.closed_by_peer());
    connection late(port);
    CHECK((!late.ok() || (late.get("/"), !late.read_reply())));
}

TEST_CASE("stop() gives up on unfinished requests after the drain timeout: 503, then close") {
    auto o = test_options(1);
    o.drain_timeout = 200ms;
    porthole::server s(test_app, o);
    s.start();
    connection stuck(s.port());
    REQUIRE(stuck.send("GET / HTTP/1.1\r\nHost: localhost\r\n"));  // never finishes its head
    connection uploading(s.port());                                // nor its body
    REQUIRE(uploading.send("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n" +
                           std::string(1000, 'x')));
    std::this_thread::sleep_for(50ms);
    auto t0 = std::chrono::steady_clock::now();
    s.stop();
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 150ms);
    CHECK(took < 5s);
    for (auto* c : {&stuck, &uploading}) {
        auto r = c->read_reply();
        REQUIRE(r);
        CHECK(r->status == 503);  // the server is going away, not the client too slow (408)
        CHECK(c->closed_by_peer());
    }
}

// A server refuses connections beyond what its descriptor limit leaves room for while a
// descriptor is still free to accept and answer them; the hardening test
// test_out_of_descriptors_the_server_sheds_and_recovers runs it at 256 descriptors.
TEST_CASE("max_connections is lowered to what the descriptor limit leaves room for") {
    using porthole::detail::connection_limit_for;
    CHECK(connection_limit_for(10000, 256, 2, 1) == 256 - 64 - 2 * 4);
    CHECK(connection_limit_for(10000, 1024, 1, 3) == 1024 - 64 - 6);  // three addresses
    CHECK(connection_limit_for(100, 1024, 4, 1) == 100);              // the user's limit is lower
    CHECK(connection_limit_for(10000, 40, 8, 1) == 20);               // never below half the limit
    CHECK(connection_limit_for(10000, SIZE_MAX, 2, 1) == 10000);      // no limit
}

// The fallback when the program's own descriptors fill the table (the test lowers its soft limit
// and opens /dev/null until EMFILE, leaving room for one client socket): an idle keep-alive
// connection is closed to make room; without one, the loop gives up its reserved descriptor to
// accept each new connection and answer it 503; it serves again once descriptors come back. One
// thread: with several, a loop's freed descriptor may go to another's accept.
TEST_CASE("out of descriptors: an idle connection makes room, else new ones are refused from the reserve") {
    porthole::server s(test_app, test_options(1));
    s.start();
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    struct table_filler {  // gives the descriptors and the limit back however the test ends
        rlimit saved;
        std::vector<int> fds;
        ~table_filler() { empty(); }
        void empty() {
            for (int fd : fds) ::close(fd);
            fds.clear();
            ::setrlimit(RLIMIT_NOFILE, &saved);
        }
    } filled{saved, {}};
    std::vector<int>& filler = filled.fds;
    auto fill_table = [&] {
        rlimit low = saved;
        low.rlim_cur = static_cast<rlim_t>(test_client::open_descriptors() + 64);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
        for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) filler.push_back(fd);
        REQUIRE(errno == EMFILE);
        ::close(filler.back());  // room for one client socket at a time
        filler.pop_back();
    };
    auto empty_table = [&] { filled.empty(); };

    fill_table();
    for (int i = 0; i < 3; ++i) {
        connection c(s.port());
        REQUIRE(c.ok());
        c.get("/");
        auto r = c.read_reply();
        if (r) CHECK(r->status == 503);  // or a reset that overtook the answer
        CHECK(c.closed_by_peer());
    }
    empty_table();
    CHECK(test_client::wait_until(
        [&] {
            connection c(s.port());
            auto r = c.get("/") ? c.read_reply() : std::nullopt;
            return r && r->status == 200;
        },
        5s));

    connection idle(s.port());
    REQUIRE(idle.get("/"));
    REQUIRE(idle.read_reply());
    fill_table();
    {
        connection c(s.port());
        REQUIRE(c.get("/"));
        auto r = c.read_reply();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(idle.closed_by_peer());
    }
    empty_table();
    s.stop();
}

TEST_CASE("start and stop 100 times leak no descriptors and no threads") {
    auto fds = test_client::open_descriptors();
    auto threads = test_client::thread_count();
    for (int i = 0; i < 100; ++i) {
        porthole::server s(test_app, test_options(2));
        s.start();
        if (i % 10 == 0) {
            connection c(s.port());
            c.get("/");
            CHECK(c.read_reply());
        }
        s.stop();
    }
    CHECK(test_client::open_descriptors() == fds);
    // A joined thread may still be listed for a moment (the kernel wakes the joiner before it
    // removes the thread), here or when the count before was taken: a leak would stay, and grow.
    CHECK(test_client::wait_until([&] { return test_client::thread_count() <= threads; }, 2s));
}

TEST_CASE("one server object starts again after it stopped") {
    porthole::server s(test_app, test_options(1));
    for (int i = 0; i < 3; ++i) {
        s.start();
        connection c(s.port());
        REQUIRE(c.get("/"));
        CHECK(c.read_reply());
        s.stop();
        CHECK(s.port() == 0);
    }
}

TEST_CASE("files go out whole (sendfile on Linux) and a vanished reader costs nothing") {
    char path[] = "/tmp/porthole-test-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    std::string content;
    for (int i = 0; i < 300000; ++i) content += static_cast<char>('a' + i % 26);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    std::string file = path;
    porthole::server s([&](request const&) { return *response::file(file, "text/plain"); }, test_options(1));
    s.start();
    {
        connection gone(s.port());
        gone.get("/");
        // closes without reading: the server must see EPIPE/ECONNRESET, not die of SIGPIPE
    }
    connection c(s.port());
    for (int i = 0; i < 3; ++i) {
        REQUIRE(c.get("/"));
        auto r = c.read_reply();
        REQUIRE(r);
        CHECK(r->body == content);
    }
    ::unlink(path);
}

TEST_CASE("a streamed body goes out chunk by chunk, produced only as the reader takes it") {
    constexpr int pieces = 4000;  // 4000 x 16 KiB = 64 MiB; socket buffers hold a few MiB
    std::atomic<int> produced{0};
    auto app = [&](request const&) {
        auto n = std::make_shared<int>(0);
        return response::stream([n, &produced]() -> std::optional<std::string> {
            if (*n == pieces) return std::nullopt;
            ++*n;
            ++produced;
            return std::string(16384, static_cast<char>('a' + *n % 26));
        });
    };
    porthole::server s(app, test_options(1));
    s.start();
    connection c(s.port());
    REQUIRE(c.get("/"));
    std::this_thread::sleep_for(200ms);   // the client does not read yet
    CHECK(produced.load() < pieces / 4);  // so the producer is held back, not run to the end
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->body.size() == std::size_t{pieces} * 16384);
    CHECK(produced.load() == pieces);
}

TEST_CASE("a stream slower than its reader takes turns with the loop's other connections") {
    // Its reader keeps up, so the socket never fills: the loop wrote on until the stream's end
    // (a large file compressed as it goes held every other client of its loop for minutes).
    test_server::slow_stream_app app;
    constexpr int pieces = test_server::slow_stream_app::pieces;
    auto& produced = app.produced;
    porthole::server<test_server::slow_stream_app&> s(app, test_options(1));  // one loop: both clients on it
    s.start();
    connection slow(s.port());
    REQUIRE(slow.get("/stream"));
    std::atomic<bool> done{false};
    std::thread reader([&] {
        auto r = slow.read_reply();
        CHECK((r && r->body.size() == std::size_t{pieces} * 100));
        done = true;
    });
    while (produced.load() < 10) std::this_thread::sleep_for(1ms);
    connection other(s.port());
    REQUIRE(other.get("/small"));
    auto r = other.read_reply();
    int when = produced.load();
    REQUIRE(r);
    CHECK(r->body == "small");
    CHECK(when < pieces / 2);  // answered while the stream went on, not after its end
    reader.join();
    CHECK(done.load());
}

TEST_CASE("the Common Log Format writer logs one line per request") {
    std::FILE* log = std::tmpfile();
    REQUIRE(log);
    auto o = test_options(1);
    o.access_log = porthole::common_log(log);
    {
        porthole::server s(test_app, o);
        s.start();
        connection c(s.port());
        c.get("/echo/x?y=1");
        CHECK(c.read_reply());
        c.get("/missing");
        CHECK(c.read_reply());
        s.stop();
    }
    std::fflush(log);
    std::rewind(log);
    char line[512];
    std::vector<std::string> lines;
    while (std::fgets(line, sizeof line, log)) lines.emplace_back(line);
    std::fclose(log);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].starts_with("127.0.0.1 - - ["));
    CHECK(lines[0].find("] \"GET /echo/x?y=1 HTTP/1.1\" 200 1\n") != std::string::npos);
    CHECK(lines[1].find("\"GET /missing HTTP/1.1\" 404 ") != std::string::npos);
}

TEST_CASE("one listener per loop and one shared listener both serve every client") {
    for (bool per_loop : {true, false}) {
        auto o = test_options(2);
        o.listener_per_thread = per_loop;
        porthole::server s(test_app, o);
        s.start();
        int good = 0;
        for (int i = 0; i < 40; ++i) {
            connection c(s.port());
            c.get("/");
            auto r = c.read_reply();
            good += r && r->status == 200;
        }
        CHECK(good == 40);
    }
}

TEST_CASE("request::peer() is the client's address and port, IPv4 and IPv6") {
    auto peer_app = [](request const& r) { return response::text(std::string(r.peer())); };
    auto local_name = [](int fd) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
        char host[INET6_ADDRSTRLEN] = {};
        if (ss.ss_family == AF_INET6) {
            auto const& a = reinterpret_cast<sockaddr_in6 const&>(ss);
            ::inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
            return "[" + std::string(host) + "]:" + std::to_string(ntohs(a.sin6_port));
        }
        auto const& a = reinterpret_cast<sockaddr_in const&>(ss);
        ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
    };
    {
        porthole::server s(peer_app, test_options(1));
        s.start();
        connection c(s.port());
        REQUIRE(c.ok());
        c.get("/");
        auto r = c.read_reply();
        REQUIRE(r);
        CHECK(r->body == local_name(c.fd()));
        CHECK(r->body.starts_with("127.0.0.1:"));
    }
    auto o = test_options(1);
    o.address = "::1";
    std::optional<porthole::server<decltype(peer_app)>> s;
    try {
        s.emplace(peer_app, o);
        s->start();
    } catch (std::system_error const&) {
        MESSAGE("no IPv6 loopback here: the IPv6 half is skipped");
        return;
    }
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(s->port());
    sa.sin6_addr = in6addr_loopback;
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    std::string req = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    auto expected = local_name(fd);
    ::close(fd);
    CHECK(expected == "[::1]:" + expected.substr(6));
    CHECK(got.ends_with("\r\n\r\n" + expected));
}

TEST_CASE("lingering close: a refused upload still being sent gets its 413, then the connection's end, not a reset") {
    porthole::server s(test_app, test_options(1));
    s.start();
    connection c(s.port());
    REQUIRE(c.ok());
    // 8 MiB announced, past the 1 MiB limit: refused from the head. The client sends on; the
    // server, which will not read the body, must not reset the connection under it.
    REQUIRE(c.send("POST /echo/x HTTP/1.1\r\nHost: t\r\nContent-Length: 8388608\r\n\r\n"));
    std::string piece(64 * 1024, 'b');
    bool all_sent = true;
    for (int i = 0; i < 64 && all_sent; ++i) all_sent = c.send(piece);  // 4 MiB, far past any buffer
    CHECK(all_sent);
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 413);
    char byte;
    CHECK(::recv(c.fd(), &byte, 1, 0) == 0);  // the end of the answer: a FIN, not a reset
}

TEST_CASE("lingering close ends: a peer that sends forever after its refusal is closed within seconds") {
    porthole::server s(test_app, test_options(1));
    s.start();
    connection c(s.port());
    REQUIRE(c.ok());
    REQUIRE(c.send("POST /echo/x HTTP/1.1\r\nHost: t\r\nContent-Length: 8388608\r\n\r\n"));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 413);
    std::string piece(1024, 'b');
    auto start = std::chrono::steady_clock::now();
    bool refused = false;
    while (!refused && std::chrono::steady_clock::now() - start < 20s) {
        refused = !c.send(piece);
        std::this_thread::sleep_for(20ms);
    }
    CHECK(refused);  // the server gave up on the body
}
