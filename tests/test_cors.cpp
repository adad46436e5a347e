// The CORS layer against the Fetch standard's CORS protocol: preflights answered or refused,
// simple requests given Access-Control-Allow-Origin only for allowed origins, Vary: Origin.
#include <porthole/cors.hpp>
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <stdexcept>

#include <string>

using namespace porthole;
using porthole::testing::simple_request;

namespace {

auto make_api() {
    return router{
        get<"/items">([] { return response::json("[]"); }),
        route<"/items", PUT | DELETE>([] { return status::no_content; }),
    };
}

testing::parsed_response preflight(auto& app, std::string origin, std::string method, std::string headers = {}) {
    simple_request r{method::options, "/items", {{"Origin", origin}, {"Access-Control-Request-Method", method}}, {}};
    if (!headers.empty()) r.headers.emplace_back("Access-Control-Request-Headers", headers);
    return testing::send(app, r);
}

}  // namespace

TEST_CASE("a preflight from an allowed origin is answered by the layer, not the application") {
    auto app = layers{cors({.origins = {"http://app.example", "http://127.0.0.1:3000"}})}(make_api());
    auto r = preflight(app, "http://app.example", "PUT", "content-type, x-custom");
    CHECK(r.status == 204);
    CHECK(r.header("Access-Control-Allow-Origin") == "http://app.example");
    CHECK(r.header("Access-Control-Allow-Methods") == "GET, HEAD, POST, PUT, PATCH, DELETE");
    CHECK(r.header("Access-Control-Allow-Headers") == "content-type, x-custom");  // reflected
    CHECK(r.header("Access-Control-Max-Age") == "600");
    CHECK_FALSE(r.header("Access-Control-Allow-Credentials").has_value());
    CHECK_FALSE(r.header("Allow").has_value());  // the router's own OPTIONS answer did not run
    CHECK(list_contains(r.header("Vary").value_or(""), "Origin"));
    CHECK(list_contains(r.header("Vary").value_or(""), "Access-Control-Request-Method"));
}

TEST_CASE("a preflight is refused with 403 and no CORS fields for another origin, method or header") {
    auto app = layers{cors({.origins = {"http://app.example"}, .methods = {"PUT"}, .allow_headers = {"Content-Type"}})}(
        make_api());
    for (auto r : {preflight(app, "http://evil.example", "PUT"), preflight(app, "http://app.example:8080", "PUT"),
                   preflight(app, "https://app.example", "PUT"), preflight(app, "null", "PUT"),
                   preflight(app, "http://app.example", "DELETE"),
                   preflight(app, "http://app.example", "PUT", "Content-Type, X-Secret")}) {
        CHECK(r.status == 403);
        CHECK_FALSE(r.header("Access-Control-Allow-Origin").has_value());
        CHECK_FALSE(r.header("Access-Control-Allow-Methods").has_value());
    }
    auto ok = preflight(app, "http://app.example", "PUT", "content-type");
    CHECK(ok.status == 204);
    CHECK(ok.header("Access-Control-Allow-Headers") == "Content-Type");
    CHECK(preflight(app, "http://app.example", "POST").status == 204);  // safelisted: always allowed
}

TEST_CASE("a preflight's Access-Control-Request-Headers on several lines is one list; two Origin lines name none") {
    // Only the first line was read: a name on the second passed unchecked.
    auto app =
        layers{cors({.origins = {"http://app.example"}, .methods = {"PUT"}, .allow_headers = {"X-Foo"}})}(make_api());
    simple_request split{method::options,
                         "/items",
                         {{"Origin", "http://app.example"},
                          {"Access-Control-Request-Method", "PUT"},
                          {"Access-Control-Request-Headers", "x-foo"},
                          {"Access-Control-Request-Headers", "x-bar"}},
                         {}};
    CHECK(testing::send(app, split).status == 403);
    split.headers.back().second = "X-FOO";
    CHECK(testing::send(app, split).status == 204);
    // A layer that allows any header names back every line's.
    auto any = layers{cors({.origins = {"http://app.example"}})}(make_api());
    split.headers.back().second = "x-bar, x-baz";
    auto r = testing::send(any, split);
    CHECK(r.status == 204);
    CHECK(r.header("Access-Control-Allow-Headers") == "x-foo, x-bar, x-baz");
    // Origin is one value: on two lines it names no origin, and nothing is allowed.
    auto get = testing::send(
        any, simple_request{
                 method::get, "/items", {{"Origin", "http://app.example"}, {"Origin", "http://app.example"}}, {}});
    CHECK(get.status == 200);
    CHECK_FALSE(get.header("Access-Control-Allow-Origin").has_value());
}

TEST_CASE("simple requests: allowed origins get Access-Control-Allow-Origin, others nothing; all get Vary") {
    int calls = 0;
    auto app = layers{cors({.origins = {"http://app.example"}, .expose_headers = {"X-Total"}})}([&](request const&) {
        ++calls;
        return response::json("[]");
    });
    auto r = testing::send(app, simple_request{method::get, "/items", {{"Origin", "http://app.example"}}, {}});
    CHECK(r.status == 200);
    CHECK(r.header("Access-Control-Allow-Origin") == "http://app.example");
    CHECK(r.header("Access-Control-Expose-Headers") == "X-Total");
    CHECK(r.header("Vary") == "Origin");
    r = testing::send(app, simple_request{method::get, "/items", {{"Origin", "http://evil.example"}}, {}});
    CHECK(r.status == 200);  // CORS is not access control: the browser keeps the body from the page
    CHECK_FALSE(r.header("Access-Control-Allow-Origin").has_value());
    CHECK(r.header("Vary") == "Origin");
    r = testing::get(app, "/items");  // no Origin: same-origin or not a browser
    CHECK_FALSE(r.header("Access-Control-Allow-Origin").has_value());
    CHECK(r.header("Vary") == "Origin");  // a cache must not give this answer to a cross-origin request
    CHECK(calls == 3);
}

