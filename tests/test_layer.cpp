// Layers (layer.hpp): composition order, early answers, state kept from before() to after(),
// rewrites, when(). The shipped layers have their own files (test_access_log.cpp,
// test_request_id.cpp, test_security_headers.cpp, test_rate_limit.cpp, ...).
#include "layer_support.hpp"

#include <porthole/application_ref.hpp>
#include <porthole/layer.hpp>
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace porthole;
using porthole::testing::simple_request;

namespace {

// Keeps state between before and after.
struct timer {
    layer_result<int> before(request const& req) const { return static_cast<int>(req.path().size()); }
    void after(int& n, response& res) const { res.set_header("X-Path-Length", std::to_string(n)); }
};

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

TEST_CASE("a layer with after() alone changes every answer, early ones of inner layers included") {
    struct stamp {
        void after(response& res) const { res.add_header("X-Stamp", "1"); }
    };
    auto app = layers{stamp{}, gate{}}([](request const&) { return "hello"; });
    auto r = testing::get(app, "/");
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    CHECK(r.header("X-Stamp") == "1");
    r = testing::send(app, simple_request{method::get, "/", {{"X-Deny", "1"}}, {}});
    CHECK(r.status == 403);
    CHECK(r.header("X-Stamp") == "1");
    auto some =
        layers{when([](request const& q) { return q.path() == "/a"; }, stamp{})}([](request const&) { return "x"; });
    CHECK(testing::get(some, "/a").header("X-Stamp") == "1");
    CHECK_FALSE(testing::get(some, "/b").header("X-Stamp").has_value());
}

namespace {
// after() as a template (a local class cannot hold one): not judged by its parameter.
struct generic_after {
    void after(auto& res) const { res.add_header("X-A", "1"); }
};
struct forwarding_after {
    void after(auto&& res) const { res.add_header("X-B", "1"); }
};
}  // namespace

TEST_CASE("an after() of another shape that still changes the response in place is a layer") {
    struct returning {  // returns what it changed, for chaining: the change is what counts
        response& after(response& res) const {
            res.add_header("X-C", "1");
            return res;
        }
    };
    struct keeping {  // state by const&, the response by reference
        layer_result<int> before(request const&) const { return 4; }
        bool after(int const& kept, response& res) const {
            res.add_header("X-D", std::to_string(kept));
            return true;
        }
    };
    auto app = layers{generic_after{}, forwarding_after{}, returning{}, keeping{}}([](request const&) { return "x"; });
    auto r = testing::get(app, "/");
    CHECK(r.header("X-A") == "1");
    CHECK(r.header("X-B") == "1");
    CHECK(r.header("X-C") == "1");
    CHECK(r.header("X-D") == "4");
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

TEST_CASE("an application that throws behind layers is a 500 every after() runs on, logged by the connection") {
    std::vector<std::string> trace;
    auto app = layers{tracer{"a", &trace},
                      tracer{"b", &trace}}([](request const&) -> response { throw std::runtime_error("boom"); });
    connection_config cfg;
    std::vector<std::string> logged;
    cfg.error_log = [&](std::string_view m) { logged.emplace_back(m); };
    auto r = testing::send(app, simple_request{method::post, "/jobs?x=1", {}, {}}, cfg);
    CHECK(r.status == 500);
    CHECK(r.body == "Internal Server Error");
    REQUIRE(logged.size() == 1);
    CHECK(logged[0] == "application threw: boom (POST /jobs?x=1)");
    CHECK(trace == std::vector<std::string>{"a.before", "b.before", "b.after", "a.after"});
    CHECK(headers_of(r, "X-Trace") == "b,a");

    // Any exception; a layer's own throw still passes through the layers outside it.
    auto odd = layers{tracer{"a", &trace}}([](request const&) -> response { throw 42; });
    logged.clear();
    trace.clear();
    r = testing::send(odd, simple_request{}, cfg);
    CHECK(r.status == 500);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0] == "application threw a non-standard exception (GET /)");
    CHECK(headers_of(r, "X-Trace") == "a");
    struct throws_before {
        void before(request const&) const { throw std::runtime_error("layer"); }
    };
    auto outer = layers{tracer{"a", &trace}, throws_before{}}([](request const&) { return "never"; });
    logged.clear();
    trace.clear();
    r = testing::send(outer, simple_request{}, cfg);
    CHECK(r.status == 500);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0] == "application threw: layer (GET /)");
    CHECK(trace == std::vector<std::string>{"a.before"});
}

