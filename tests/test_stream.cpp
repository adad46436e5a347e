// Live streams: a producer that may have nothing yet, resumed from any thread; push streams
// with a bounded buffer; ends by the producer, the client and the server; the timeouts that
// apply. Through porthole::testing, then over loopback with pushes from another thread.
#include <porthole/porthole.hpp>

#include "server/client.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using porthole::request;
using porthole::response;
using porthole::status;
using porthole::stream_step;
using porthole::stream_writer;

namespace {

struct push_app {
    std::vector<stream_writer> writers;
    std::size_t limit = 64 * 1024;
    response operator()(request const& req) {
        if (req.path() == "/now") return response::text("now");
        auto [res, writer] = porthole::push_stream("text/event-stream", limit);
        writers.push_back(writer);
        return std::move(res);
    }
};

std::string chunk(std::string_view s) {
    char hex[20];
    int n = std::snprintf(hex, sizeof hex, "%zx\r\n", s.size());
    return std::string(hex, static_cast<std::size_t>(n)) + std::string(s) + "\r\n";
}

}  // namespace

TEST_CASE("a live producer says nothing yet; resumed from the test thread, it is asked again") {
    std::vector<std::string> queue;
    int calls = 0;
    std::optional<porthole::stream_resumer> resumer;
    auto app = [&](request const&) {
        auto live = porthole::resumable_stream([&]() -> stream_step {
            ++calls;
            if (queue.empty()) return stream_step::nothing_yet();
            auto next = queue.front();
            queue.erase(queue.begin());
            return next == "end" ? stream_step::end() : stream_step::data(next);
        });
        resumer = live.resumer;
        return std::move(live.response);
    };
    porthole::testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto head_end = c.output().find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    CHECK(c.output().size() == head_end + 4);  // the head, and nothing of the body yet
    CHECK(c.conn().phase() == porthole::connection_phase::awaiting_stream);
    CHECK(calls == 1);
    c.step();
    CHECK(calls == 1);  // not resumed: not asked
    queue = {"one", "two"};
    CHECK(resumer->resume());
    CHECK(resumer->active());
    c.step();
    CHECK(c.output().substr(head_end + 4) == chunk("one") + chunk("two"));
    CHECK(calls == 4);
    queue = {"end"};
    resumer->resume();
    c.step();
    CHECK(c.output().ends_with("0\r\n\r\n"));
    CHECK(!resumer->active());
    CHECK(!resumer->resume());
    CHECK(c.conn().phase() == porthole::connection_phase::idle);
}

TEST_CASE("a stream that waits keeps nothing of what was written: its head, its last piece, their records") {
    std::vector<std::string> queue;
    std::optional<porthole::stream_resumer> resumer;
    auto app = [&](request const&) {
        auto live = porthole::resumable_stream([&]() -> stream_step {
            if (queue.empty()) return stream_step::nothing_yet();
            auto next = queue.front();
            queue.erase(queue.begin());
            return stream_step::data(next);
        });
        live.response.set_header("X-Large", std::string(2000, 'h'));  // a head of over 2 KB
        resumer = live.resumer;
        return std::move(live.response);
    };
    porthole::testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(c.output().size() > 2000);
    // One record (the stream's), its body, and five empty buffers (a string's own 15 bytes each):
    // the 2 KB head is gone once written.
    CHECK(c.conn().memory_held() < 400);
    queue = {std::string(3000, 'e')};
    resumer->resume();
    c.step();
    CHECK(c.output().ends_with(chunk(std::string(3000, 'e'))));
    CHECK(c.conn().phase() == porthole::connection_phase::awaiting_stream);
    CHECK(c.conn().memory_held() < 400);  // and so is the 3 KB piece
}