TEST_CASE("any origin: '*', never with credentials") {
    auto open = layers{cors({.origins = {"*"}})}(make_api());
    auto r = testing::send(open, simple_request{method::get, "/items", {{"Origin", "http://x.example"}}, {}});
    CHECK(r.header("Access-Control-Allow-Origin") == "*");
    CHECK_FALSE(r.header("Access-Control-Allow-Credentials").has_value());
    CHECK_FALSE(r.header("Vary").has_value());
    // Without Origin too, with no Vary: a cache may give this answer to a cross-origin request.
    r = testing::get(open, "/items");
    CHECK(r.header("Access-Control-Allow-Origin") == "*");
    CHECK_FALSE(r.header("Vary").has_value());
    auto p = preflight(open, "http://x.example", "DELETE", "authorization");
    CHECK(p.status == 204);
    CHECK(p.header("Access-Control-Allow-Origin") == "*");
    CHECK_FALSE(p.header("Access-Control-Allow-Credentials").has_value());
    // Naming every origin with credentials would let any page read what the user's cookies unlock.
    CHECK_THROWS_AS(cors({.origins = {"https://app.example", "*"}, .credentials = true}), std::invalid_argument);
    // So would "null", which any page can send from a sandboxed frame.
    CHECK_THROWS_AS(cors({.origins = {"null"}, .credentials = true}), std::invalid_argument);
    auto null_origin = layers{cors({.origins = {"null"}})}(make_api());
    r = testing::send(null_origin, simple_request{method::get, "/items", {{"Origin", "null"}}, {}});
    CHECK(r.header("Access-Control-Allow-Origin") == "null");
    CHECK_FALSE(r.header("Access-Control-Allow-Credentials").has_value());
    // A predicate that says yes to every origin is the program's own, explicit choice.
    auto creds = layers{cors({.allow_origin = [](std::string_view) { return true; }, .credentials = true})}(make_api());
    r = testing::send(creds, simple_request{method::get, "/items", {{"Origin", "http://x.example"}}, {}});
    CHECK(r.header("Access-Control-Allow-Origin") == "http://x.example");
    CHECK(r.header("Access-Control-Allow-Credentials") == "true");
    CHECK(r.header("Vary") == "Origin");
}

TEST_CASE("an origin predicate, Vary added to the application's own, max-age off, private network") {
    auto app = layers{cors({.allow_origin = [](std::string_view o) { return o.ends_with(".trusted.example"); },
                            .max_age = std::chrono::seconds(-1),
                            .private_network = true})}([](request const&) {
        auto r = response::text("x");
        r.set_header("Vary", "Accept-Encoding");
        return r;
    });
    auto r = testing::send(app, simple_request{method::get, "/", {{"Origin", "https://a.trusted.example"}}, {}});
    CHECK(r.header("Access-Control-Allow-Origin") == "https://a.trusted.example");
    CHECK(r.header("Vary") == "Accept-Encoding, Origin");
    CHECK(r.count_header("Vary") == 1);
    auto p = testing::send(app, simple_request{method::options,
                                               "/",
                                               {{"Origin", "https://a.trusted.example"},
                                                {"Access-Control-Request-Method", "PATCH"},
                                                {"Access-Control-Request-Private-Network", "true"}},
                                               {}});
    CHECK(p.status == 204);
    CHECK_FALSE(p.header("Access-Control-Max-Age").has_value());
    CHECK(p.header("Access-Control-Allow-Private-Network") == "true");
    auto lookalike =
        testing::send(app, simple_request{method::get, "/", {{"Origin", "https://trusted.example.evil"}}, {}});
    CHECK_FALSE(lookalike.header("Access-Control-Allow-Origin").has_value());
}

TEST_CASE("an OPTIONS request that is not a preflight reaches the application") {
    auto app = layers{cors({.origins = {"http://app.example"}})}(make_api());
    auto r = testing::send(app, simple_request{method::options, "/items", {{"Origin", "http://app.example"}}, {}});
    CHECK(r.status == 204);
    CHECK(r.header("Allow") == "GET, HEAD, PUT, DELETE, OPTIONS");
    CHECK(r.header("Access-Control-Allow-Origin") == "http://app.example");
}

TEST_CASE("cors: a method or field name no response can list is refused where the layer is made") {
    for (auto opts : {cors_options{.origins = {"http://a.example"}, .methods = {"PUT", "BAD METHOD"}},
                      cors_options{.origins = {"http://a.example"}, .allow_headers = {"X-Ok", "X-Bad\r\nInjected: 1"}},
                      cors_options{.origins = {"http://a.example"}, .expose_headers = {""}}}) {
        CHECK_THROWS_WITH_AS(cors{opts}, doctest::Contains("porthole::cors"), std::invalid_argument);
    }
    // No method allowed beyond the safelisted ones: a preflight for one of those passes, with no
    // empty Access-Control-Allow-Methods.
    auto app = layers{cors({.origins = {"http://a.example"}, .methods = {}})}([](request const&) { return "x"; });
    auto r = testing::send(
        app, simple_request{
                 method::options, "/", {{"Origin", "http://a.example"}, {"Access-Control-Request-Method", "GET"}}, {}});
    CHECK(r.status == 204);
    CHECK_FALSE(r.header("Access-Control-Allow-Methods").has_value());
}
