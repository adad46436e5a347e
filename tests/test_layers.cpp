// Layers: composition order, early answers, state and rewrites (layer.hpp), and the small
// shipped layers: access log, request id, security headers, rate limit.
#include <porthole/access_log.hpp>
#include <porthole/layer.hpp>
#include <porthole/rate_limit.hpp>
#include <porthole/request_id.hpp>
#include <porthole/router.hpp>
#include <porthole/security_headers.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <ctime>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace porthole;
using porthole::testing::simple_request;

namespace {

// Records the order it runs in, adds a header on the way out.
struct tracer {
    std::string name;
    std::vector<std::string>* trace;
    void before(request const&) const { trace->push_back(name + ".before"); }
    void after(response& res) const {
        trace->push_back(name + ".after");
        res.add_header("X-Trace", name);
    }
};

// Answers 403 when the request has X-Deny.
struct gate {
    std::optional<response> before(request const& req) const {
        if (req.header("X-Deny")) return response::text("denied", status::forbidden);
        return std::nullopt;
    }
};

// Keeps state between before and after.
struct timer {
    layer_result<int> before(request const& req) const { return static_cast<int>(req.path().size()); }
    void after(int& n, response& res) const { res.set_header("X-Path-Length", std::to_string(n)); }
};

std::string headers_of(testing::parsed_response const& r, std::string_view name) {
    std::string out;
    for (auto const& [k, v] : r.headers)
        if (iequals(k, name)) out += (out.empty() ? "" : ",") + v;
    return out;
}

}  // namespace

TEST_CASE("layers run outermost first on the way in and last on the way out") {
    std::vector<std::string> trace;
    auto inner = [&](request const&) {
        trace.push_back("app");
        return "hello";
    };
    auto app = layers{tracer{"a", &trace}, tracer{"b", &trace}, tracer{"c", &trace}}(inner);
    static_assert(application<decltype(app)>);
    auto r = testing::get(app, "/");
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    CHECK(trace ==
          std::vector<std::string>{"a.before", "b.before", "c.before", "app", "c.after", "b.after", "a.after"});
    CHECK(headers_of(r, "X-Trace") == "c,b,a");
}

TEST_CASE("an early answer skips the inner layers and the application; the outer after steps see it") {
    std::vector<std::string> trace;
    int calls = 0;
    auto inner = [&](request const&) {
        ++calls;
        return "hello";
    };
    auto app = layers{tracer{"outer", &trace}, gate{}, tracer{"inner", &trace}}(inner);
    auto r = testing::send(app, simple_request{method::get, "/", {{"X-Deny", "1"}}, {}});
    CHECK(r.status == 403);
    CHECK(r.body == "denied");
    CHECK(calls == 0);
    CHECK(trace == std::vector<std::string>{"outer.before", "outer.after"});
    CHECK(headers_of(r, "X-Trace") == "outer");

    trace.clear();
    r = testing::get(app, "/");
    CHECK(r.status == 200);
    CHECK(calls == 1);
    CHECK(headers_of(r, "X-Trace") == "inner,outer");
}

TEST_CASE("state kept by before() reaches after(); layers wrap routers and nest") {
    auto routes = router{get<"/items/{id:int}">([](std::int64_t id) { return "item " + std::to_string(id); })};
    auto app = layers{timer{}}(layers{gate{}}(routes));
    auto r = testing::get(app, "/items/42");
    CHECK(r.status == 200);
    CHECK(r.body == "item 42");
    CHECK(r.header("X-Path-Length") == "9");
    r = testing::get(app, "/nowhere");
    CHECK(r.status == 404);
    CHECK(r.header("X-Path-Length") == "8");
}

TEST_CASE("when() applies a layer to the requests its predicate picks") {
    auto writes = [](request const& r) { return r.method() != method::get && r.method() != method::head; };
    auto app = layers{when(writes, gate{})}([](request const&) { return "ok"; });
    CHECK(testing::send(app, simple_request{method::get, "/", {{"X-Deny", "1"}}, {}}).status == 200);
    CHECK(testing::send(app, simple_request{method::post, "/", {{"X-Deny", "1"}}, {}}).status == 403);
    CHECK(testing::send(app, simple_request{method::post, "/", {}, {}}).status == 200);
    auto timed = layers{when(writes, timer{})}([](request const&) { return "ok"; });
    CHECK_FALSE(testing::get(timed, "/abc").header("X-Path-Length").has_value());
    CHECK(testing::send(timed, simple_request{method::put, "/abc", {}, {}}).header("X-Path-Length") == "4");
}