TEST_CASE("a push stream: writes go out in order, a full buffer refuses at once, close ends the body") {
    push_app app;
    app.limit = 10;
    porthole::testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(app.writers.size() == 1);
    auto& w = app.writers[0];
    CHECK(w.write("hello") == stream_writer::result::written);
    CHECK(w.write("world") == stream_writer::result::written);
    CHECK(w.buffered() == 10);
    CHECK(w.write("!") == stream_writer::result::full);  // nothing taken
    c.step();
    CHECK(w.buffered() == 0);
    CHECK(w.write("more than ten") == stream_writer::result::too_large);  // no wait makes it fit
    CHECK(w.buffered() == 0);
    CHECK(w.write("again") == stream_writer::result::written);
    CHECK(w.close());
    CHECK(w.write("x") == stream_writer::result::closed);
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].complete);
    CHECK(rs[0].header("Content-Type") == "text/event-stream");
    CHECK(rs[0].body == "helloworldagain");
    CHECK(w.closed());
}

TEST_CASE("a request pipelined behind a live stream is answered after the stream ends") {
    push_app app;
    porthole::testing::client c(app);
    c.send("GET /s HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(app.writers.size() == 1);
    app.writers[0].write("a");
    c.step();
    CHECK(c.responses().size() == 1);
    app.writers[0].close();
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "a");
    CHECK(rs[1].body == "now");
}

TEST_CASE("the client leaving ends a live stream: the writer reports it, nothing more is kept") {
    push_app app;
    porthole::testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto& w = app.writers[0];
    CHECK(!w.closed());
    c.close_input();
    CHECK(c.closed());
    CHECK(w.closed());
    CHECK(w.write("x") == stream_writer::result::closed);
}

TEST_CASE("a live stream that no response carries any more is over, however the response went") {
    // Dropped unsent: the writer and the resumer learn that nothing will read it.
    auto [res, writer] = porthole::push_stream("text/plain");
    std::optional<response> copy(res);
    CHECK(!writer.closed());
    { auto gone = std::move(res); }
    CHECK(!writer.closed());  // a copy still carries it
    copy.reset();
    CHECK(writer.closed());
    CHECK(writer.write("x") == stream_writer::result::closed);
    auto live = porthole::resumable_stream([] { return stream_step::nothing_yet(); });
    CHECK(live.resumer.active());
    live.response = response::text("instead");  // replaced, as a layer may do
    CHECK(!live.resumer.active());
    CHECK(!live.resumer.resume());
}

TEST_CASE("HEAD, 204 and 304 on a push stream send no body, and its writer learns at once that nothing reads it") {
    std::vector<stream_writer> writers;
    auto app = [&](request const& req) {
        auto st = req.path() == "/none"   ? status::no_content
                  : req.path() == "/same" ? status::not_modified
                                          : status::ok;
        auto [res, writer] = porthole::push_stream("text/event-stream", 1024, st);
        writers.push_back(writer);
        return std::move(res);
    };
    porthole::testing::client c(app);
    c.send(
        "HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET /none HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /same HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses({true, false, false});
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].status == 200);
    CHECK(rs[1].status == 204);
    CHECK(rs[2].status == 304);
    CHECK(!c.closed());
    REQUIRE(writers.size() == 3);
    for (auto const& w : writers) {
        CHECK(w.closed());
        CHECK(w.write("x") == stream_writer::result::closed);
    }
}

TEST_CASE("a push stream sent through a responder after its client left, or after the response timeout, is over") {
    std::vector<porthole::responder> held;
    auto app = [&](request const& req) -> response {
        held.push_back(porthole::answer_later(req));
        return porthole::later;
    };
    porthole::testing::client left(app);
    left.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    left.close_input();
    porthole::testing::client slow(app);
    slow.send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    slow.time_out();
    REQUIRE(held.size() == 2);
    for (auto& r : held) {
        auto [res, writer] = porthole::push_stream();
        CHECK(!r.send(std::move(res)));
        CHECK(writer.closed());  // a thread writing until closed() stops
        CHECK(writer.write("x") == stream_writer::result::closed);
    }
}

