// Request bodies taken as streams (body_stream.hpp): pieces as they arrive, per-route limits,
// backpressure, chunked bodies, early answers, clients that leave, layers on the sink's answer.
#include <porthole/porthole.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace porthole;

namespace {

// What a sink saw, kept outside it (the connection owns the sink).
struct seen_t {
    std::vector<std::string> pieces;
    std::size_t bytes = 0;
    bool ended = false, aborted = false;
    std::string all() const {
        std::string s;
        for (auto const& p : pieces) s += p;
        return s;
    }
};

struct counting_sink {
    std::shared_ptr<seen_t> seen;
    body_flow flow = body_flow::more;
    body_flow data(std::string_view piece) {
        seen->pieces.emplace_back(piece);
        seen->bytes += piece.size();
        return flow;
    }
    response end() {
        seen->ended = true;
        return response::text("got " + std::to_string(seen->bytes));
    }
    void abort() { seen->aborted = true; }
};

struct upload_routes {
    std::shared_ptr<seen_t> seen = std::make_shared<seen_t>();
    body_flow flow = body_flow::more;
    std::optional<body_resumer> resumer;
    int calls = 0;
    auto make() {
        return router{
            post<"/upload">(streamed_body({.max_size = 64ull << 20},
                                          [this](request const& req) -> response {
                                              ++calls;
                                              if (req.header("X-Refuse") == "1")
                                                  return response::text("no", status::forbidden);
                                              auto taken = take_body(req, counting_sink{seen, flow});
                                              resumer = taken.resumer;
                                              return taken;
                                          })),
            post<"/small">(streamed_body({.max_size = 10},
                                         [this](request const& req) { return take_body(req, counting_sink{seen}); })),
            post<"/whole">(streamed_body(
                {.max_size = 4ull << 20, .streamed = false},
                [](request const& req) { return response::text("whole " + std::to_string(req.body().size())); })),
            post<"/echo">(
                [](request const& req) { return response::text("echo " + std::to_string(req.body().size())); }),
            get<"/next">([] { return "next"; }),
        };
    }
};

std::string head(std::string_view target, std::uint64_t length, std::string_view extra = {}) {
    return "POST " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(length) +
           "\r\n" + std::string(extra) + "\r\n";
}

}  // namespace

TEST_CASE("a streamed route gets its body in pieces as they arrive, answers at the end, then the next request") {
    upload_routes u;
    auto app = u.make();
    static_assert(detail::plans_bodies<decltype(app)>);
    testing::client c(app);
    c.send(head("/upload", 10) + "hello");
    CHECK(u.calls == 1);  // the handler ran with the head alone
    CHECK(u.seen->all() == "hello");
    CHECK(c.output().empty());
    CHECK(c.conn().phase() == connection_phase::reading_body);
    c.send("world");
    c.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "got 10");
    CHECK(rs[1].body == "next");
    CHECK(u.seen->pieces == std::vector<std::string>{"hello", "world"});
    CHECK(u.seen->ended);
    CHECK(!u.seen->aborted);
}

TEST_CASE("with a streamed route, splitting the input at every byte offset gives identical output") {
    // The head is parsed on its own first (the route says how its body is taken): a head that
    // arrives in pieces is kept by the connection in a buffer of its own that moves as it grows.
    auto input = head("/upload", 5, "X-Pad: " + std::string(300, 'p') + "\r\n") + "hello" +
                 "GET /next?who=alice HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(300, 'q') + "\r\n\r\n" +
                 head("/echo", 3) + "xyz";
    upload_routes whole_routes;
    auto whole_app = whole_routes.make();
    testing::client whole(whole_app);
    whole.send(input);
    auto expected = whole.responses();
    REQUIRE(expected.size() == 3);
    CHECK(expected[0].body == "got 5");
    CHECK(expected[1].body == "next");
    CHECK(expected[2].body == "echo 3");
    auto check_split = [&](std::vector<std::size_t> const& cuts) {
        upload_routes u;
        auto app = u.make();
        testing::client c(app);
        c.send_split(input, cuts);
        auto rs = c.responses();
        REQUIRE(rs.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(rs[i].status == expected[i].status);
            CHECK(rs[i].body == expected[i].body);
        }
        CHECK(u.seen->all() == "hello");
    };
    for (std::size_t cut = 1; cut < input.size(); cut += 3) {
        CAPTURE(cut);
        check_split({cut});
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 16; i < input.size(); i += 16) every.push_back(i);
    check_split(every);
}

