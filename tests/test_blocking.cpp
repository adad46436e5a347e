// Blocking handlers on the worker pool: the wrapper in applications and routes, the pool's
// bound, failures; over loopback, slow handlers that hold no loop.
#include <porthole/porthole.hpp>

#include "memory_bound.hpp"
#include "server/client.hpp"
#include "thread_gate.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using porthole::request;
using porthole::response;
using porthole::status;

namespace {

std::string this_thread_name() { return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())); }

// Steps a test client until it has `n` responses (answers come from pool threads).
template <class Client>
bool step_until(Client& c, std::size_t n) {
    auto end = std::chrono::steady_clock::now() + 5s;
    while (c.responses().size() < n) {
        if (std::chrono::steady_clock::now() > end) return false;
        c.step();
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// A body parameter (app.hpp's body_reader), as json_body<T> is: empty is refused with 422.
struct words {
    std::string text;
};

}  // namespace

template <>
struct porthole::body_reader<words> {
    static std::optional<words> read(request const& req, response& refusal) {
        if (req.body().empty()) {
            refusal = status::unprocessable_content;
            return std::nullopt;
        }
        return words{std::string(req.body())};
    }
};

TEST_CASE("without a pool a blocking handler runs inline") {
    auto app = porthole::blocking([](request const&) { return this_thread_name(); });
    CHECK(porthole::testing::get(app, "/").body == this_thread_name());
}

TEST_CASE("with a pool the handler runs on a pool thread, on a copy of the request that outlives the call") {
    porthole::worker_pool pool(2, 4);
    porthole::connection_config config;
    config.workers = &pool;
    auto app = porthole::blocking([](request const& req) {
        std::this_thread::sleep_for(20ms);  // the connection has moved on; the copy stays
        return response::text(std::string(req.path()) + " " + std::string(req.header("X-A").value_or("")) + " " +
                              std::string(req.body()) + " " + this_thread_name());
    });
    porthole::testing::client c(app, config);
    c.send(
        "POST /p?q=1 HTTP/1.1\r\nHost: t\r\nX-A: b\r\nContent-Length: 4\r\n\r\nbody"
        "GET /second HTTP/1.1\r\nHost: t\r\nX-A: c\r\n\r\n");
    CHECK(c.output().empty());
    REQUIRE(step_until(c, 2));
    auto rs = c.responses();
    CHECK(rs[0].body.starts_with("/p b body "));
    CHECK(rs[1].body.starts_with("/second c  "));
    CHECK(!rs[0].body.ends_with(this_thread_name()));
    CHECK(pool.started_threads() >= 1);
}

TEST_CASE("routes: blocking handlers with path parameters, with and without the request") {
    porthole::worker_pool pool(2, 4);
    porthole::connection_config config;
    config.workers = &pool;
    auto app = porthole::router(
        porthole::get<"/n/{id:int}/{name}">(porthole::blocking([](std::int64_t id, std::string_view name) {
            std::this_thread::sleep_for(10ms);
            return std::to_string(id + 1) + " " + std::string(name) + " " + this_thread_name();
        })),
        porthole::get<"/r/{name}">(porthole::blocking([](request const& req, std::string_view name) {
            return std::string(name) + " " + std::string(req.param("name")) + " " + this_thread_name();
        })),
        porthole::get<"/fast">([] { return "fast"; }));
    porthole::testing::client c(app, config);
    c.send(
        "GET /n/41/caf%C3%A9 HTTP/1.1\r\nHost: t\r\n\r\nGET /r/x%20y HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /fast HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(step_until(c, 3));
    auto rs = c.responses();
    CHECK(rs[0].body.starts_with("42 café "));
    CHECK(rs[1].body.starts_with("x y x y "));
    CHECK(!rs[1].body.ends_with(this_thread_name()));
    CHECK(rs[2].body == "fast");
}

TEST_CASE(
    "routes: blocking handlers that take the body as a parameter, after the path's, with or without the "
    "request") {
    porthole::worker_pool pool(2, 4);
    porthole::connection_config config;
    config.workers = &pool;
    auto app = porthole::router(
        porthole::post<"/b">(porthole::blocking([](words w) { return w.text + " " + this_thread_name(); })),
        porthole::post<"/n/{id:int}/{name}">(
            porthole::blocking([](std::int64_t id, std::string_view name, words const& w) {
                std::this_thread::sleep_for(10ms);  // the connection has moved on: all three were kept
                return std::to_string(id + 1) + " " + std::string(name) + " " + w.text + " " + this_thread_name();
            })),
        porthole::post<"/r/{name}">(porthole::blocking([](request const& req, std::string_view name, words w) {
            return std::string(name) + " " + std::string(req.header("X-A").value_or("")) + " " + w.text + " " +
                   this_thread_name();
        })));
    porthole::testing::client c(app, config);
    c.send(
        "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
        "POST /n/41/caf%C3%A9 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\ndef"
        "POST /r/x%20y HTTP/1.1\r\nHost: t\r\nX-A: v\r\nContent-Length: 3\r\n\r\nghi"
        "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(step_until(c, 4));
    auto rs = c.responses();
    CHECK(rs[0].body.starts_with("abc "));
    CHECK(rs[1].body.starts_with("42 café def "));
    CHECK(rs[2].body.starts_with("x y v ghi "));
    for (int i = 0; i < 3; ++i) CHECK(!rs[i].body.ends_with(" " + this_thread_name()));  // on the pool
    CHECK(rs[3].status == 422);  // refused by the reader, before any job
}

TEST_CASE("a full pool answers 503 with Retry-After at once") {
    porthole::worker_pool pool(1, 0);
    porthole::connection_config config;
    config.workers = &pool;
    thread_gate g;
    auto app = porthole::blocking([&](request const&) {
        g.pass();
        return "done";
    });
    porthole::testing::client busy(app, config), refused(app, config);
    busy.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    g.wait_for_waiting(1);
    refused.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = refused.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 503);
    CHECK(rs[0].header("Retry-After") == "1");
    CHECK(rs[0].body == "Service Unavailable");  // response::error's page, as every other refusal
    CHECK(!refused.closed());
    g.release();
    REQUIRE(step_until(busy, 1));
    CHECK(busy.responses()[0].body == "done");
}

TEST_CASE("a safe request's job whose client left while it waited for a thread is skipped; a POST's runs") {
    porthole::worker_pool pool(1, 4);
    porthole::connection_config config;
    config.workers = &pool;
    thread_gate g;
    std::atomic<int> runs{0};
    auto app = porthole::blocking([&](request const& req) {
        ++runs;
        if (req.path() == "/hold") g.pass();
        return std::string(req.path());
    });
    porthole::testing::client holding(app, config), leaving(app, config), posting(app, config), staying(app, config);
    holding.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(g.wait_for_waiting(1));  // the one thread is busy: the next jobs wait in the queue
    leaving.send("GET /left HTTP/1.1\r\nHost: t\r\n\r\n");
    leaving.close_input();  // its client goes before a thread takes the job
    posting.send("POST /posted HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    posting.close_input();  // gone too, but a POST's effect may be wanted unanswered
    staying.send("GET /stayed HTTP/1.1\r\nHost: t\r\n\r\n");
    g.release();
    REQUIRE(step_until(holding, 1));
    REQUIRE(step_until(staying, 1));  // jobs run in order: the other two came before
    CHECK(staying.responses()[0].body == "/stayed");
    CHECK(runs.load() == 3);  // /hold, /posted and /stayed; /left was never run
    CHECK(leaving.responses().empty());
    CHECK(posting.responses().empty());
}

TEST_CASE("a job whose client was told 503 while it waited for a thread is not run, whatever its method") {
    // The response timeout (or the end of a drain) answers 503 in the job's place: the client
    // takes the request as failed and may send it again, so a POST run after all would act twice.
    porthole::worker_pool pool(1, 4);
    porthole::connection_config config;
    config.workers = &pool;
    thread_gate g;
    std::vector<std::string> ran;
    std::mutex ran_mutex;
    auto app = porthole::blocking([&](request const& req) {
        {
            std::lock_guard lock(ran_mutex);
            ran.emplace_back(req.path());
        }
        if (req.path() == "/hold") g.pass();
        return std::string(req.path());
    });
    porthole::testing::client holding(app, config), timed_out(app, config), drained(app, config), staying(app, config);
    holding.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(g.wait_for_waiting(1));  // the one thread is busy: the next jobs wait in the queue
    timed_out.send("POST /order HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    drained.send("POST /drained HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    staying.send("POST /stayed HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    timed_out.time_out();
    drained.stop().time_out();  // a drain that ends with the answer still to come
    for (auto* c : {&timed_out, &drained}) {
        REQUIRE(c->responses().size() == 1);
        CHECK(c->responses()[0].status == 503);
    }
    g.release();
    REQUIRE(step_until(holding, 1));
    REQUIRE(step_until(staying, 1));  // jobs run in order: the other two came before
    CHECK(staying.responses()[0].body == "/stayed");
    std::lock_guard lock(ran_mutex);
    CHECK(ran == std::vector<std::string>{"/hold", "/stayed"});
}

TEST_CASE("a blocking handler that throws gives 500, logged on the connection's thread") {
    porthole::worker_pool pool(1, 4);
    std::vector<std::string> log;
    porthole::connection_config config;
    config.workers = &pool;
    config.error_log = [&](std::string_view m) { log.emplace_back(m); };  // the test thread only
    auto app = porthole::blocking([](request const& req) -> response {
        if (req.path() == "/int") throw 7;
        throw std::runtime_error("no database");
    });
    porthole::testing::client c(app, config);
    c.send("GET /std HTTP/1.1\r\nHost: t\r\n\r\nGET /int HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(step_until(c, 2));
    CHECK(c.responses()[0].status == 500);
    CHECK(c.responses()[1].status == 500);
    REQUIRE(log.size() == 2);
    CHECK(log[0].find("no database") != std::string::npos);
    CHECK(log[1].find("blocking handler threw: a non-standard exception") != std::string::npos);
}

TEST_CASE("the pool starts no thread until a job needs one") {
    porthole::worker_pool pool(4, 4);
    CHECK(pool.started_threads() == 0);
    std::atomic<int> ran{0};
    std::function<void()> job = [&] { ++ran; };
    CHECK(pool.try_submit(job));
    CHECK(pool.started_threads() == 1);
    auto end = std::chrono::steady_clock::now() + 5s;
    while (ran.load() == 0 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
    pool.shut_down();
    CHECK(ran.load() == 1);
    std::function<void()> late = [&] { ++ran; };
    CHECK(!pool.try_submit(late));
    CHECK(late);  // not taken
}

// ---------------------------------------------------------------- over sockets

TEST_CASE("over sockets: 5 handlers blocking 2 s hold no fast request, on new or keep-alive connections") {
    auto app = porthole::router(
        porthole::get<"/slow">(porthole::blocking([](request const& req) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(req.query("ms").value_or("0").c_str())));
            return "slow";
        })),
        porthole::get<"/fast">([] { return "fast"; }));
    porthole::server_options o;  // default options, but a free port
    o.port = 0;
    porthole::server s(app, o);
    s.start();
    std::vector<std::thread> slow;
    std::atomic<int> slow_ok{0};
    for (int i = 0; i < 5; ++i) {
        slow.emplace_back([&] {
            test_client::connection c(s.port());
            c.get("/slow?ms=2000");
            auto r = c.read_reply();
            if (r && r->body == "slow") ++slow_ok;
        });
    }
    std::this_thread::sleep_for(100ms);  // the five are in their handlers
    auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration worst{};
    int fast_ok = 0;
    test_client::connection keep(s.port());
    for (int i = 0; i < 200; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        std::optional<test_client::reply> r;
        if (i % 2 == 0) {
            test_client::connection fresh(s.port());
            fresh.get("/fast");
            r = fresh.read_reply();
        } else {
            keep.get("/fast");
            r = keep.read_reply();
        }
        worst = std::max(worst, std::chrono::steady_clock::now() - t0);
        fast_ok += r && r->body == "fast";
    }
    auto elapsed = std::chrono::steady_clock::now() - start;
    for (auto& t : slow) t.join();
    CHECK(fast_ok == 200);
    CHECK(slow_ok.load() == 5);
    // No fast request waited for a slow one: all 200 were done while the slow ones slept.
    CHECK(elapsed < 1500ms);
    CHECK(worst < 1000ms);
    MESSAGE("200 fast requests in " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                                    << " ms, worst "
                                    << std::chrono::duration_cast<std::chrono::microseconds>(worst).count() << " us");
    s.stop();
}

TEST_CASE("over sockets: stop() from a blocking handler only asks, and the handler's answer goes out") {
    // The drain waits for that handler's answer: a stop() that waited for the drain from there
    // took the whole drain timeout, and its own client got 503.
    porthole::server_handle self;
    std::atomic<std::int64_t> stop_took_ms{-1};
    auto app = porthole::router(porthole::post<"/quit">(porthole::blocking([&] {
        auto t0 = std::chrono::steady_clock::now();
        self.stop();
        stop_took_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        return "bye";
    })));
    porthole::server_options o;
    o.port = 0;
    o.drain_timeout = 3s;
    porthole::server s(app, o);
    self = s.handle();
    s.start();
    test_client::connection c(s.port());
    REQUIRE(c.send("POST /quit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"));
    auto r = c.read_reply();
    REQUIRE(r);
    REQUIRE(r->status == 200);  // else nothing asked the server to stop, and wait() below would not return
    CHECK(r->body == "bye");
    REQUIRE(stop_took_ms.load() >= 0);
    CHECK(stop_took_ms.load() < 1000);
    s.wait();  // stopped: the drain had nothing more to wait for
}

TEST_CASE("input behind a blocking handler still running is capped: reading stops and memory stays bounded") {
    porthole::worker_pool pool(1, 4);
    porthole::connection_config config;
    config.workers = &pool;
    thread_gate g;
    auto app = porthole::blocking([&](request const& req) {
        if (req.path() == "/slow") g.pass();
        return response::text(std::string(req.path()));
    });
    porthole::testing::client c(app, config);
    c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    g.wait_for_waiting(1);
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
    CHECK(sent >= 64 * 1024);
    CHECK(sent < 64 * 1024 + burst.size());
    CHECK(c.conn().memory_held() < 256 * 1024);
    CHECK(c.output().empty());
    g.release();
    std::size_t expected = 1 + sent / one.size();
    CHECK(step_until(c, expected));
    auto rs = c.responses();
    REQUIRE(rs.size() == expected);
    CHECK(rs[0].body == "/slow");
    CHECK(rs.back().body == "/now");
    CHECK(c.conn().wants_read());
}