TEST_CASE("the server stopping ends live streams cleanly after what is queued") {
    push_app app;
    porthole::testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto& w = app.writers[0];
    w.write("last words");
    c.stop();
    CHECK(w.closed());
    CHECK(w.write("more") == stream_writer::result::closed);
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].complete);
    CHECK(rs[0].body == "last words");
}

TEST_CASE("a producer that returns a million empty pieces is looped over, not recursed into") {
    int n = 0;
    auto app = [&](request const&) {
        return response::stream([&]() -> std::optional<std::string> {
            if (n == 1000000) return std::nullopt;
            return ++n == 1000000 ? std::string("done") : std::string();
        });
    };
    auto res = porthole::testing::get(app, "/");
    CHECK(res.complete);
    CHECK(res.body == "done");
}

TEST_CASE("a producer that throws anything cuts the body short, is logged, and the connection closes") {
    std::vector<std::string> log;
    porthole::connection_config config;
    config.error_log = [&](std::string_view m) { log.emplace_back(m); };
    int calls = 0;
    auto app = [&](request const& req) {
        bool standard = req.path() == "/std";
        return response::stream([&calls, standard]() -> std::optional<std::string> {
            if (calls++ % 2 == 0) return std::string("piece");
            if (standard) throw std::runtime_error("boom");
            throw 42;
        });
    };
    for (auto path : {"/std", "/int"}) {
        porthole::testing::client c(app, config);
        c.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(!rs[0].complete);  // no terminator: the truncation shows
        CHECK(c.closed());
    }
    REQUIRE(log.size() == 2);
    CHECK(log[0].find("boom") != std::string::npos);
    CHECK(log[1].find("body producer threw: a non-standard exception") != std::string::npos);
}

TEST_CASE("a push stream whose last writer goes without close(): what was written, then the body cut short") {
    // Nothing could end it: the connection waited for a write that could never come, its
    // client with it, until the server stopped.
    std::vector<std::string> log;
    porthole::connection_config config;
    config.error_log = [&](std::string_view m) { log.emplace_back(m); };
    std::vector<stream_writer> kept;
    auto app = [&](request const& req) {
        auto [res, writer] = porthole::push_stream("text/plain");
        CHECK(writer.write("partial") == stream_writer::result::written);
        if (req.path() == "/kept") kept.push_back(writer);  // a copy outlives the handler
        return std::move(res);                              // the handler's writer goes here
    };
    {
        porthole::testing::client c(app, config);
        c.send("GET /dropped HTTP/1.1\r\nHost: t\r\n\r\n");
        c.step();
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].body == "partial");
        CHECK(!rs[0].complete);  // no terminator: the truncation shows
        CHECK(c.closed());
        REQUIRE(log.size() == 1);
        CHECK(log[0].find("last writer went without close()") != std::string::npos);
    }
    porthole::testing::client c(app, config);
    c.send("GET /kept HTTP/1.1\r\nHost: t\r\n\r\n");
    c.step();
    CHECK(!c.closed());  // a writer is left: the stream waits for it
    REQUIRE(kept.size() == 1);
    stream_writer copy = kept[0];
    kept.clear();
    c.step();
    CHECK(!c.closed());  // one copy is enough
    CHECK(copy.write(" and the rest") == stream_writer::result::written);
    CHECK(copy.close());
    copy = {};  // gone after close(): a clean end
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].complete);
    CHECK(rs[0].body == "partial and the rest");
    CHECK(log.size() == 1);
}

// ---------------------------------------------------------------- over sockets