TEST_CASE("per-route limits: the upload route takes what others refuse; each refuses past its own") {
    upload_routes u;
    auto app = u.make();
    std::string big(3u << 20, 'x');  // past the 1 MiB default
    auto r = testing::send(app, {.method = method::post, .target = "/upload", .body = big});
    CHECK(r.status == 200);
    CHECK(r.body == "got " + std::to_string(big.size()));
    CHECK(testing::send(app, {.method = method::post, .target = "/echo", .body = big}).status == 413);
    auto whole = testing::send(app, {.method = method::post, .target = "/whole", .body = big});
    CHECK(whole.body == "whole " + std::to_string(big.size()));
    // Content-Length past the route's limit: the handler's take_body() answers 413 before a byte
    // of the body is read (the sink is not used), and the connection closes.
    upload_routes fresh;
    auto fresh_app = fresh.make();
    testing::client c(fresh_app);
    c.send(head("/small", 11) + "01234567890");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 413);
    CHECK(c.closed());
    CHECK(fresh.seen->pieces.empty());
    CHECK(!fresh.seen->ended);
    CHECK(fresh.seen->aborted);  // told, so that what it made for the body (a file) goes
}

TEST_CASE("a request with no body to a streamed route is a zero-length body, and the next request follows") {
    upload_routes u;
    auto app = u.make();
    testing::client c(app);
    c.send("POST /upload HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].body == "got 0");
    CHECK(rs[1].body == "next");
    CHECK(u.seen->ended);
    CHECK(!c.closed());
}

TEST_CASE("a body refused for its size: the refusal stands whatever the handler does after take_body()") {
    auto seen = std::make_shared<seen_t>();
    bool second_refused = false;
    auto app = router{
        post<"/later">(streamed_body({.max_size = 10},
                                     [seen](request const& req) -> response {
                                         (void)take_body(req, counting_sink{seen});
                                         return later;  // the sink answers, or the 413 stands
                                     })),
        post<"/twice">(streamed_body({.max_size = 10},
                                     [&](request const& req) -> response {
                                         auto taken = take_body(req, counting_sink{seen});
                                         try {
                                             (void)take_body(req, counting_sink{seen});
                                         } catch (std::logic_error const&) {
                                             second_refused = true;
                                         }
                                         return taken;
                                     })),
    };
    testing::client c(app);
    c.send(head("/later", 5) + "hello");
    REQUIRE(c.responses().size() == 1);
    CHECK(c.responses()[0].body == "got 5");
    testing::client d(app);
    d.send(head("/later", 1000));
    REQUIRE(d.responses().size() == 1);
    CHECK(d.responses()[0].status == 413);
    testing::client e(app);
    e.send(head("/twice", 1000));
    REQUIRE(e.responses().size() == 1);
    CHECK(e.responses()[0].status == 413);
    CHECK(second_refused);  // asked once, as for a body taken
}

TEST_CASE("a streamed body behind a body cut short is aborted, and nothing answers it") {
    auto seen = std::make_shared<seen_t>();
    auto app = router{
        get<"/fails">([] {
            int n = 0;
            return response::stream([n]() mutable -> std::optional<std::string> {
                if (n++ == 2) throw std::runtime_error("disk gone");
                return "piece" + std::to_string(n);
            });
        }),
        post<"/upload">(streamed_body({.max_size = 1000},
                                      [seen](request const& req) { return take_body(req, counting_sink{seen}); })),
    };
    connection_config cfg;
    cfg.error_log = [](std::string_view) {};
    testing::client c(app, cfg);
    c.send("GET /fails HTTP/1.1\r\nHost: t\r\n\r\n" + head("/upload", 10) + "hello");
    CHECK(seen->aborted);
    CHECK(c.conn().phase() == connection_phase::closed);
    CHECK(c.closed());
    c.time_out();
    CHECK(c.output().ends_with("piece2\r\n"));  // no 408 after it
}

TEST_CASE("a bodiless request with Expect: 100-continue answered at once keeps the connection") {
    upload_routes u;
    auto app = u.make();
    testing::client c(app);
    c.send(
        "POST /upload HTTP/1.1\r\nHost: t\r\nX-Refuse: 1\r\nExpect: 100-continue\r\n\r\n"
        "GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].status == 403);
    CHECK(rs[1].body == "next");
    CHECK(c.output().find("100 Continue") == std::string::npos);
}

TEST_CASE("Expect: 100-continue with nothing to send, or with the body sent already: no 100, no wait, no close") {
    upload_routes u;
    auto app = u.make();
    std::string const next = "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";
    // Content-Length: 0 (a client waits for nothing): refused or taken, the connection goes on.
    // Refused, it was closed and the request behind dropped; taken, a 100 went out first.
    for (char const* refuse : {"X-Refuse: 1\r\n", ""}) {
        CAPTURE(std::string(refuse));
        testing::client c(app);
        c.send(head("/upload", 0, std::string(refuse) + "Expect: 100-continue\r\n") + next);
        auto rs = c.responses();
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].status == (*refuse ? 403 : 200));
        CHECK(rs[0].header("Connection") != "close");
        CHECK(rs[1].body == "next");
        CHECK_FALSE(c.closed());
        CHECK(c.output().find("100 Continue") == std::string::npos);
    }
    // The whole body sent with the head: it is in hand, read and dropped on a refusal.
    testing::client r(app);
    r.send(head("/upload", 5, "X-Refuse: 1\r\nExpect: 100-continue\r\n") + "hello" + next);
    auto rs = r.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].status == 403);
    CHECK(rs[1].body == "next");
    CHECK_FALSE(r.closed());
    testing::client t(app);
    t.send(head("/upload", 5, "Expect: 100-continue\r\n") + "hello" + next);
    rs = t.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "got 5");
    CHECK(rs[1].body == "next");
    CHECK(t.output().find("100 Continue") == std::string::npos);
    // Part of it sent: the client may be waiting for the rest's 100 all the same.
    testing::client p(app);
    p.send(head("/upload", 5, "X-Refuse: 1\r\nExpect: 100-continue\r\n") + "hel");
    rs = p.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].header("Connection") == "close");
    CHECK(p.closed());
}

