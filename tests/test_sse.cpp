// Server-sent events: the encoder against the WHATWG parsing rules, one client's event stream,
// and event_hub's policies (history, Last-Event-ID, falling behind, heartbeats, close, the
// server stopping) through porthole::testing; then over loopback with publishers on other
// threads (run under TSan) and the timeouts that apply.
#include <porthole/porthole.hpp>

#include "server/client.hpp"

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

namespace {

// What an EventSource dispatches for a text/event-stream, by the WHATWG HTML standard's
// "interpreting an event stream" (9.2.6), written from the standard, independently of the encoder.
struct dispatched {
    std::string type, data, last_id;
};
struct event_parser {
    std::vector<dispatched> events;
    std::string data, type, last_id, id_buffer;
    long retry = -1;
    std::size_t comments = 0;

    void feed(std::string_view stream) {
        while (!stream.empty()) {
            auto end = stream.find_first_of("\r\n");
            REQUIRE(end != std::string_view::npos);  // the encoder ends every line
            line(stream.substr(0, end));
            end += stream[end] == '\r' && end + 1 < stream.size() && stream[end + 1] == '\n' ? 2 : 1;
            stream.remove_prefix(end);
        }
    }
    void line(std::string_view l) {
        if (l.empty()) {
            last_id = id_buffer;
            if (data.empty()) {
                type.clear();
                return;
            }
            if (data.back() == '\n') data.pop_back();
            events.push_back({type.empty() ? "message" : type, data, last_id});
            data.clear();
            type.clear();
            return;
        }
        if (l[0] == ':') {
            ++comments;
            return;
        }
        auto colon = l.find(':');
        std::string_view name = l.substr(0, colon), value;
        if (colon != std::string_view::npos) {
            value = l.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        }
        if (name == "event") type = value;
        else if (name == "data") (data += value) += '\n';
        else if (name == "id" && value.find('\0') == std::string_view::npos) id_buffer = value;
        else if (name == "retry" && !value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos)
            retry = std::stol(std::string(value));
    }
};

std::vector<dispatched> parse(std::string_view stream) {
    event_parser p;
    p.feed(stream);
    return p.events;
}

template <class App>
struct subscriber {
    porthole::testing::client<App> client;
    std::size_t seen = 0;
    subscriber(App& app, std::string_view last_event_id = {}) : client(app) {
        std::string req = "GET /events HTTP/1.1\r\nHost: t\r\n";
        if (!last_event_id.empty()) req += "Last-Event-ID: " + std::string(last_event_id) + "\r\n";
        client.send(req + "\r\n");
    }
    std::string body() {
        client.step();
        auto rs = client.responses();
        REQUIRE(rs.size() == 1);
        return rs[0].body;
    }
    std::vector<dispatched> events() { return parse(body()); }
};

}  // namespace

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
    CHECK(senders[0].send({.type = "tick", .data = "1\n2", .id = "a"}) == porthole::sse::sender::result::written);
    CHECK(senders[0].comment() == porthole::sse::sender::result::written);
    CHECK(senders[0].send({.data = std::string(300, 'x')}) == porthole::sse::sender::result::full);
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].header("Content-Type") == "text/event-stream");
    CHECK(rs[0].header("Cache-Control") == "no-store");
    CHECK(rs[0].body == "id: a\nevent: tick\ndata: 1\ndata: 2\n\n:\n\n");
    CHECK(senders[0].close());
    c.step();
    CHECK(c.responses()[0].complete);
    CHECK(senders[0].send({.data = "late"}) == porthole::sse::sender::result::closed);
}

// ---------------------------------------------------------------- the hub

namespace {
struct hub_app {
    event_hub& hub;
    response operator()(request const& req) { return hub.subscribe(req); }
};
}  // namespace