namespace {

// Subscribers get every event a publisher thread pushes, until they go.
struct hub_app {
    std::mutex mutex;
    std::vector<stream_writer> writers;
    response operator()(request const& req) {
        if (req.path() == "/fast") return response::text("fast");
        auto [res, writer] = porthole::push_stream("text/event-stream", 4096);
        std::lock_guard lock(mutex);
        writers.push_back(writer);
        return std::move(res);
    }
    std::size_t publish(std::string_view event) {
        std::lock_guard lock(mutex);
        std::size_t live = 0;
        for (auto& w : writers) live += w.write(event) == stream_writer::result::written;
        return live;
    }
    std::size_t subscribers() {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (auto& w : writers) n += !w.closed();
        return n;
    }
};

porthole::server_options loopback() {
    porthole::server_options o;
    o.port = 0;
    o.allowed_hosts = {"t"};  // the Host the requests below name
    o.threads = 2;
    return o;
}

using test_client::read_until;
using test_client::wait_until;

}  // namespace

TEST_CASE(
    "over sockets: events pushed from another thread reach every subscriber; read timeouts do not cut idle streams; stop ends them cleanly (run under TSan)") {
    hub_app app;
    auto o = loopback();
    o.keep_alive_timeout = 150ms;
    o.header_timeout = 150ms;
    o.body_timeout = 150ms;
    porthole::server s(app, o);
    s.start();
    std::vector<test_client::connection> clients;
    std::vector<std::string> got(8);
    for (int i = 0; i < 8; ++i) {
        clients.emplace_back(s.port());
        REQUIRE(clients.back().get("/events"));
    }
    REQUIRE(wait_until([&] { return app.subscribers() == 8; }, 3s));
    std::this_thread::sleep_for(400ms);  // longer than every read timeout: still subscribed
    CHECK(app.subscribers() == 8);
    std::thread publisher([&] {
        for (int e = 0; e < 20; ++e) app.publish("data: " + std::to_string(e) + "\n\n");
    });
    publisher.join();
    for (int i = 0; i < 8; ++i) CHECK(read_until(clients[i], got[i], "data: 19\n\n"));
    // A fast request on a new connection is not held up by the streams.
    test_client::connection fast(s.port());
    REQUIRE(fast.get("/fast"));
    auto r = fast.read_reply();
    REQUIRE(r);
    CHECK(r->body == "fast");
    // One subscriber leaves: its writer reports it, the others stay.
    clients[0].close();
    CHECK(wait_until([&] { return app.subscribers() == 7; }, 3s));
    app.publish("data: last\n\n");
    s.stop();
    for (int i = 1; i < 8; ++i) {
        CHECK(read_until(clients[i], got[i], "0\r\n\r\n"));
        CHECK(got[i].find("data: last") != std::string::npos);
        CHECK(clients[i].closed_by_peer());
    }
    CHECK(app.subscribers() == 0);
    CHECK(app.publish("data: after\n\n") == 0);
}

TEST_CASE("over sockets: a writer that leaves when the server stops, without close(), still ends the body cleanly") {
    // `while (!w.closed())` ends when the server stops; the writer then goes without close().
    // The body was cut short and logged as abandoned when the socket was full at the stop.
    std::mutex m;
    std::vector<std::string> log;
    std::vector<std::thread> threads;
    auto app = [&](request const&) {
        auto [res, writer] = porthole::push_stream("text/plain");
        std::lock_guard lock(m);
        threads.emplace_back([w = writer] {
            std::string const piece(4096, 'x');
            while (!w.closed())
                if (w.write(piece) != stream_writer::result::written) std::this_thread::sleep_for(1ms);
        });
        return std::move(res);
    };
    porthole::server_options o;
    o.port = 0;
    o.threads = 1;
    o.drain_timeout = 5s;
    o.error_log = [&](std::string_view line) {
        std::lock_guard lock(m);
        log.emplace_back(line);
    };
    porthole::server s(app, o);
    s.start();
    test_client::connection c(s.port());
    REQUIRE(c.get("/s"));
    std::this_thread::sleep_for(300ms);  // the socket and the buffer fill: the client reads nothing yet
    std::thread stopper([&] { s.stop(); });
    std::this_thread::sleep_for(300ms);  // the writer sees closed() and goes
    auto r = c.read_reply();
    stopper.join();
    std::lock_guard lock(m);
    for (auto& t : threads) t.join();
    CHECK(r.has_value());  // the terminator came (a body cut short reads as none)
    CHECK(log.empty());
}

