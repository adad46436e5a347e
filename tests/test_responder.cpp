// Answering later: a responder through porthole::testing (no sockets, no threads but the
// test's own where a test says so), every race it must survive, and the server over loopback
// with answers sent from other threads.
#include <porthole/porthole.hpp>

#include "memory_bound.hpp"
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
using porthole::responder;
using porthole::response;
using porthole::status;

namespace {

// Keeps the responders its handler takes, for the test to answer.
struct held_answers {
    std::vector<responder> held;
    std::vector<std::string> paths;
    response operator()(request const& req) {
        if (req.path() == "/now") return response::text("now");
        held.push_back(porthole::answer_later(req));
        paths.emplace_back(req.path());
        return porthole::later;
    }
};

struct logged {
    std::vector<std::string> lines;
    porthole::connection_config config() {
        porthole::connection_config c;
        c.error_log = [this](std::string_view m) { lines.emplace_back(m); };
        return c;
    }
    bool has(std::string_view part) const {
        for (auto const& l : lines)
            if (l.find(part) != std::string::npos) return true;
        return false;
    }
};

}  // namespace

TEST_CASE("an answer sent later from the test thread goes out at the next step, nothing before") {
    held_answers app;
    porthole::testing::client c(app);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(c.output().empty());
    CHECK(c.conn().phase() == porthole::connection_phase::awaiting_answer);
    REQUIRE(app.held.size() == 1);
    CHECK(app.held[0].connected());
    CHECK(app.held[0].send(response::text("later")));
    CHECK(c.output().empty());  // delivered by the driver's step, not by send()
    CHECK(c.step() == 1);
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].body == "later");
    CHECK(!c.closed());
    CHECK(c.conn().phase() == porthole::connection_phase::idle);
}

TEST_CASE("a responder taken as the last parameter answers like one taken with answer_later") {
    std::optional<responder> kept;
    auto app = [&](request const&, responder r) { kept.emplace(std::move(r)); };
    static_assert(porthole::application<decltype(app)>);
    porthole::testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(kept);
    CHECK(c.output().empty());
    CHECK(kept->send(status::no_content));
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 204);
}

TEST_CASE("an answer sent during the handler call goes out at once") {
    auto app = [](request const& req) -> response {
        auto r = porthole::answer_later(req);
        CHECK(r.send(response::text("inline")));
        return porthole::later;
    };
    auto res = porthole::testing::get(app, "/");
    CHECK(res.status == 200);
    CHECK(res.body == "inline");
}

TEST_CASE("pipelined requests behind an awaited answer wait for it and keep their order") {
    held_answers app;
    porthole::testing::client c(app);
    c.send(
        "GET /now HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /first HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /now HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /second HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /now HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);  // only what came before the awaited one
    CHECK(rs[0].body == "now");
    REQUIRE(app.held.size() == 1);  // the rest is not even parsed yet
    CHECK(app.held[0].send(response::text("first")));
    c.step();
    rs = c.responses();
    REQUIRE(rs.size() == 3);
    CHECK(rs[1].body == "first");
    CHECK(rs[2].body == "now");
    REQUIRE(app.held.size() == 2);
    CHECK(app.paths[1] == "/second");
    CHECK(app.held[1].send(response::text("second")));
    c.step();
    rs = c.responses();
    REQUIRE(rs.size() == 5);
    CHECK(rs[3].body == "second");
    CHECK(rs[4].body == "now");
}

TEST_CASE("a driver's empty read while a held answer stops input, and its commit(0), lose nothing held") {
    held_answers app;
    porthole::testing::client c(app);
    std::string pipelined;
    while (pipelined.size() < 70 * 1024) pipelined += "GET /now HTTP/1.1\r\nHost: t\r\n\r\n";
    c.send("GET /first HTTP/1.1\r\nHost: t\r\n\r\n" + pipelined);
    REQUIRE_FALSE(c.conn().wants_read());  // 64 KiB held behind the awaited answer
    auto room = c.conn().read_buffer();
    CHECK(room.empty());
    c.conn().commit(0);  // as a driver does after any read (docs/connection.md)
    REQUIRE(app.held.size() == 1);
    CHECK(app.held[0].send(response::text("first")));
    c.step();
    auto rs = c.responses();
    CHECK(rs.size() == 1 + pipelined.size() / std::string("GET /now HTTP/1.1\r\nHost: t\r\n\r\n").size());
    CHECK(rs.back().body == "now");
}

TEST_CASE("the client leaves first: the responder reports it and a late answer is a harmless no-op") {
    held_answers app;
    porthole::testing::client c(app);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(app.held.size() == 1);
    c.close_input();
    CHECK(c.closed());
    CHECK(!app.held[0].connected());
    CHECK(!app.held[0].send(response::text("too late")));
    CHECK(c.step() == 0);
    CHECK(c.output().empty());
}

TEST_CASE("a responder destroyed without an answer gives 500 and says so in the error log") {
    held_answers app;
    logged log;
    porthole::testing::client c(app, log.config());
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n");
    app.held.clear();
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].status == 500);
    CHECK(rs[1].body == "now");                                              // the connection goes on
    CHECK(log.has("a responder was destroyed without answering (GET /a)"));  // names the request
}