TEST_CASE("a body refused for its size goes through the layers: authentication first, their after steps on the 413") {
    upload_routes u;
    struct gate {
        std::optional<response> before(request const& req) const {
            if (!req.header("X-Key")) return response::text("who are you", status::unauthorized);
            return std::nullopt;
        }
    };
    auto app = layers{security_headers{}, gate{}}(u.make());
    // Too large by its Content-Length: without credentials 401 (the limit is not told), with
    // them 413 carrying the outer layer's fields; the body is not read either way.
    for (bool key : {false, true}) {
        testing::client c(app);
        c.send(head("/small", 1000, key ? "X-Key: 1\r\n" : "") + "0123");
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == (key ? 413 : 401));
        CHECK(rs[0].header("X-Content-Type-Options") == "nosniff");
        CHECK(c.closed());
    }
    // Too large once decoded (chunked): the sink is aborted, and the 413 is its answer, through
    // the layers' after steps too.
    testing::client d(app);
    d.send("POST /small HTTP/1.1\r\nHost: t\r\nX-Key: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    d.send("6\r\n world\r\n0\r\n\r\n");
    auto rs = d.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 413);
    CHECK(rs[0].header("X-Content-Type-Options") == "nosniff");
    CHECK(rs[0].header("Connection") == "close");
    CHECK(u.seen->aborted);
    CHECK(d.closed());
}

TEST_CASE("chunked bodies stream decoded; past the limit: 413, the sink aborted, the connection closed") {
    upload_routes u;
    auto app = u.make();
    testing::client c(app);
    c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    CHECK(u.seen->all() == "hello");
    c.send("6\r");  // a size line cut short waits for its end
    c.send("\n wor");
    c.send("ld\r\n0\r\n");
    CHECK(c.responses().empty());
    c.send("\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "got 11");
    CHECK(u.seen->pieces == std::vector<std::string>{"hello", " wor", "ld"});

    upload_routes small;
    auto app2 = small.make();
    testing::client d(app2);
    d.send("POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    d.send("6\r\n world\r\n0\r\n\r\n");
    rs = d.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 413);
    CHECK(small.seen->aborted);
    CHECK(!small.seen->ended);
    CHECK(d.closed());

    testing::client e(app);
    e.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX");
    rs = e.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 400);
    CHECK(e.closed());
}