TEST_CASE("the hub sends every event to every subscriber, with increasing ids, and counts them") {
    event_hub hub({.heartbeat = 0ms, .retry = 1500ms});
    hub_app app{hub};
    subscriber a(app), b(app);
    CHECK(hub.subscribers() == 2);
    auto first = hub.publish("status", "{\"n\":1}");
    auto second = hub.publish("line one\nline two");
    CHECK(second == first + 1);
    CHECK(hub.last_id() == second);
    for (auto* s : {&a, &b}) {
        auto rs = s->client.responses();
        CHECK(rs[0].header("Content-Type") == "text/event-stream");
        event_parser p;
        p.feed(s->body());
        CHECK(p.retry == 1500);
        REQUIRE(p.events.size() == 2);
        CHECK(p.events[0].type == "status");
        CHECK(p.events[0].data == "{\"n\":1}");
        CHECK(p.events[0].last_id == std::to_string(first));
        CHECK(p.events[1].type == "message");
        CHECK(p.events[1].data == "line one\nline two");
        CHECK(p.events[1].last_id == std::to_string(second));
    }
    a.client.close_input();  // the client leaves: it no longer counts
    CHECK(hub.subscribers() == 1);
    hub.publish("x");
    CHECK(b.events().size() == 3);
}

TEST_CASE("ids start past the clock at construction: a later run's hub counts from higher") {
    event_hub one({.heartbeat = 0ms});
    auto old_id = one.publish("x");
    std::this_thread::sleep_for(2ms);
    event_hub two({.heartbeat = 0ms});
    CHECK(two.last_id() > old_id);
    hub_app app{two};
    subscriber s(app, std::to_string(old_id));  // from an earlier run: too old
    auto events = s.events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].type == "resync");
    CHECK(events[0].data == "too-old");
}

TEST_CASE("Last-Event-ID: a reconnecting client gets what it missed, or a resync when it cannot") {
    event_hub hub({.history = 3, .heartbeat = 0ms});
    hub_app app{hub};
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(hub.publish("e", std::to_string(i)));
    SUBCASE("missed events still in the history are replayed in order") {
        subscriber s(app, std::to_string(ids[2]));
        auto events = s.events();
        REQUIRE(events.size() == 2);
        CHECK(events[0].data == "3");
        CHECK(events[1].data == "4");
        CHECK(events[1].last_id == std::to_string(ids[4]));
        hub.publish("e", "5");  // and it goes on live
        CHECK(s.events().size() == 3);
    }
    SUBCASE("the oldest kept event's predecessor is still enough") {
        subscriber s(app, std::to_string(ids[1]));
        CHECK(s.events().size() == 3);
    }
    SUBCASE("up to date: nothing is replayed") {
        subscriber s(app, std::to_string(ids[4]));
        CHECK(s.body().empty());
    }
    SUBCASE("too old, not a number, or from the future: a resync carrying the newest id, then live") {
        for (auto bad : {std::to_string(ids[0]), std::string("abc"), std::to_string(ids[4] + 1), std::string("-1"),
                         std::to_string(ids[2]) + "x"}) {
            CAPTURE(bad);
            subscriber s(app, bad);
            auto events = s.events();
            REQUIRE(events.size() == 1);
            CHECK(events[0].type == "resync");
            CHECK(events[0].data == "too-old");
            CHECK(events[0].last_id == std::to_string(ids[4]));
        }
    }
    SUBCASE("no Last-Event-ID: only what is published from now on") {
        subscriber s(app);
        CHECK(s.body().empty());
        hub.publish("e", "new");
        auto events = s.events();
        REQUIRE(events.size() == 1);
        CHECK(events[0].data == "new");
    }
}

TEST_CASE("a subscriber that falls behind the history skips to the newest with a resync") {
    event_hub hub({.history = 4, .heartbeat = 0ms});
    hub_app app{hub};
    subscriber fast(app), slow(app);
    hub.publish("e", "0");
    CHECK(slow.events().size() == 1);
    // The slow one's loop does not run while ten events come (its client reads nothing).
    std::uint64_t last = 0;
    for (int i = 1; i <= 10; ++i) {
        last = hub.publish("e", std::to_string(i));
        if (i % 3 == 0) fast.client.step();
    }
    CHECK(fast.events().size() == 11);  // it kept up: everything
    auto events = slow.events();
    REQUIRE(events.size() == 2);
    CHECK(events[1].type == "resync");
    CHECK(events[1].data == "behind");
    CHECK(events[1].last_id == std::to_string(last));
    hub.publish("e", "11");  // and it is live again
    events = slow.events();
    REQUIRE(events.size() == 3);
    CHECK(events[2].data == "11");
}