TEST_CASE("a later answer with an interim status (1xx) or an invalid field gives 500, logged, and the next goes on") {
    for (int which = 0; which < 2; ++which) {
        CAPTURE(which);
        held_answers app;
        logged log;
        porthole::testing::client c(app, log.config());
        c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n");
        REQUIRE(app.held.size() == 1);
        response answer = response::text("interim?", static_cast<status>(103));
        if (which == 1) answer = response::text("split?").set_header("X-Bad", "a\r\nb");
        CHECK(app.held[0].send(std::move(answer)));
        c.step();
        auto rs = c.responses();
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].status == 500);
        CHECK(rs[1].body == "now");
        CHECK(c.output().find("HTTP/1.1 103") == std::string::npos);
        CHECK(log.has(which == 0 ? "response refused: status 103 does not end the exchange"
                                 : "response refused: invalid header field X-Bad"));
        CHECK(log.has("(GET /a)"));
    }
}

TEST_CASE("a responder that answers twice is refused the second time, visibly") {
    held_answers app;
    porthole::testing::client c(app);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(app.held.size() == 1);
    CHECK(app.held[0].send(response::text("one")));
    CHECK_THROWS_AS((void)app.held[0].send(response::text("two")), std::logic_error);
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "one");
}

TEST_CASE("a handler that takes a responder but returns a response has answered; the responder is refused") {
    std::optional<responder> kept;
    auto app = [&](request const& req) -> response {
        kept.emplace(porthole::answer_later(req));
        return response::text("at once");
    };
    porthole::testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "at once");
    CHECK(!kept->send(response::text("late")));
    c.step();
    CHECK(c.responses().size() == 1);
}

TEST_CASE("returning porthole::later without a responder is a 500, logged") {
    auto app = [](request const&) -> response { return porthole::later; };
    logged log;
    auto res = porthole::testing::send(app, {}, log.config());
    CHECK(res.status == 500);
    CHECK(log.has("answer_later"));
}

TEST_CASE("answer_later twice for one request throws; so does a request built by hand") {
    auto app = [](request const& req) -> response {
        auto a = porthole::answer_later(req);
        CHECK_THROWS_AS(porthole::answer_later(req), std::logic_error);
        CHECK(a.send(response::text("ok")));
        return porthole::later;
    };
    CHECK(porthole::testing::get(app, "/").body == "ok");
    CHECK_THROWS_AS(porthole::answer_later(request()), std::logic_error);
}

TEST_CASE("an access log that throws for an answer given later costs its connection only") {
    held_answers app;
    porthole::connection_config config;
    config.access_log = [](porthole::access_entry const&) { throw std::runtime_error("the log's disk is full"); };
    std::vector<std::string> errors;
    config.error_log = [&](std::string_view m) { errors.emplace_back(m); };
    porthole::testing::client c(app, config);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(app.held.size() == 1);
    CHECK(app.held[0].send(response::text("later")));
    // Delivered from the mailbox, as a loop does: the exception must not leave it (on a loop's
    // thread it would end the program). The connection ends, with nothing of it sent, and says so.
    CHECK(c.step() == 1);
    CHECK(c.closed());
    CHECK(c.output().empty());
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("an exception escaped while an answer given later was taken") != std::string::npos);
}

TEST_CASE("the response timeout answers 503 with Connection: close, and the responder is told") {
    held_answers app;
    porthole::testing::client c(app);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    c.time_out();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 503);
    CHECK(rs[0].header("Connection") == "close");
    CHECK(c.closed());
    CHECK(!app.held[0].connected());
    CHECK(!app.held[0].send(response::text("late")));
}