TEST_CASE("a response that cannot be sent, behind layers, is a 500 every after() runs on, logged once") {
    std::vector<std::string> trace;
    connection_config cfg;
    std::vector<std::string> logged;
    cfg.error_log = [&](std::string_view m) { logged.emplace_back(m); };
    auto app = layers{tracer{"a", &trace}, tracer{"b", &trace}}([](request const& req) {
        if (req.path() == "/interim") return response::text("x", static_cast<status>(103));
        return response::text("x").set_header("X-Bad", "a\rb");
    });
    for (std::string path : {"/interim", "/field"}) {
        CAPTURE(path);
        trace.clear();
        logged.clear();
        auto r = testing::send(app, simple_request{method::get, path, {}, {}}, cfg);
        CHECK(r.status == 500);
        CHECK(r.body == "Internal Server Error");
        CHECK(headers_of(r, "X-Trace") == "b,a");  // the layers saw the 500, not what was refused
        CHECK(trace == std::vector<std::string>{"a.before", "b.before", "b.after", "a.after"});
        REQUIRE(logged.size() == 1);
        CHECK(logged[0] == (path == "/interim" ? "response refused: status 103 does not end the exchange (RFC 9110 "
                                                 "15: 2xx to 5xx) (GET /interim)"
                                               : "response refused: invalid header field X-Bad (GET /field)"));
    }
}

namespace {

// Adds a field to the request the inner application sees; its storage lives in the state.
struct tagger {
    struct state {
        std::vector<header_field> fields;
    };
    layer_result<state> before(request const&) const { return state{}; }
    request rewrite(state& s, request const& req) const {
        s.fields.assign(req.headers().begin(), req.headers().end());
        s.fields.push_back({"X-Tag", "tagged"});
        return req.with_headers(s.fields);
    }
    void after(state&, response& res) const { res.add_header("X-Tagger", "after"); }
};

// Answers with a bare status when the path is /teapot; keeps the path length otherwise.
struct status_gate {
    layer_result<std::size_t> before(request const& req) const {
        if (req.path() == "/teapot") return status::forbidden;
        return req.path().size();
    }
    void after(std::size_t& n, response& res) const { res.set_header("X-Seen", std::to_string(n)); }
};

}  // namespace

TEST_CASE("rewrite() gives the inner application another request; the outer layers keep the original") {
    std::string seen_inner;
    std::vector<std::string> trace;
    auto inner = [&](request const& req) {
        seen_inner = req.header("X-Tag").value_or("none");
        return "ok";
    };
    // Called as a connection calls it, without one (which each application type would compile again).
    auto app = layers{tracer{"outer", &trace}, tagger{}}(inner);
    auto r = app(request{});
    CHECK(r.status() == status::ok);
    CHECK(seen_inner == "tagged");
    CHECK(r.header("X-Tagger") == "after");
    // Without the rewriting layer the application sees no such field.
    auto plain = layers{tracer{"outer", &trace}}(inner);
    (void)plain(request{});
    CHECK(seen_inner == "none");
}

TEST_CASE("a layer_result made from a status answers with it, an empty body, and never runs its own after()") {
    int calls = 0;
    auto app = layers{timer{}, status_gate{}}([&](request const&) {
        ++calls;
        return "ok";
    });
    request::parts p;
    p.path = p.target = "/teapot";
    auto r = app(request(p));
    CHECK(r.status() == status::forbidden);
    CHECK(r.body_view().empty());
    CHECK(calls == 0);
    CHECK_FALSE(r.header("X-Seen").has_value());  // its own early answer: its after() does not run
    CHECK(r.header("X-Path-Length") == "7");      // the outer layer's does
    p.path = p.target = "/tea";
    r = app(request(p));
    CHECK(r.status() == status::ok);
    CHECK(r.header("X-Seen") == "4");
    CHECK(calls == 1);
}

TEST_CASE("a layered application gives access to its application and its layers") {
    std::vector<std::string> trace;
    auto app = layers{tracer{"first", &trace}, tracer{"second", &trace}}([](request const&) { return "ok"; });
    CHECK(app.layer<0>().name == "first");
    CHECK(app.layer<1>().name == "second");
    app.layer<1>().name = "renamed";  // the layers are the application's own copies
    (void)app(request{});
    CHECK(trace == std::vector<std::string>{"first.before", "renamed.before", "renamed.after", "first.after"});
    auto& inner = app.application();
    CHECK(call_application(inner, request{}).status() == status::ok);
}