TEST_CASE("an application that throws behind layers is still a 500, and the layers are not left half done") {
    std::vector<std::string> trace;
    auto app = layers{tracer{"a", &trace}}([](request const&) -> response { throw std::runtime_error("boom"); });
    connection_config cfg;
    std::string logged;
    cfg.error_log = [&](std::string_view m) { logged = m; };
    auto r = testing::send(app, simple_request{}, cfg);
    CHECK(r.status == 500);
    CHECK(logged.find("boom") != std::string::npos);
    CHECK(trace == std::vector<std::string>{"a.before"});
}

// ---------------------------------------------------------------- access log

TEST_CASE("the access log layer writes one entry per response with the status and body size it sees") {
    std::vector<std::string> lines;
    auto log = [&](access_entry const& e) {
        lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " + std::to_string(to_int(e.status)) +
                        " " + std::to_string(e.body_bytes));
    };
    auto app = layers{access_log(log), gate{}}([](request const&) { return "hello"; });
    testing::client c(app);
    c.send(
        "GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        "HEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /c HTTP/1.1\r\nHost: t\r\nX-Deny: 1\r\n\r\n");
    REQUIRE(c.responses({false, true, false}).size() == 3);
    CHECK(lines == std::vector<std::string>{"GET /a?x=1 200 5", "HEAD /b 200 0", "GET /c 403 6"});
}

TEST_CASE("common_log formats the layer's entries as the connection's") {
    char buf[512] = {};
    FILE* f = fmemopen(buf, sizeof buf, "w");
    REQUIRE(f);
    auto app = layers{access_log(common_log(f))}([](request const&) { return "hello"; });
    testing::client c(app);
    c.conn().set_peer("203.0.113.7:5555");
    std::time_t before = std::time(nullptr);
    c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    std::time_t after = std::time(nullptr);
    std::fclose(f);
    std::string line = buf;
    CHECK(line.starts_with("203.0.113.7 - - ["));
    CHECK(line.ends_with("\"GET /x HTTP/1.1\" 200 5\n"));
    // The time as the C library's gmtime and strftime write it, in the C locale.
    auto clf_time = [](std::time_t t) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        char out[64];
        return std::string(out, std::strftime(out, sizeof out, "[%d/%b/%Y:%H:%M:%S +0000]", &tm));
    };
    std::string stamp = line.substr(line.find('['), line.find(']') - line.find('[') + 1);
    CHECK((stamp == clf_time(before) || stamp == clf_time(after)));
}

// ---------------------------------------------------------------- request id

TEST_CASE("request_id generates an id the application and the response both see") {
    std::string seen;
    auto app = layers{request_id{}}([&](request const& req) {
        seen = req.header("X-Request-Id").value_or("");
        return "ok";
    });
    auto r = testing::get(app, "/");
    CHECK(r.header("X-Request-Id").value_or("").size() == 32);
    CHECK(seen == r.header("X-Request-Id"));
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.insert(std::string(testing::get(app, "/").header("X-Request-Id").value_or("")));
    CHECK(ids.size() == 1000);
}

TEST_CASE("request_id passes a sensible incoming id through and replaces any other") {
    std::string seen;
    std::size_t count = 0;
    auto app = layers{request_id{}}([&](request const& req) {
        seen = req.header("X-Request-Id").value_or("");
        count = 0;
        for (auto const& f : req.headers()) count += iequals(f.name, "X-Request-Id");
        return "ok";
    });
    auto r = testing::send(app, simple_request{method::get, "/", {{"X-Request-Id", "proxy-7f3a:1"}}, {}});
    CHECK(r.header("X-Request-Id") == "proxy-7f3a:1");
    CHECK(seen == "proxy-7f3a:1");
    for (std::string bad : {std::string("has space"), std::string("<script>"), std::string(200, 'a')}) {
        r = testing::send(app, simple_request{method::get, "/", {{"X-Request-Id", bad}}, {}});
        CHECK(r.header("X-Request-Id").value_or("").size() == 32);
        CHECK(seen == r.header("X-Request-Id"));
        CHECK(count == 1);
    }
    auto strict = layers{request_id{{.trust_incoming = false}}}([](request const&) { return "ok"; });
    r = testing::send(strict, simple_request{method::get, "/", {{"X-Request-Id", "abc"}}, {}});
    CHECK(r.header("X-Request-Id") != "abc");
}

// ---------------------------------------------------------------- security headers

TEST_CASE("security_headers adds its fields, keeps a handler's own, and leaves out emptied ones") {
    auto app =
        layers{security_headers{{.referrer_policy = "same-origin", .frame_options = ""}}}([](request const& req) {
            auto r = response::html("<p>hi</p>");
            if (req.path() == "/own") r.set_header("Content-Security-Policy", "default-src 'none'");
            return r;
        });
    auto r = testing::get(app, "/");
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
    CHECK(r.header("Content-Security-Policy").value_or("").find("default-src 'self'") != std::string_view::npos);
    CHECK(r.header("Referrer-Policy") == "same-origin");
    CHECK_FALSE(r.header("X-Frame-Options").has_value());
    CHECK(r.header("Cross-Origin-Opener-Policy") == "same-origin");
    CHECK_FALSE(r.header("Strict-Transport-Security").has_value());
    r = testing::get(app, "/own");
    CHECK(r.header("Content-Security-Policy") == "default-src 'none'");
    CHECK(r.count_header("Content-Security-Policy") == 1);
}