TEST_CASE("the response timeout's 503 names the request it answers in the access log") {
    held_answers app;
    std::vector<std::string> lines;
    porthole::connection_config config;
    config.access_log = [&](porthole::access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " + std::to_string(to_int(e.status)));
    };
    porthole::testing::client c(app, config);
    c.send("GET /a?b=1 HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n");
    c.time_out();
    CHECK(lines == std::vector<std::string>{"GET /a?b=1 503"});
}

TEST_CASE("the response timeout's 503 to HEAD has the head of its page and no content") {
    held_answers app;
    porthole::testing::client c(app);
    c.send("HEAD /a HTTP/1.1\r\nHost: t\r\n\r\n");
    c.time_out();
    auto rs = c.responses({true});
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 503);
    auto page = response::error(status::service_unavailable).body_view();
    CHECK(rs[0].header("Content-Length") == std::to_string(page.size()));
    CHECK(c.output().ends_with("\r\n\r\n"));
}

TEST_CASE("stopping with an answer outstanding: the answer still goes, with Connection: close") {
    held_answers app;
    porthole::testing::client c(app);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    c.stop();
    CHECK(app.held[0].send(response::text("done")));
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "done");
    CHECK(rs[0].header("Connection") == "close");
    CHECK(c.closed());
}

TEST_CASE("every response written while stopping says Connection: close, including at-once ones") {
    auto app = [](request const&) { return "x"; };
    porthole::testing::client c(app);
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab");
    c.stop();
    c.send("cd");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].header("Connection") == "close");
    CHECK(c.closed());
}

TEST_CASE("middleware attaches steps to a later answer; they run in order before it is written") {
    held_answers inner;
    std::vector<std::string> order;
    auto middleware = [&](request const& req) -> response {
        response res = porthole::call_application(inner, req);
        auto step = [&](response& r) {
            order.push_back("outer");
            r.set_header("X-Outer", "1");
        };
        if (res.answered_later()) {
            CHECK(porthole::when_answered(req, [&](response& r) {
                order.push_back("inner");
                r.set_header("X-Inner", std::string(r.body_view()));
            }));
            CHECK(porthole::when_answered(req, step));
        } else {
            CHECK(!porthole::when_answered(req, step));
            step(res);
        }
        return res;
    };
    porthole::testing::client c(middleware);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(order.empty());
    REQUIRE(inner.held.size() == 1);
    CHECK(inner.held[0].send(response::text("body")));
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].header("X-Inner") == "body");
    CHECK(rs[0].header("X-Outer") == "1");
    CHECK(rs[1].header("X-Outer") == "1");
    CHECK(order == std::vector<std::string>{"inner", "outer", "outer"});
}

TEST_CASE("an answer from another thread reaches the test's step (run under TSan)") {
    held_answers app;
    porthole::testing::client c(app);
    for (int i = 0; i < 50; ++i) {
        c.send("GET /t HTTP/1.1\r\nHost: t\r\n\r\n");
        REQUIRE(app.held.size() == static_cast<std::size_t>(i + 1));
        std::thread t(
            [r = std::move(app.held.back()), i]() mutable { CHECK(r.send(response::text(std::to_string(i)))); });
        t.join();
        c.step();
    }
    auto rs = c.responses();
    REQUIRE(rs.size() == 50);
    for (int i = 0; i < 50; ++i) CHECK(rs[i].body == std::to_string(i));
}

// ---------------------------------------------------------------- over sockets

namespace {

// Answers /later?ms=N from a timer thread, /fast at once.
struct timer_app {
    std::mutex mutex;
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    ~timer_app() {
        for (auto& t : threads) t.join();
    }
    response operator()(request const& req) {
        if (req.path() == "/fast") return response::text("fast");
        int ms = std::atoi(req.query("ms").value_or("0").c_str());
        std::lock_guard lock(mutex);
        threads.emplace_back([this, ms, r = porthole::answer_later(req)]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            if (!r.send(response::text("later " + std::to_string(ms)))) ++refused;
        });
        return porthole::later;
    }
};

bool wait_until(auto&& condition, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

porthole::server_options loopback(unsigned threads = 1) {
    porthole::server_options o;
    o.port = 0;
    o.allowed_hosts = {"t"};  // the Host the requests below name
    o.threads = threads;
    return o;
}

}  // namespace