TEST_CASE("a body over the connection's limit is refused through the layers and the router, its handler never run") {
    std::vector<std::string> trace;
    int handled = 0;
    auto count = [&](request const&) {
        ++handled;
        return "taken";
    };
    auto api = router{route<"/notes", method::post>(count), route<"/notes/{id}", method::put>(count)};
    auto app = layers{tracer{"outer", &trace}, gate{}}(api);
    static_assert(answers_refusals<decltype(app)> && answers_refusals<decltype(api)>);
    connection_config config;
    config.limits.max_body = 8;
    auto post = [](std::string_view target, std::string_view more) {
        return std::string("POST ") + std::string(target) + " HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n" +
               std::string(more) + "\r\n0123";
    };
    // A route that takes the request: 413 with the outer layer's after step on it, the body
    // not read, the connection closed; the handler is not called with a body it never had.
    testing::client c(app, config);
    c.send(post("/notes", "") + "GET /notes HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 413);
    CHECK(rs[0].header("X-Trace") == "outer");
    CHECK(rs[0].header("Connection") == "close");
    CHECK(c.closed());
    CHECK(handled == 0);
    CHECK(trace == std::vector<std::string>{"outer.before", "outer.after"});
    // An inner layer's early answer comes first; a path no route takes is the router's 404, a
    // method it does not take its 405 with Allow.
    struct want {
        std::string_view target, more;
        int status;
    };
    for (auto w : {want{"/notes", "X-Deny: 1\r\n", 403}, want{"/nothing", "", 404}, want{"/notes/7", "", 405},
                   want{"/notes/7?x=1", "", 405}}) {
        CAPTURE(w.target);
        testing::client d(app, config);
        d.send(post(w.target, w.more));
        auto r = d.responses();
        REQUIRE(r.size() == 1);
        CHECK(r[0].status == w.status);
        CHECK(r[0].header("X-Trace") == "outer");
        CHECK(d.closed());
    }
    testing::client e(app, config);
    e.send("PUT /notes/7 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n");
    auto r = e.responses();
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == 413);  // too large once decoded: refused the same way
    CHECK(r[0].header("X-Trace") == "outer");
    CHECK(handled == 0);
    // Within the limit: the handler, as always.
    testing::client f(app, config);
    f.send("POST /notes HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd");
    REQUIRE(f.responses().size() == 1);
    CHECK(f.responses()[0].body == "taken");
    CHECK(handled == 1);
}

TEST_CASE(
    "a refused body under an application_ref, layered or mounted, is the plain 413 when it does not answer refusals") {
    auto plain = [](request const&) { return "plain"; };
    application_ref ref(plain);
    CHECK(!ref.answers_refusals());
    connection_config config;
    config.limits.max_body = 8;
    std::vector<std::string> trace;
    auto layered_ref = layers{tracer{"outer", &trace}}(ref);
    auto mounted_ref = router{mount<"/m">(ref)};
    testing::client c(layered_ref, config);
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    REQUIRE(c.responses().size() == 1);
    CHECK(c.responses()[0].status == 413);
    CHECK(c.responses()[0].header("X-Trace") == "outer");
    testing::client d(mounted_ref, config);
    d.send("POST /m/x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    REQUIRE(d.responses().size() == 1);
    CHECK(d.responses()[0].status == 413);
}

TEST_CASE("a refused body is not redirected for its trailing slash: the body would follow the redirect") {
    auto api = router{route<"/notes", method::post>([](request const&) { return "taken"; })}.redirect_trailing_slash();
    connection_config config;
    config.limits.max_body = 8;
    testing::client c(api, config);
    c.send("POST /notes/ HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    REQUIRE(c.responses().size() == 1);
    CHECK(c.responses()[0].status == 413);
    testing::client d(api, config);  // within the limit: the redirect, as always
    d.send("POST /notes/ HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab");
    REQUIRE(d.responses().size() == 1);
    CHECK(d.responses()[0].status == 308);
    testing::client e(api, config);  // nothing there either way: 404
    e.send("POST /other/ HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    REQUIRE(e.responses().size() == 1);
    CHECK(e.responses()[0].status == 404);
}

TEST_CASE("an application that does not answer refusals gets the connection's own 413") {
    int handled = 0;
    auto plain = [&](request const&) {
        ++handled;
        return "taken";
    };
    static_assert(!answers_refusals<decltype(plain)>);
    connection_config config;
    config.limits.max_body = 8;
    // Layers around it still run: their inner application answers the refusal with the plain page.
    std::vector<std::string> trace;
    auto app = layers{tracer{"outer", &trace}}(plain);
    testing::client c(app, config);
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    REQUIRE(c.responses().size() == 1);
    CHECK(c.responses()[0].status == 413);
    CHECK(c.responses()[0].header("X-Trace") == "outer");
    testing::client d(plain, config);
    d.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    REQUIRE(d.responses().size() == 1);
    CHECK(d.responses()[0].status == 413);
    CHECK(!d.responses()[0].header("X-Trace"));
    CHECK(d.closed());
    CHECK(handled == 0);
}