TEST_CASE("a backlog goes out in pieces of a few KiB, in order, none lost") {
    event_hub hub({.heartbeat = 0ms});
    hub_app app{hub};
    subscriber s(app);
    std::string data(100, 'd');
    for (int i = 0; i < 200; ++i) hub.publish("e", data);
    auto events = s.events();
    CHECK(events.size() == 200);
    for (std::size_t i = 1; i < events.size(); ++i)
        CHECK(std::stoull(events[i].last_id) == std::stoull(events[i - 1].last_id) + 1);
    std::size_t chunks = 0;  // the chunk-size lines: "1000\r\n"-ish, one per piece
    for (std::size_t at = 0; (at = s.client.output().find("\r\nid: ", at)) != std::string::npos; ++at) {
        auto line_start = s.client.output().rfind('\n', at - 1);
        chunks += std::strtoul(s.client.output().c_str() + line_start + 1, nullptr, 16) > 0;
    }
    CHECK(chunks >= 4);  // 20 KiB of events: at least five pieces of at most 4 KiB
    CHECK(chunks <= 10);
}

TEST_CASE("the history is bounded in bytes too, keeping the newest event whatever its size") {
    event_hub hub({.history = 100, .history_bytes = 200, .heartbeat = 0ms});
    hub_app app{hub};
    auto before = hub.publish("e", std::string(150, 'a'));
    hub.publish("e", std::string(150, 'b'));  // pushes the first out
    subscriber too_old(app, std::to_string(before - 1));
    CHECK(too_old.events().at(0).type == "resync");
    subscriber fine(app, std::to_string(before));
    auto events = fine.events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == std::string(150, 'b'));
    hub.publish("e", std::string(1000, 'c'));  // bigger than the whole bound: still delivered
    CHECK(fine.events().at(1).data == std::string(1000, 'c'));
}

TEST_CASE("heartbeats: a comment to every stream that was sent nothing since the last one") {
    event_hub hub({.heartbeat = 0ms});
    hub_app app{hub};
    subscriber quiet(app), busy(app);
    hub.heartbeat();
    CHECK(quiet.body() == ":\n\n");
    CHECK(busy.body() == ":\n\n");
    hub.publish("e", "x");
    busy.client.step();
    quiet.client.step();
    hub.heartbeat();  // both were just sent the event
    CHECK(quiet.events().size() == 1);
    CHECK(quiet.body().ends_with("data: x\n\n"));
    hub.heartbeat();
    CHECK(quiet.body().ends_with("data: x\n\n:\n\n"));
}

TEST_CASE("the hub's own thread sends heartbeats at the configured interval") {
    event_hub hub({.heartbeat = 20ms});
    hub_app app{hub};
    subscriber s(app);
    auto end = std::chrono::steady_clock::now() + 5s;
    event_parser p;
    while (p.comments < 2 && std::chrono::steady_clock::now() < end) {
        std::this_thread::sleep_for(10ms);
        p = {};
        p.feed(s.body());
    }
    CHECK(p.comments >= 2);
    CHECK(p.events.empty());
}

TEST_CASE("close(): every stream ends after what it was sent; later subscribers get 204") {
    event_hub hub({.heartbeat = 0ms});
    hub_app app{hub};
    subscriber s(app);
    hub.publish("e", "last");
    hub.close();
    CHECK(hub.publish("e", "after") == 0);
    s.client.step();
    auto rs = s.client.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].complete);
    CHECK(parse(rs[0].body).at(0).data == "last");
    CHECK(hub.subscribers() == 0);
    auto late = porthole::testing::get(app, "/events");
    CHECK(late.status == 204);
}

TEST_CASE("the server stopping ends hub streams cleanly, and they stop counting") {
    event_hub hub({.heartbeat = 0ms});
    hub_app app{hub};
    {
        subscriber s(app);
        hub.publish("e", "x");
        s.client.stop();
        auto rs = s.client.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].complete);
        CHECK(parse(rs[0].body).size() == 1);
    }
    CHECK(hub.subscribers() == 0);
    hub.publish("e", "y");  // to nobody: harmless
}

TEST_CASE("the hub outlives nothing it should not: streams keep working state after the hub object goes") {
    std::optional<event_hub> hub(std::in_place, porthole::event_hub_options{.heartbeat = 10ms});
    auto app = [&](request const& req) { return hub->subscribe(req); };
    subscriber s(app);
    hub->publish("e", "x");
    hub.reset();  // closes: the stream ends after "x"
    s.client.step();
    auto rs = s.client.responses();
    CHECK(rs[0].complete);
    CHECK(parse(rs[0].body).size() == 1);
}

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