TEST_CASE("over sockets: answers from other threads, in order behind pipelined requests (run under TSan)") {
    timer_app app;
    porthole::server s(app, loopback());
    s.start();
    test_client::connection a(s.port());
    REQUIRE(a.ok());
    REQUIRE(
        a.send("GET /later?ms=200 HTTP/1.1\r\nHost: t\r\n\r\nGET /fast HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /later?ms=10 HTTP/1.1\r\nHost: t\r\n\r\n"));
    // Meanwhile another client is served at once: the loop is not held.
    test_client::connection b(s.port());
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(b.get("/fast"));
    auto fast = b.read_reply();
    REQUIRE(fast);
    CHECK(std::chrono::steady_clock::now() - t0 < 150ms);
    auto r1 = a.read_reply();
    auto r2 = a.read_reply();
    auto r3 = a.read_reply();
    REQUIRE((r1 && r2 && r3));
    CHECK(r1->body == "later 200");
    CHECK(r2->body == "fast");
    CHECK(r3->body == "later 10");
    s.stop();
}

TEST_CASE("over sockets: a client that leaves before its answer costs nothing; the responder is refused") {
    timer_app app;
    porthole::server s(app, loopback());
    s.start();
    {
        test_client::connection a(s.port());
        REQUIRE(a.get("/later?ms=300"));
        std::this_thread::sleep_for(50ms);
    }  // closed
    wait_until([&] { return app.refused.load() == 1; }, 3s);
    CHECK(app.refused.load() == 1);
    s.stop();
}

TEST_CASE("over sockets: stop() waits for an outstanding answer, then 503 and close at the drain timeout") {
    timer_app app;
    auto o = loopback();
    o.drain_timeout = 300ms;
    porthole::server s(app, o);
    s.start();
    test_client::connection quick(s.port()), slow(s.port());
    REQUIRE(quick.get("/later?ms=100"));
    REQUIRE(slow.get("/later?ms=2000"));
    std::this_thread::sleep_for(30ms);
    std::thread stopper([&] { s.stop(); });
    auto q = quick.read_reply();
    auto w = slow.read_reply();
    stopper.join();
    REQUIRE(q);
    CHECK(q->body == "later 100");
    CHECK(q->header("Connection") == "close");
    REQUIRE(w);
    CHECK(w->status == 503);
    CHECK(w->header("Connection") == "close");
    CHECK(slow.closed_by_peer());
}

TEST_CASE("over sockets: the response timeout answers 503 and closes") {
    timer_app app;
    auto o = loopback();
    o.response_timeout = 200ms;
    porthole::server s(app, o);
    s.start();
    test_client::connection a(s.port());
    REQUIRE(a.get("/later?ms=1500"));
    auto r = a.read_reply();
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(a.closed_by_peer());
    s.stop();
}

TEST_CASE("over sockets with poll(): answers from other threads wake the caller's loop") {
    timer_app app;
    porthole::server s(app, loopback());
    s.poll(0ms);
    std::atomic<bool> done{false};
    std::optional<test_client::reply> got;
    std::thread client([&] {
        test_client::connection a(s.port());
        a.get("/later?ms=50");
        got = a.read_reply();
        done = true;
    });
    auto end = std::chrono::steady_clock::now() + 5s;
    while (!done && std::chrono::steady_clock::now() < end) s.poll(100ms);
    client.join();
    REQUIRE(got);
    CHECK(got->body == "later 50");
    s.stop();
}

TEST_CASE("input behind an answer still to come is capped: reading stops and memory stays bounded") {
    held_answers app;
    porthole::connection_config config;
    porthole::testing::client c(app, config);
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(app.held.size() == 1);
    // A peer that pipelines without end, fed the way a driver feeds: only while wanted.
    std::string const one = "GET /now HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(1000, 'p') + "\r\n\r\n";
    std::string burst;
    for (int i = 0; i < 4; ++i) burst += one;
    std::size_t sent = 0;
    while (c.conn().wants_read() && sent < (16u << 20)) {
        c.send(burst);
        sent += burst.size();
        CHECK(c.conn().memory_held() <= test_support::connection_memory_bound(config, {burst.size()}));
    }
    CHECK(!c.conn().wants_read());
    CHECK(sent >= 64 * 1024);                // the cap is 64 KiB of waiting input
    CHECK(sent < 64 * 1024 + burst.size());  // and reading stops right there
    CHECK(c.conn().memory_held() < 256 * 1024);
    CHECK(c.output().empty());  // nothing behind the awaited answer was answered
    CHECK(app.paths.size() == 1);
    // The answer comes: everything waiting is answered in order, and reading resumes.
    CHECK(app.held[0].send(response::text("later")));
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1 + sent / one.size());
    CHECK(rs[0].body == "later");
    CHECK(rs.back().body == "now");
    CHECK(c.conn().wants_read());
}
