// Layers around applications that answer later: each shipped layer's after() step applies to an
// answer sent through a responder, or by a blocking handler on the worker pool, exactly as to
// one given at once; an early answer from a layer never reaches the application.
#include <porthole/porthole.hpp>

#include "layer_support.hpp"
#include "server/client.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#if PORTHOLE_WITH_ZLIB
#include <zlib.h>
#endif

using namespace std::chrono_literals;
using namespace porthole;

namespace {

// Keeps each request's responder for the test to answer; counts its calls.
struct deferred_app {
    std::vector<responder> held;
    int calls = 0;
    response operator()(request const& req) {
        ++calls;
        held.push_back(answer_later(req));
        return later;
    }
};

auto by_ref(deferred_app& a) {
    return [&a](request const& req) { return a(req); };
}

// Sends `request`, checks nothing goes out before the answer, answers with `answer` from
// another thread, and returns the one response.
template <class App>
testing::parsed_response answered_later(App& app, deferred_app& inner, std::string const& request, response answer) {
    testing::client c(app);
    c.send(request);
    CHECK(c.output().empty());
    REQUIRE(inner.held.size() == 1);
    std::thread([&] { CHECK(inner.held[0].send(std::move(answer))); }).join();
    CHECK(c.output().empty());  // delivered at the driver's step, with the steps run there
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    return rs[0];
}

}  // namespace

TEST_CASE("after() steps run on a later answer, innermost first, only when it comes") {
    std::vector<std::string> trace;
    deferred_app inner;
    auto app = layers{tracer{"a", &trace}, tracer{"b", &trace}}(by_ref(inner));
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(trace == std::vector<std::string>{"a.before", "b.before"});
    REQUIRE(inner.held.size() == 1);
    CHECK(inner.held[0].send(response::text("later")));
    c.step();
    CHECK(trace == std::vector<std::string>{"a.before", "b.before", "b.after", "a.after"});
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "later");
    CHECK(headers_of(rs[0], "X-Trace") == "b,a");
}

TEST_CASE("an early answer from a layer never reaches an application that would answer later") {
    deferred_app inner;
    auto app = layers{gate{}}(by_ref(inner));
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Deny: 1\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 403);
    CHECK(inner.calls == 0);
    CHECK(inner.held.empty());
    CHECK(c.conn().phase() == connection_phase::idle);
}

TEST_CASE("the access log layer writes its line when the later answer comes, with its status and size") {
    std::vector<std::string> lines;
    deferred_app inner;
    auto app = layers{access_log([&](access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " + std::to_string(to_int(e.status)) +
                        " " + std::to_string(e.body_bytes));
    })}(by_ref(inner));
    testing::client c(app);
    c.send("POST /jobs?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(lines.empty());  // nothing is known of the answer yet
    REQUIRE(inner.held.size() == 1);
    std::thread([&] { inner.held[0].send(response::text("created!", status::created)); }).join();
    c.step();
    CHECK(lines == std::vector<std::string>{"POST /jobs?x=1 201 8"});
}

TEST_CASE("a later answer that cannot be sent: the layers' steps see the 500 in its place, logged once") {
    std::vector<std::string> lines, logged;
    deferred_app inner;
    std::vector<std::string> trace;
    auto app = layers{access_log([&](access_entry const& e) {
                          lines.push_back(std::string(e.target) + " " + std::to_string(to_int(e.status)));
                      }),
                      tracer{"a", &trace}}(by_ref(inner));
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged.emplace_back(m); };
    testing::client c(app, cfg);
    c.send("GET /early-hints HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(inner.held.size() == 1);
    std::thread([&] { inner.held[0].send(response::text("hints", static_cast<status>(103))); }).join();
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 500);
    CHECK(rs[0].header("X-Trace") == "a");
    CHECK(lines == std::vector<std::string>{"/early-hints 500"});  // what was sent, not the 103
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].starts_with("response refused: status 103 does not end the exchange"));
}