TEST_CASE("over sockets: the write timeout still closes a stream whose client does not read") {
    hub_app app;
    auto o = loopback();
    o.write_timeout = 300ms;
    porthole::server s(app, o);
    s.start();
    test_client::connection c(s.port());
    int rcvbuf = 4096;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    REQUIRE(c.get("/events"));
    REQUIRE(wait_until([&] { return app.subscribers() == 1; }, 3s));
    std::string event(4000, 'x');
    event += "\n\n";
    std::size_t refused = 0;
    auto end = std::chrono::steady_clock::now() + 20s;
    while (app.subscribers() == 1 && std::chrono::steady_clock::now() < end) {
        if (app.publish(event) == 0) ++refused;  // a full buffer: backpressure, seen at once
        std::this_thread::yield();
    }
    CHECK(refused > 0);
    CHECK(app.subscribers() == 0);  // closed at the write timeout
    s.stop();
}

TEST_CASE("over sockets: a client that resets while its input waits behind a quiet stream ends it") {
    // The stream never writes, and over 64 KiB of requests pipelined behind it pause reading: the
    // reset went unseen (the writer never closed, the descriptor held; poll(2) spun meanwhile).
    std::mutex m;
    std::vector<stream_writer> writers;
    auto app = [&](request const&) {
        auto [res, writer] = porthole::push_stream("text/plain");
        std::lock_guard lock(m);
        writers.push_back(writer);
        return std::move(res);
    };
    porthole::server s(app, loopback());
    s.start();
    test_client::connection c(s.port());
    std::string behind;
    while (behind.size() < 100 * 1024) behind += "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";
    REQUIRE(c.send("GET /live HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(wait_until(
        [&] {
            std::lock_guard lock(m);
            return writers.size() == 1;
        },
        3s));
    c.send(behind);  // the server stops reading past its input limit: the rest waits in the socket
    std::this_thread::sleep_for(200ms);
    linger reset{1, 0};
    ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    c.close();
    CHECK(wait_until(
        [&] {
            std::lock_guard lock(m);
            return writers[0].closed();
        },
        5s));
    s.stop();
}

TEST_CASE("over sockets: a reset that comes with the read that pauses input still ends a quiet stream") {
    // Edge-triggered epoll reports the reset once; when that wake-up's reads took the connection
    // past its input limit, reading paused with the error unread, and no edge came again.
    std::mutex m;
    std::vector<stream_writer> writers;
    auto app = [&](request const& req) {
        if (req.path() == "/busy") {  // holds the one loop while the other client resets
            std::this_thread::sleep_for(400ms);
            return response::text("done");
        }
        auto [res, writer] = porthole::push_stream("text/plain");
        std::lock_guard lock(m);
        writers.push_back(writer);
        return std::move(res);
    };
    auto o = loopback();
    o.threads = 1;
    porthole::server s(app, o);
    s.start();
    test_client::connection c(s.port());
    auto requests = [](std::size_t bytes) {
        std::string out;
        while (out.size() < bytes) out += "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";
        return out;
    };
    REQUIRE(c.send("GET /live HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(wait_until(
        [&] {
            std::lock_guard lock(m);
            return writers.size() == 1;
        },
        3s));
    c.send(requests(60 * 1024));  // under the input limit: still reading
    std::this_thread::sleep_for(200ms);
    test_client::connection busy(s.port());
    REQUIRE(busy.send("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::this_thread::sleep_for(100ms);  // the loop is in the handler now
    auto more = requests(100 * 1024);
    (void)!::send(c.fd(), more.data(), more.size(), MSG_DONTWAIT);  // what the socket takes
    linger reset{1, 0};
    ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    c.close();
    CHECK(busy.read_reply());
    CHECK(wait_until(
        [&] {
            std::lock_guard lock(m);
            return writers[0].closed();
        },
        5s));
    s.stop();
}
