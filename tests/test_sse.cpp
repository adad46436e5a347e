// Server-sent events: the encoder against the WHATWG parsing rules and one client's event
// stream through porthole::testing; then an event_hub over loopback with publishers on other
// threads (run under TSan) and the timeouts that apply. The hub's own policies are
// test_event_hub.cpp's.
#include <porthole/porthole.hpp>

#include "server/client.hpp"
#include "sse_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using porthole::event_hub;
using porthole::request;
using porthole::response;

// ---------------------------------------------------------------- the encoder

TEST_CASE("an event's fields, in the bytes the standard defines") {
    using porthole::sse::encode;
    CHECK(encode({.data = "hello"}) == "data: hello\n\n");
    CHECK(encode({.type = "status", .data = "{}", .id = "7"}) == "id: 7\nevent: status\ndata: {}\n\n");
    CHECK(encode({.data = "x", .retry = 2500ms}) == "retry: 2500\ndata: x\n\n");
    CHECK(encode({.data = "", .id = ""}) == "id\ndata: \n\n");  // an empty id resets the client's
    CHECK(encode({.data = "a\nb\r\nc\rd"}) == "data: a\ndata: b\ndata: c\ndata: d\n\n");
    CHECK(encode({.data = " lead"}) == "data:  lead\n\n");  // the one space after the colon is eaten
    std::string c;
    porthole::sse::append_retry(c, 3s);
    CHECK(c == "retry: 3000\n\n");
    CHECK(parse(c).empty());
    c.clear();
    porthole::sse::append_comment(c);
    CHECK(c == ":\n\n");
    c.clear();
    porthole::sse::append_comment(c, "one\r\ntwo");
    CHECK(c == ": one\n: two\n\n");
}

TEST_CASE("data with every kind of line break comes back exactly through the standard's parser") {
    for (std::string data : {"", "plain", "a\nb", "a\r\nb", "a\rb", "\n", "\r\n", "\r", "a\n\nb", "x\r\r\n\ny",
                             "ends\n", "ends\r", "ends\r\n", "\n\nlead", " spaced ", "colon: inside", "data: nested"}) {
        auto events = parse(porthole::sse::encode({.type = "t", .data = data, .id = "1"}));
        REQUIRE(events.size() == 1);
        std::string expected = data;  // a client sees every line break as LF
        for (std::size_t i = 0; (i = expected.find('\r', i)) != std::string::npos; ++i)
            expected.replace(i, expected[i + 1] == '\n' ? 2 : 1, "\n");
        CHECK(events[0].data == expected);
        CHECK(events[0].type == "t");
        CHECK(events[0].last_id == "1");
    }
}

TEST_CASE("event types and ids holding CR, LF or NUL are refused, and nothing is written") {
    using porthole::sse::event;
    for (std::string bad : {std::string("a\nb"), std::string("a\rb"), std::string("a\0b", 3), std::string("\n")}) {
        std::string out = "kept";
        CHECK_THROWS_AS(porthole::sse::append(out, event{.type = bad, .data = "x"}), std::invalid_argument);
        CHECK_THROWS_AS(porthole::sse::append(out, event{.data = "x", .id = bad}), std::invalid_argument);
        CHECK(out == "kept");
        CHECK(!porthole::sse::valid_field(bad));
    }
    CHECK_THROWS_AS(porthole::sse::encode({.data = "x", .retry = -1ms}), std::invalid_argument);
    CHECK(porthole::sse::valid_field("status update: ünïcode"));
    event_hub hub({.heartbeat = 0ms});
    CHECK_THROWS_AS(hub.publish("bad\ntype", "x"), std::invalid_argument);
}

TEST_CASE("one client's event stream: headers, events as chunks, comments, close") {
    std::vector<porthole::sse::sender> senders;
    auto app = [&](request const&) {
        auto [res, events] = porthole::sse::open_stream(256);
        senders.push_back(events);
        return std::move(res);
    };
    porthole::testing::client c(app);
    c.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(senders.size() == 1);
    porthole::sse::sender const& events = senders[0];  // sends through a const one too
    CHECK(events.send({.type = "tick", .data = "1\n2", .id = "a"}) == porthole::sse::sender::result::written);
    CHECK(events.comment() == porthole::sse::sender::result::written);
    CHECK(events.send({.data = std::string(230, 'x')}) == porthole::sse::sender::result::full);       // not now
    CHECK(events.send({.data = std::string(300, 'x')}) == porthole::sse::sender::result::too_large);  // never
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].header("Content-Type") == "text/event-stream");
    CHECK(rs[0].header("Cache-Control") == "no-store");
    CHECK(rs[0].body == "id: a\nevent: tick\ndata: 1\ndata: 2\n\n:\n\n");
    CHECK(events.close());
    c.step();
    CHECK(c.responses()[0].complete);
    CHECK(senders[0].send({.data = "late"}) == porthole::sse::sender::result::closed);
}