TEST_CASE("request_id: the later answer carries the id the application saw") {
    deferred_app inner;
    std::string seen;
    auto app = layers{request_id{}}([&](request const& req) {
        seen = req.header("X-Request-Id").value_or("");
        return inner(req);
    });
    auto r = answered_later(app, inner, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", response::text("ok"));
    CHECK(seen.size() == 32);
    CHECK(r.header("X-Request-Id") == seen);
    inner.held.clear();
    auto passed =
        answered_later(app, inner, "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc-123\r\n\r\n", response::text("ok"));
    CHECK(passed.header("X-Request-Id") == "abc-123");
}

TEST_CASE("cors: a later answer to an allowed origin gets its fields and Vary; a refused one does not") {
    deferred_app inner;
    auto app = layers{cors({.origins = {"https://app.example"}, .credentials = true})}(by_ref(inner));
    auto ok = answered_later(app, inner, "GET /d HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n",
                             response::text("data"));
    CHECK(ok.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK(ok.header("Access-Control-Allow-Credentials") == "true");
    CHECK(headers_of(ok, "Vary").find("Origin") != std::string::npos);
    inner.held.clear();
    auto other = answered_later(app, inner, "GET /d HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n\r\n",
                                response::text("data"));
    CHECK_FALSE(other.header("Access-Control-Allow-Origin").has_value());
    CHECK(headers_of(other, "Vary").find("Origin") != std::string::npos);
    // A preflight is answered by the layer: the application is never asked.
    inner.held.clear();
    testing::client c(app);
    c.send(
        "OPTIONS /d HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 204);
    CHECK(inner.held.empty());
}

TEST_CASE("security_headers: a later answer gets the fields, and keeps the handler's own") {
    deferred_app inner;
    auto app = layers{security_headers{}}(by_ref(inner));
    auto r = answered_later(app, inner, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", response::text("page"));
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
    CHECK(!r.header("Content-Security-Policy").value_or("").empty());
    CHECK(!r.header("Referrer-Policy").value_or("").empty());
    inner.held.clear();
    response own = response::text("page");
    own.set_header("Referrer-Policy", "no-referrer-when-downgrade");
    auto kept = answered_later(app, inner, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", std::move(own));
    CHECK(kept.header("Referrer-Policy") == "no-referrer-when-downgrade");
}

#if PORTHOLE_WITH_ZLIB
TEST_CASE("compression: a later answer is compressed as one given at once, Vary and weak ETag included") {
    deferred_app inner;
    auto app = layers{compression{}}(by_ref(inner));
    std::string text(4000, 'a');
    response res = response::text(text);
    res.set_header("ETag", "\"v1\"");
    auto r = answered_later(app, inner, "GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n", std::move(res));
    CHECK(r.header("Content-Encoding") == "gzip");
    CHECK(r.body.size() < text.size());
    CHECK(headers_of(r, "Vary").find("Accept-Encoding") != std::string::npos);
    CHECK(r.header("ETag") == "W/\"v1\"");
}

std::string gunzip(std::string_view in) {
    z_stream z{};
    REQUIRE(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
    std::string out;
    char buf[4096];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
    }
    inflateEnd(&z);
    return out;
}

TEST_CASE("compression: a live stream behind the layer is compressed piece by piece and still waits") {
    std::optional<stream_writer> writer;
    auto app = layers{compression{}}([&](request const&) {
        auto [res, w] = push_stream("text/plain");
        writer = w;
        return std::move(res);
    });
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    REQUIRE(writer);
    CHECK(c.conn().phase() == connection_phase::awaiting_stream);
    CHECK(c.output().find("Content-Encoding: gzip") != std::string::npos);
    auto head = c.output().size();
    std::thread([&] { CHECK(writer->write("first piece, ") == stream_writer::result::written); }).join();
    c.step();
    CHECK(c.output().size() > head);  // flushed as it came, before the stream ends
    CHECK(c.conn().phase() == connection_phase::awaiting_stream);
    std::thread([&] {
        writer->write("second piece");
        writer->close();
    }).join();
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    REQUIRE(rs[0].complete);
    CHECK(gunzip(rs[0].body) == "first piece, second piece");
    CHECK(c.conn().phase() == connection_phase::idle);
}
#endif

TEST_CASE("a later answer that never comes: the layers' steps run on the connection's 503 in its place, once") {
    std::vector<std::string> trace;
    deferred_app inner;
    std::vector<std::pair<status, std::string>> logged;  // an entry's views last as long as the call
    auto app =
        layers{access_log([&](access_entry const& e) { logged.emplace_back(e.status, e.target); }),
               cors({.origins = {"https://app.example"}}), tracer{"a", &trace}, tracer{"b", &trace}}(by_ref(inner));
    {
        testing::client c(app);
        c.send("GET /slow HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n");
        CHECK(trace == std::vector<std::string>{"a.before", "b.before"});
        c.time_out();
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 503);
        CHECK(headers_of(rs[0], "X-Trace") == "b,a");  // innermost first, as on an answer
        CHECK(rs[0].header("Access-Control-Allow-Origin") == "https://app.example");  // a page may read it
        CHECK(c.closed());
        CHECK(!inner.held[0].send(response::text("too late")));
        c.step();
        CHECK(c.responses().size() == 1);
    }
    CHECK(trace == std::vector<std::string>{"a.before", "b.before", "b.after", "a.after"});  // once
    REQUIRE(logged.size() == 1);
    CHECK(logged[0] == std::pair<status, std::string>{status::service_unavailable, "/slow"});
}

TEST_CASE("a later answer that never comes, behind a step that throws: the 503 stands, logged") {
    struct throws_after {
        void after(response&) const { throw std::runtime_error("step broke"); }
    };
    deferred_app inner;
    std::vector<std::string> errors;
    connection_config config;
    config.error_log = [&](std::string_view m) { errors.emplace_back(m); };
    auto app = layers{throws_after{}}(by_ref(inner));
    testing::client c(app, config);
    c.send("HEAD /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    c.time_out();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 503);
    CHECK(rs[0].body.empty());    // HEAD: no content, the connection's own answer too
    REQUIRE(errors.size() == 2);  // the timeout, then the step
    CHECK(errors[1] == "an answer step threw: step broke (HEAD /slow)");
}

TEST_CASE("blocking handlers behind layers: the steps run on the pool's answer") {
    worker_pool pool(2, 4);
    connection_config config;
    config.workers = &pool;
    std::vector<std::string> lines;
    auto app = layers{access_log([&](access_entry const& e) { lines.push_back(std::to_string(to_int(e.status))); }),
                      request_id{}, security_headers{}}(blocking([](request const& req) {
        std::this_thread::sleep_for(10ms);
        return response::text("id " + std::string(req.header("X-Request-Id").value_or("")));
    }));
    testing::client c(app, config);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(c.output().empty());
    auto end = std::chrono::steady_clock::now() + 5s;
    while (c.responses().empty() && std::chrono::steady_clock::now() < end) {
        c.step();
        std::this_thread::sleep_for(1ms);
    }
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "id " + std::string(rs[0].header("X-Request-Id").value_or("")));
    CHECK(rs[0].header("X-Content-Type-Options") == "nosniff");
    CHECK(lines == std::vector<std::string>{"200"});
}

TEST_CASE("over sockets: layers around a router with a responder route and a blocking route (run under TSan)") {
    std::atomic<int> logged{0};
    auto routes = router{
        get<"/timer">([](request const&, responder answer) {
            std::thread([answer = std::move(answer)]() mutable {
                std::this_thread::sleep_for(20ms);
                answer.send(response::text("from a timer"));
            }).detach();
        }),
        get<"/slow/{n:int}">(blocking([](std::int64_t n) { return response::text("slow " + std::to_string(n)); })),
        get<"/now">([] { return "now"; }),
    };
    auto app = layers{access_log([&](access_entry const&) { ++logged; }), cors({.origins = {"https://a.example"}}),
                      request_id{}, security_headers{}}(std::move(routes));
    server_options o;
    o.port = 0;
    o.threads = 1;
    server s(app, o);
    s.start();
    test_client::connection c(s.port());
    REQUIRE(c.ok());
    REQUIRE(
        c.send("GET /timer HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://a.example\r\n\r\n"
               "GET /slow/7 HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://a.example\r\n\r\n"
               "GET /now HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://a.example\r\n\r\n"));
    std::vector<std::string> bodies;
    for (int i = 0; i < 3; ++i) {
        auto r = c.read_reply();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("Access-Control-Allow-Origin") == "https://a.example");
        CHECK(r->header("X-Request-Id").size() == 32);
        CHECK(r->header("X-Content-Type-Options") == "nosniff");
        bodies.push_back(r->body);
    }
    CHECK(bodies == std::vector<std::string>{"from a timer", "slow 7", "now"});
    s.stop();
    CHECK(logged == 3);
}
