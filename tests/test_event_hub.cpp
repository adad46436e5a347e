// event_hub (event_hub.hpp): one stream of server-sent events broadcast to every subscriber,
// with its policies (history, Last-Event-ID, falling behind, heartbeats, close, the server
// stopping), driven through porthole::testing; publishers on other threads reach subscribers
// through their connection's mailbox. Over sockets: test_sse.cpp.
#include <porthole/event_hub.hpp>

#include "sse_support.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using porthole::event_hub;
using porthole::request;
using porthole::response;

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

// A client that stops reading costs its connection one piece, not one event: an event of
// 100 KB to 1,000 stalled browsers would otherwise be 100 MB held until the write timeout.
TEST_CASE("an event larger than a piece goes out in slices, whole even if the history lets it go meanwhile") {
    event_hub hub({.history = 1, .heartbeat = 0ms});
    auto res = hub.subscribe(std::string_view{});
    auto& produce = std::get<porthole::stream_body>(res.body()).live->producer;
    std::string big(100'000, 'x');
    big[50'000] = '\n';  // two data lines
    hub.publish("e", big);
    std::string stream;
    std::size_t pieces = 0;
    auto take = [&] {
        auto step = produce();
        if (step.kind != porthole::stream_step::kind_t::data) return false;
        CHECK(step.bytes.size() <= porthole::detail::hub_subscriber::piece_limit);
        stream += step.bytes;
        ++pieces;
        return true;
    };
    REQUIRE(take());
    auto const after = hub.publish("e", "next");  // a history of one lets the large event go
    while (pieces < 100 && take()) {}
    CHECK(pieces >= 100'000 / porthole::detail::hub_subscriber::piece_limit);
    auto events = parse(stream);
    REQUIRE(events.size() == 2);
    CHECK(events[0].data == big);
    CHECK(events[1].data == "next");  // no resync: it was sent everything
    CHECK(events[1].last_id == std::to_string(after));
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
    CHECK_FALSE(s.client.closed());  // the stream ended, the connection goes on (docs/sse.md)
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

TEST_CASE("an event type holding CR, LF or NUL is refused, and nothing is published") {
    event_hub hub({.heartbeat = 0ms});
    hub_app app{hub};
    subscriber s(app);
    auto before = hub.last_id();
    for (std::string_view bad : {std::string_view("a\rb"), std::string_view("a\nb"), std::string_view("a\0b", 3)}) {
        CHECK_THROWS_AS(hub.publish(bad, "data"), std::invalid_argument);
    }
    CHECK(hub.last_id() == before);
    CHECK(s.body().empty());
    // Data may hold any line break: it is split into data lines.
    hub.publish("ok", "a\r\nb");
    auto events = s.events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "a\nb");
}

TEST_CASE("publishers on other threads wake the subscriber's connection; each thread's events keep their order") {
    event_hub hub({.history = 1000, .heartbeat = 0ms});  // room for all: nobody falls behind
    hub_app app{hub};
    subscriber s(app);
    CHECK(s.body().empty());
    constexpr int threads_n = 3, per_thread = 100;
    std::vector<std::thread> publishers;
    for (int t = 0; t < threads_n; ++t)
        publishers.emplace_back([&hub, t] {
            std::string type = "t";
            type += std::to_string(t);
            for (int e = 0; e < per_thread; ++e) hub.publish(type, std::to_string(e));
        });
    for (auto& p : publishers) p.join();
    // What the publishers left waits in the connection's mailbox until the driver's step.
    CHECK(s.client.step() >= 1);
    auto events = s.events();
    REQUIRE(events.size() == threads_n * per_thread);
    std::vector<int> next(threads_n, 0);
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i > 0) CHECK(std::stoull(events[i].last_id) == std::stoull(events[i - 1].last_id) + 1);
        int t = events[i].type[1] - '0';
        REQUIRE((t >= 0 && t < threads_n));
        CHECK(events[i].data == std::to_string(next[t]++));
    }
    CHECK(std::stoull(events.back().last_id) == hub.last_id());
}

TEST_CASE("a history of 0 keeps one event: the newest") {
    event_hub hub({.history = 0, .heartbeat = 0ms});
    hub_app app{hub};
    auto first = hub.publish("e", "1");
    hub.publish("e", "2");
    subscriber caught_up(app, std::to_string(first));  // missed only the newest: it is kept
    auto events = caught_up.events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "2");
    subscriber behind(app, std::to_string(first - 1));
    CHECK(behind.events().at(0).type == "resync");
}

TEST_CASE("a subscription counts until its response is dropped unsent") {
    event_hub hub({.heartbeat = 0ms});
    {
        auto res = hub.subscribe(std::string_view{});
        CHECK(res.status() == porthole::status::ok);
        CHECK(hub.subscribers() == 1);
    }
    CHECK(hub.subscribers() == 0);
    hub.publish("e", "to nobody");  // harmless
    hub.close();
    CHECK(hub.subscribe(std::string_view{}).status() == porthole::status::no_content);
    CHECK(hub.subscribers() == 0);
}

TEST_CASE("subscribers gone leave no trace as others come, on a hub that never publishes or beats") {
    // Their entries were dropped only by a publish, a heartbeat or close(): with no heartbeat and
    // no event, every client that came and went kept its memory (about 160 bytes) for good.
    auto state = std::make_shared<porthole::detail::hub_state>();
    auto come = [&] {
        state->count.fetch_add(1);
        auto sub = std::make_shared<porthole::detail::hub_subscriber>(state);
        state->add(sub);
        return sub;
    };
    for (int i = 0; i < 10000; ++i) come();  // each gone at once
    CHECK(state->subscribers.size() <= 16);
    std::vector<std::shared_ptr<porthole::detail::hub_subscriber>> staying;
    for (int i = 0; i < 100; ++i) staying.push_back(come());
    for (int i = 0; i < 10000; ++i) come();
    CHECK(state->subscribers.size() <= 2 * staying.size());
    std::size_t live = 0;
    state->each_subscriber([&](porthole::detail::hub_subscriber&) { ++live; });
    CHECK(live == staying.size());
}