// ---------------------------------------------------------------- the hub

// ---------------------------------------------------------------- over sockets

namespace {

porthole::server_options loopback() {
    porthole::server_options o;
    o.port = 0;
    o.threads = 2;
    return o;
}

using test_client::read_until;
using test_client::wait_until;

}  // namespace

TEST_CASE(
    "over sockets: four threads publish at once to subscribers on two loops; read timeouts spare the streams; stop ends them (run under TSan)") {
    event_hub hub({.heartbeat = 30ms});
    auto app = porthole::router(porthole::get<"/events">([&](request const& req) { return hub.subscribe(req); }),
                                porthole::get<"/fast">([] { return "fast"; }));
    auto o = loopback();
    o.keep_alive_timeout = 150ms;
    o.header_timeout = 150ms;
    o.body_timeout = 150ms;
    porthole::server s(app, o);
    s.start();
    constexpr int clients_n = 6, threads_n = 4, per_thread = 50;
    std::vector<test_client::connection> clients;
    for (int i = 0; i < clients_n; ++i) {
        clients.emplace_back(s.port());
        REQUIRE(clients.back().get("/events"));
    }
    REQUIRE(wait_until([&] { return hub.subscribers() == clients_n; }, 3s));
    std::this_thread::sleep_for(400ms);  // past every read timeout: still subscribed
    CHECK(hub.subscribers() == clients_n);
    std::vector<std::thread> publishers;
    for (int t = 0; t < threads_n; ++t)
        publishers.emplace_back([&, t] {
            std::string type = "t";
            type += std::to_string(t);
            for (int e = 0; e < per_thread; ++e) hub.publish(type, std::to_string(e));
        });
    for (auto& p : publishers) p.join();
    auto last = std::to_string(hub.last_id());
    std::vector<std::string> got(clients_n);
    for (int i = 0; i < clients_n; ++i) {
        REQUIRE(read_until(clients[i], got[i], "id: " + last + "\n", 5000));
        CHECK(got[i].find(":\n\n") != std::string::npos);  // heartbeats came while idle
    }
    // The chunks carry whole events: strip the chunk framing and parse.
    for (auto& g : got) {
        auto rs = porthole::testing::parse_responses(g);
        REQUIRE(rs.size() == 1);
        auto events = parse(rs[0].body);
        CHECK(events.size() == threads_n * per_thread);
        for (std::size_t i = 1; i < events.size(); ++i)
            CHECK(std::stoull(events[i].last_id) == std::stoull(events[i - 1].last_id) + 1);
    }
    test_client::connection fast(s.port());
    REQUIRE(fast.get("/fast"));
    CHECK(fast.read_reply());
    clients[0].close();
    CHECK(wait_until([&] { return hub.subscribers() == clients_n - 1; }, 3s));
    hub.publish("e", "final");
    s.stop();
    for (int i = 1; i < clients_n; ++i) {
        CHECK(read_until(clients[i], got[i], "0\r\n\r\n", 5000));
        CHECK(got[i].find("data: final") != std::string::npos);
        CHECK(clients[i].closed_by_peer());
    }
    CHECK(hub.subscribers() == 0);
}

TEST_CASE("over sockets: the write timeout closes a subscriber whose client stops reading") {
    event_hub hub({.history = 8, .heartbeat = 0ms});
    auto app = [&](request const& req) { return hub.subscribe(req); };
    auto o = loopback();
    o.write_timeout = 300ms;
    porthole::server s(app, o);
    s.start();
    test_client::connection c(s.port());
    int rcvbuf = 4096;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    REQUIRE(c.get("/events"));
    REQUIRE(wait_until([&] { return hub.subscribers() == 1; }, 3s));
    std::string big(16000, 'x');
    auto end = std::chrono::steady_clock::now() + 20s;
    while (hub.subscribers() == 1 && std::chrono::steady_clock::now() < end) {
        hub.publish("e", big);  // never blocks, whatever the client does
        std::this_thread::sleep_for(1ms);
    }
    CHECK(hub.subscribers() == 0);
    s.stop();
}