TEST_CASE("a streamed route's answers to HEAD have no content, its refusals and the connection's own included") {
    auto seen = std::make_shared<seen_t>();
    auto app = router{get<"/up">(
        streamed_body({.max_size = 10}, [seen](request const& req) { return take_body(req, counting_sink{seen}); }))};
    struct head_case {
        std::string rest;  // after the head
        status expected;
        bool times_out;
    };
    for (auto const& one : std::vector<head_case>{
             {"5\r\nhello\r\n0\r\n\r\n", status::ok, false},
             {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", status::content_too_large, false},
             {"5\r\nhelloXX", status::bad_request, false},
             {"5\r\nhel", status::request_timeout, true},
         }) {
        auto const& rest = one.rest;  // no structured binding: clang 14 cannot capture one (CAPTURE)
        auto const expected = one.expected;
        bool const times_out = one.times_out;
        CAPTURE(rest);
        std::vector<std::pair<std::string, std::uint64_t>> logged;
        connection_config cfg;
        cfg.access_log = [&](access_entry const& e) { logged.emplace_back(e.method, e.body_bytes); };
        testing::client c(app, cfg);
        c.send("HEAD /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + rest);
        if (times_out) c.time_out();
        auto rs = c.responses({true});
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == to_int(expected));
        CHECK(rs[0].header("Content-Length").has_value());
        CHECK(c.output().ends_with("\r\n\r\n"));
        CHECK(logged == std::vector<std::pair<std::string, std::uint64_t>>{{"HEAD", 0}});
    }
}

TEST_CASE("backpressure: a sink that waits stops the reading until it is resumed from another thread") {
    upload_routes u;
    u.flow = body_flow::wait;
    auto app = u.make();
    testing::client c(app);
    c.send(head("/upload", 6) + "abc");
    CHECK(u.seen->all() == "abc");
    CHECK(!c.conn().wants_read());
    CHECK(c.conn().phase() == connection_phase::awaiting_answer);
    c.send("def");  // a driver would not read now; what is handed in is kept, not given
    CHECK(u.seen->all() == "abc");
    REQUIRE(u.resumer);
    std::thread([&] { CHECK(u.resumer->resume()); }).join();
    c.step();
    CHECK(u.seen->all() == "abcdef");
    // It waits on the last piece too: end() comes once it is resumed, not before.
    CHECK(c.responses().empty());
    CHECK(c.conn().phase() == connection_phase::awaiting_answer);
    std::thread([&] { CHECK(u.resumer->resume()); }).join();
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "got 6");
}

TEST_CASE("an early answer: the handler's refusal goes out and the body is read and dropped") {
    upload_routes u;
    auto app = u.make();
    testing::client c(app);
    c.send(head("/upload", 5, "X-Refuse: 1\r\n") + "hel");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 403);
    c.send(
        "lo"
        "GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[1].body == "next");
    CHECK(u.seen->pieces.empty());

    // With Expect: 100-continue the client has not sent it: no 100, and the connection closes.
    testing::client e(app);
    e.send(head("/upload", 5, "X-Refuse: 1\r\nExpect: 100-continue\r\n"));
    rs = e.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 403);
    CHECK(rs[0].header("Connection") == "close");
    CHECK(e.closed());
    // With Connection: close the body is not read on either: the connection closes after the
    // answer (and a driver lingers, reading and dropping the rest), rather than waiting for it.
    testing::client g(app);
    g.send(head("/upload", 1000, "X-Refuse: 1\r\nConnection: close\r\n") + "hel");
    rs = g.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 403);
    CHECK(g.closed());
    CHECK(g.conn().closes_before_input_ends());
    CHECK(g.conn().phase() == connection_phase::closed);
    // Taken: 100 Continue, then the body.
    testing::client f(app);
    f.send(head("/upload", 2, "Expect: 100-continue\r\n"));
    CHECK(f.output().starts_with("HTTP/1.1 100 Continue\r\n\r\n"));
    f.send("ok");
    CHECK(f.responses().back().body == "got 2");
}

TEST_CASE("a layer's early answer never reaches the streamed route; layers' steps apply to the sink's answer") {
    upload_routes u;
    struct gate {
        std::optional<response> before(request const& req) const {
            if (req.header("X-Deny")) return response::text("denied", status::unauthorized);
            return std::nullopt;
        }
    };
    auto app = layers{security_headers{}, request_id{}, gate{}}(u.make());
    static_assert(detail::plans_bodies<decltype(app)>);
    testing::client c(app);
    c.send(head("/upload", 4, "X-Deny: 1\r\n") + "data");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 401);
    CHECK(u.calls == 0);
    c.send(head("/upload", 4) + "da");
    CHECK(c.responses().size() == 1);
    c.send("ta");
    rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[1].body == "got 4");
    CHECK(rs[1].header("X-Content-Type-Options") == "nosniff");
    CHECK(rs[1].header("X-Request-Id").value_or("").size() == 32);
}