TEST_CASE("security_headers keeps a handler's own field even when its value is empty") {
    auto app = layers{security_headers{}}([](request const&) {
        auto r = response::html("<p>hi</p>");
        r.set_header("Referrer-Policy", "");
        return r;
    });
    auto r = testing::get(app, "/");
    CHECK(r.count_header("Referrer-Policy") == 1);
    CHECK(r.header("Referrer-Policy") == "");
}

// ---------------------------------------------------------------- rate limit

TEST_CASE("rate_limit: a bucket of `burst` tokens refilled at `rate`, then 429 with Retry-After") {
    rate_limit limit({.rate = 2, .burst = 3});
    CHECK(limit.take("a", 100.0) == 0);
    CHECK(limit.take("a", 100.0) == 0);
    CHECK(limit.take("a", 100.0) == 0);
    CHECK(limit.take("a", 100.0) == doctest::Approx(0.5));  // empty: the next token in 1/rate s
    CHECK(limit.take("b", 100.0) == 0);                     // another client has its own bucket
    CHECK(limit.take("a", 100.5) == 0);                     // one token back after 0.5 s
    CHECK(limit.take("a", 100.5) > 0);
    CHECK(limit.take("a", 110.0) == 0);  // full again, never beyond burst
    CHECK(limit.take("a", 110.0) == 0);
    CHECK(limit.take("a", 110.0) == 0);
    CHECK(limit.take("a", 110.0) > 0);

    auto app = layers{rate_limit({.rate = 0.5, .burst = 2})}([](request const&) { return "ok"; });
    testing::client c(app);
    c.conn().set_peer("198.51.100.1:4000");
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].status == 200);
    CHECK(rs[1].status == 200);
    CHECK(rs[2].status == 429);
    CHECK(rs[2].header("Retry-After") == "2");
    // Another port of the same address is the same client; another address is not.
    testing::client same(app);
    same.conn().set_peer("198.51.100.1:4001");
    CHECK(same.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").responses()[0].status == 429);
    testing::client other(app);
    other.conn().set_peer("198.51.100.2:4000");
    CHECK(other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").responses()[0].status == 200);
}

TEST_CASE("rate_limit keys IPv6 clients by their /64 and takes a key function") {
    CHECK(detail::client_address("[2001:db8:1:2:3:4:5:6]:443") == "2001:db8:1:2::/64");
    CHECK(detail::client_address("[::1]:80") == "::/64");
    CHECK(detail::client_address("192.0.2.1:80") == "192.0.2.1");
    auto app = layers{rate_limit({.rate = 1, .burst = 1, .key = [](request const& r) {
                                      return std::string(r.header("X-User").value_or(""));
                                  }})}([](request const&) { return "ok"; });
    CHECK(testing::send(app, simple_request{method::get, "/", {{"X-User", "ann"}}, {}}).status == 200);
    CHECK(testing::send(app, simple_request{method::get, "/", {{"X-User", "ann"}}, {}}).status == 429);
    CHECK(testing::send(app, simple_request{method::get, "/", {{"X-User", "bob"}}, {}}).status == 200);
}

TEST_CASE("rate_limit forgets refilled clients first and never tracks more than max_clients") {
    rate_limit limit({.rate = 1, .burst = 5, .max_clients = 160});
    for (int i = 0; i < 5000; ++i) limit.take("flood-" + std::to_string(i), 0.0);
    CHECK(limit.clients() <= 160);
    // A busy client survives a flood of one-off clients that refill before it does.
    rate_limit keep({.rate = 1, .burst = 2, .max_clients = 16});
    for (int i = 0; i < 2; ++i) keep.take("busy", 0.0);
    CHECK(keep.take("busy", 0.0) > 0);
    for (int i = 0; i < 100; ++i) keep.take("once-" + std::to_string(i), 0.009 * i);
    CHECK(keep.take("busy", 0.9) > 0);  // still limited: it was not forgotten
}

TEST_CASE("rate_limit is safe from several threads, and copies share the buckets") {
    rate_limit limit({.rate = 1e-9, .burst = 1000});
    rate_limit copy = limit;
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i) allowed += (t % 2 ? copy : limit).take("one", 5.0) == 0;
        });
    for (auto& t : threads) t.join();
    CHECK(allowed == 1000);
}