TEST_CASE("a client that leaves mid-body: the sink is aborted and nothing is answered") {
    upload_routes u;
    auto app = u.make();
    testing::client c(app);
    c.send(head("/upload", 100) + "part");
    c.close_input();
    CHECK(u.seen->aborted);
    CHECK(!u.seen->ended);
    CHECK(c.responses().empty());
}

TEST_CASE("a sink that stops: its answer goes out with Connection: close, the rest is not read") {
    struct stopper {
        body_flow data(std::string_view) { return body_flow::stop; }
        response end() { return response::text("enough", status::content_too_large); }
    };
    auto app = router{post<"/up">(
        streamed_body({.max_size = 1 << 20}, [](request const& req) { return take_body(req, stopper{}); }))};
    testing::client c(app);
    c.send(head("/up", 1000) + "first");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 413);
    CHECK(rs[0].header("Connection") == "close");
    CHECK(c.closed());
}

TEST_CASE("a sink that answers later through a responder; the body timeout, and the response timeout while it waits") {
    std::optional<responder> later_answer;
    struct deferring {
        std::optional<responder>* out;
        void data(std::string_view) {}
        void end(responder r) { *out = std::move(r); }
    };
    auto app = router{post<"/up">(streamed_body(
        {.max_size = 1 << 20}, [&](request const& req) { return take_body(req, deferring{&later_answer}); }))};
    testing::client c(app);
    c.send(head("/up", 3) + "abc");
    REQUIRE(later_answer);
    CHECK(c.conn().phase() == connection_phase::awaiting_answer);
    std::thread([&] { later_answer->send(response::text("stored")); }).join();
    c.step();
    CHECK(c.responses().back().body == "stored");

    testing::client slow(app);
    slow.send(head("/up", 3) + "a");
    CHECK(slow.conn().phase() == connection_phase::reading_body);
    slow.time_out();
    auto rs = slow.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 408);
    CHECK(slow.closed());
}

TEST_CASE("a sink that keeps its own resumer, as the docs suggest, is freed once its body is over") {
    struct keeps_resumer {
        std::shared_ptr<std::optional<body_resumer>> resumer;  // filled by the handler
        std::shared_ptr<int> alive = std::make_shared<int>(0);
        body_flow data(std::string_view) { return body_flow::more; }
        response end() { return response::text("ok"); }
    };
    std::weak_ptr<int> sink_alive;
    std::optional<body_resumer> kept_outside;
    auto app = router{post<"/up">(streamed_body({.max_size = 1 << 20}, [&](request const& req) {
        auto slot = std::make_shared<std::optional<body_resumer>>();
        keeps_resumer sink{slot};
        sink_alive = sink.alive;
        auto taken = take_body(req, std::move(sink));
        *slot = taken.resumer;
        kept_outside = taken.resumer;
        return taken;
    }))};
    testing::client c(app);
    c.send(head("/up", 3) + "abc");
    REQUIRE(c.responses().size() == 1);
    CHECK(c.responses()[0].body == "ok");
    CHECK(sink_alive.expired());  // no cycle through the resumer it holds
    REQUIRE(kept_outside);
    CHECK(!kept_outside->resume());  // nobody is there any more
}

TEST_CASE("a sink whose data() throws, a std::exception or anything else, is answered 500 and the connection closes") {
    struct data_throws {
        bool standard;
        body_flow data(std::string_view) {
            if (standard) throw std::runtime_error("the disk is gone");
            throw 42;
        }
        response end() { return response::text("never"); }
    };
    for (bool standard : {true, false}) {
        CAPTURE(standard);
        auto app = router{post<"/up">(streamed_body(
            {.max_size = 1 << 20}, [standard](request const& req) { return take_body(req, data_throws{standard}); }))};
        std::vector<std::string> errors;
        connection_config config;
        config.error_log = [&](std::string_view m) { errors.emplace_back(m); };
        testing::client c(app, config);
        c.send(head("/up", 3) + "abc");
        c.step();
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 500);
        CHECK(c.closed());
        REQUIRE(!errors.empty());
        CHECK(errors[0].find(standard ? "a body sink threw: the disk is gone"
                                      : "a body sink threw: a non-standard exception") != std::string::npos);
    }
}

TEST_CASE("a sink whose end() throws is answered 500, at once or behind an answer still to come") {
    struct end_throws {  // takes the responder and drops it in throwing
        void data(std::string_view) {}
        void end(responder) { throw std::runtime_error("the disk is gone"); }
    };
    struct end_throws_keeping {  // leaves the responder where it was
        void data(std::string_view) {}
        void end(responder&&) { throw std::runtime_error("the disk is gone"); }
    };
    struct end_throws_holding {  // keeps the responder, then throws
        std::optional<responder> kept;
        void data(std::string_view) {}
        void end(responder r) {
            kept.emplace(std::move(r));
            throw std::runtime_error("the disk is gone");
        }
    };
    std::optional<responder> first;
    auto app = router{
        post<"/first">([&](request const& req) -> response {
            first.emplace(answer_later(req));
            return later;
        }),
        post<"/throws">(
            streamed_body({.max_size = 1 << 20}, [](request const& req) { return take_body(req, end_throws{}); })),
        post<"/throws-keeping">(streamed_body({.max_size = 1 << 20},
                                              [](request const& req) { return take_body(req, end_throws_keeping{}); })),
        post<"/throws-holding">(streamed_body({.max_size = 1 << 20},
                                              [](request const& req) { return take_body(req, end_throws_holding{}); })),
    };
    for (std::string target : {"/throws", "/throws-keeping", "/throws-holding"}) {
        CAPTURE(target);
        std::vector<std::string> errors;
        connection_config config;
        config.error_log = [&](std::string_view m) { errors.emplace_back(m); };
        // At once: the body is whole as it arrives.
        testing::client now(app, config);
        now.send(head(target, 3) + "abc");
        now.step();
        auto rs = now.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 500);
        // Pipelined behind an answer given later: the sink's end() runs where that answer is
        // taken, which must not let the exception out to the loop's thread.
        testing::client behind(app, config);
        behind.send(head("/first", 0) + head(target, 3) + "abc");
        REQUIRE(first);
        CHECK(first->send(response::text("first")));
        behind.step();
        rs = behind.responses();
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].body == "first");
        CHECK(rs[1].status == 500);
        CHECK(!behind.closed());
        // Logged once each, naming the request, with why: the exception, also where it destroyed
        // the responder the sink took.
        std::string why = "a body sink's end() threw: the disk is gone (POST " + target + ")";
        REQUIRE(errors.size() == 2);
        for (auto const& e : errors) CHECK(e.find(why) != std::string::npos);
        first.reset();
    }
}

TEST_CASE("take_body outside a streamed route is refused") {
    auto app = [](request const& req) -> response {
        try {
            return take_body(req, counting_sink{std::make_shared<seen_t>()});
        } catch (std::logic_error const&) {
            return response::text("refused");
        }
    };
    CHECK(testing::send(app, {.method = method::post, .target = "/", .body = "x"}).body == "refused");
}

TEST_CASE("a layer knows how the body reaches the application: whole, offered to a sink, or refused unread") {
    upload_routes u;
    std::vector<body_delivery> seen;
    struct recorder {
        std::vector<body_delivery>* seen;
        void before(request const& req) const { seen->push_back(body_delivery_of(req)); }
    };
    auto app = layers{recorder{&seen}}(u.make());
    auto one = [&](std::string const& bytes) {
        testing::client c(app);
        c.send(bytes);
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        return rs[0].status;
    };
    CHECK(one(head("/echo", 3) + "abc") == 200);
    CHECK(one(head("/upload", 3) + "abc") == 200);
    // Over a route's own limit (read whole, not streamed), and over the connection's: 413 with
    // the handler not run.
    CHECK(one(head("/whole", (4ull << 20) + 1)) == 413);
    CHECK(one(head("/echo", (1u << 20) + 1)) == 413);
    CHECK(seen == std::vector<body_delivery>{body_delivery::whole, body_delivery::offered, body_delivery::refused,
                                             body_delivery::refused});
    CHECK(u.calls == 1);
    CHECK(body_delivery_of(request{}) == body_delivery::whole);
}

TEST_CASE("a streamed route's early answer with an invalid header field is a logged 500") {
    auto app = router{post<"/upload">(streamed_body({.max_size = 1000}, [](request const&) {
        response r = response::text("not now");
        r.set_header("X-Split", "a\r\nInjected: yes");
        return r;
    }))};
    std::string errors;
    connection_config cfg;
    cfg.error_log = [&errors](std::string_view line) { errors += line; };
    testing::client c(app, cfg);
    c.send(head("/upload", 5) + "hello");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 500);
    CHECK_FALSE(rs[0].header("Injected").has_value());
    CHECK(errors.find("X-Split") != std::string::npos);  // the log names the field
    CHECK(errors.find("/upload") != std::string::npos);
}
