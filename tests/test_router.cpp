#include <porthole/form.hpp>
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

#include "allocation_count.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using namespace porthole;
using porthole::testing::simple_request;

namespace {

testing::parsed_response send(auto& app, method m, std::string target, std::string body = {},
                              std::vector<std::pair<std::string, std::string>> headers = {}) {
    return testing::send(app, simple_request{m, std::move(target), std::move(headers), std::move(body)});
}

std::string echo(std::string_view s) { return std::string(s); }

// A request as a connection would build it, for calling a router directly.
request make_request(method m, std::string_view path) {
    request::parts p;
    p.method = m;
    p.method_name = to_string(m);
    p.target = path;
    p.path = path;
    p.raw_path = path;
    return request(p);
}

// "/r<K>/{id:int}", for a table of routes side by side.
template <std::size_t K>
constexpr auto numbered_pattern() {
    constexpr std::string_view tail = "/{id:int}";
    constexpr std::size_t digits = K < 10 ? 1 : K < 100 ? 2 : 3;
    char text[2 + digits + tail.size() + 1]{'/', 'r'};
    for (std::size_t i = 0, k = K; i < digits; ++i, k /= 10) text[1 + digits - i] = static_cast<char>('0' + k % 10);
    for (std::size_t i = 0; i < tail.size(); ++i) text[2 + digits + i] = tail[i];
    return route_pattern<sizeof text>(text);
}

template <std::size_t... K>
auto wide_router(std::index_sequence<K...>) {
    auto handler = [](std::int64_t id) { return std::to_string(id); };
    return router{get<numbered_pattern<K>()>(handler)...};
}

}  // namespace

static_assert(application<decltype(router{get<"/">([] { return "x"; })})>, "a router is an application");

TEST_CASE("literal segments match exactly; '/x' and '/x/' are different routes") {
    auto app = router{
        get<"/">([] { return "root"; }),
        get<"/index">([] { return "no slash"; }),
        get<"/index/">([] { return "slash"; }),
        get<"/a/b/c">([] { return "abc"; }),
    };
    CHECK(testing::get(app, "/").body == "root");
    CHECK(testing::get(app, "/index").body == "no slash");
    CHECK(testing::get(app, "/index/").body == "slash");
    CHECK(testing::get(app, "/a/b/c").body == "abc");
    CHECK(testing::get(app, "/a/b").status == 404);
    CHECK(testing::get(app, "/a/b/c/d").status == 404);
    CHECK(testing::get(app, "/INDEX").status == 404);
    CHECK(testing::get(app, "//index").status == 404);
    CHECK(testing::get(app, "/index?q=1").body == "no slash");
}

TEST_CASE("{name} takes one non-empty segment, percent-decoded, an encoded slash staying inside it") {
    auto app = router{
        get<"/items/{name}">([](std::string_view name) { return echo(name); }),
        get<"/pair/{a}/{b}">([](std::string_view a, std::string_view b) { return echo(a) + "|" + echo(b); }),
    };
    CHECK(testing::get(app, "/items/chair").body == "chair");
    CHECK(testing::get(app, "/items/caf%C3%A9").body == "caf\xC3\xA9");
    CHECK(testing::get(app, "/items/a%2Fb").body == "a/b");
    CHECK(testing::get(app, "/items/a%2fb").body == "a/b");
    CHECK(testing::get(app, "/items/100%25").body == "100%");
    CHECK(testing::get(app, "/items/%252F").body == "%2F");
    CHECK(testing::get(app, "/items/a%20b").body == "a b");
    CHECK(testing::get(app, "/items/a/b").status == 404);
    CHECK(testing::get(app, "/items/").status == 404);
    CHECK(testing::get(app, "/pair/x%2Fy/z").body == "x/y|z");
    CHECK(testing::get(app, "/pair//z").status == 404);
}

TEST_CASE("decoded values longer than the stack arena are still whole and distinct") {
    auto app = router{get<"/{a}/{b}">([](std::string_view a, std::string_view b) { return echo(a) + "|" + echo(b); })};
    std::string a, b, wire_a, wire_b;
    for (int i = 0; i < 200; ++i) {
        a += "x/";
        wire_a += "x%2F";
        b += "%y";
        wire_b += "%25y";
    }
    CHECK(testing::get(app, "/" + wire_a + "/" + wire_b).body == a + "|" + b);
}

TEST_CASE("{name:int} matches a range-checked signed 64-bit integer") {
    auto app = router{get<"/n/{v:int}">([](std::int64_t v) { return std::to_string(v); })};
    CHECK(testing::get(app, "/n/42").body == "42");
    CHECK(testing::get(app, "/n/-7").body == "-7");
    CHECK(testing::get(app, "/n/0").body == "0");
    CHECK(testing::get(app, "/n/9223372036854775807").body == "9223372036854775807");
    CHECK(testing::get(app, "/n/-9223372036854775808").body == "-9223372036854775808");
    CHECK(testing::get(app, "/n/9223372036854775808").status == 404);   // overflow
    CHECK(testing::get(app, "/n/-9223372036854775809").status == 404);  // underflow
    CHECK(testing::get(app, "/n/+5").status == 404);
    CHECK(testing::get(app, "/n/-").status == 404);
    CHECK(testing::get(app, "/n/").status == 404);
    CHECK(testing::get(app, "/n/12a").status == 404);
    CHECK(testing::get(app, "/n/0x10").status == 404);
    CHECK(testing::get(app, "/n/1.5").status == 404);
    CHECK(testing::get(app, "/n/%201").status == 404);
    CHECK(testing::get(app, "/n/-0009223372036854775808").body == "-9223372036854775808");
}

TEST_CASE("{name:uint} matches a range-checked unsigned 64-bit integer without sign") {
    auto app = router{get<"/u/{v:uint}">([](std::uint64_t v) { return std::to_string(v); })};
    CHECK(testing::get(app, "/u/18446744073709551615").body == "18446744073709551615");
    CHECK(testing::get(app, "/u/18446744073709551616").status == 404);
    CHECK(testing::get(app, "/u/-1").status == 404);
    CHECK(testing::get(app, "/u/+1").status == 404);
    CHECK(testing::get(app, "/u/abc").status == 404);
    // leading zeros do not count toward the range, however many there are
    CHECK(testing::get(app, "/u/007").body == "7");
    CHECK(testing::get(app, "/u/0018446744073709551615").body == "18446744073709551615");
    CHECK(testing::get(app, "/u/0018446744073709551616").status == 404);
    CHECK(testing::get(app, "/u/000").body == "0");
}

TEST_CASE("{name...} takes the rest of the path, its separators and escapes as in request::path()") {
    auto app = router{
        get<"/files/{path...}">([](std::string_view p) { return "[" + echo(p) + "]"; }),
        get<"/{all...}">([](std::string_view p) { return "root[" + echo(p) + "]"; }),
    };
    CHECK(testing::get(app, "/files/a/b/c.txt").body == "[a/b/c.txt]");
    CHECK(testing::get(app, "/files/a%2Fb/c").body == "[a%2Fb/c]");
    CHECK(testing::get(app, "/files/").body == "[]");
    CHECK(testing::get(app, "/files//x").body == "[/x]");
    CHECK(testing::get(app, "/files").body == "root[files]");
    CHECK(testing::get(app, "/").body == "root[]");
    std::string deep = "/files";
    for (int i = 0; i < 40; ++i) deep += "/d";
    CHECK(testing::get(app, deep).body == "[" + deep.substr(7) + "]");
}

TEST_CASE("dot segments match no route, not even a parameter or a rest") {
    auto app = router{
        get<"/a/{x}">([](std::string_view x) { return echo(x); }),
        get<"/f/{p...}">([](std::string_view p) { return echo(p); }),
        get<"/{x}/b">([](std::string_view x) { return echo(x); }),
    };
    CHECK(testing::get(app, "/a/..").status == 404);
    CHECK(testing::get(app, "/a/.").status == 404);
    CHECK(testing::get(app, "/a/%2e%2E").status == 404);
    CHECK(testing::get(app, "/f/x/../y").status == 404);
    CHECK(testing::get(app, "/f/./y").status == 404);
    CHECK(testing::get(app, "/../b").status == 404);
    CHECK(testing::get(app, "/a/...").body == "...");  // three dots is a name
    CHECK(testing::get(app, "/a/.x").body == ".x");
}

TEST_CASE("precedence is literal, int, uint, string, rest, segment by segment, with backtracking") {
    auto app = router{
        get<"/u/{name}">([](std::string_view) { return "string"; }),
        get<"/u/{id:int}">([](std::int64_t) { return "int"; }),
        get<"/u/{id:uint}">([](std::uint64_t) { return "uint"; }),
        get<"/u/me">([] { return "literal"; }),
        get<"/u/{rest...}">([](std::string_view) { return "rest"; }),
        get<"/a/{x}/c">([](std::string_view) { return "a-x-c"; }),
        get<"/{y}/b/d">([](std::string_view) { return "y-b-d"; }),
    };
    CHECK(testing::get(app, "/u/me").body == "literal");
    CHECK(testing::get(app, "/u/5").body == "int");
    CHECK(testing::get(app, "/u/-5").body == "int");
    CHECK(testing::get(app, "/u/18446744073709551615").body == "uint");
    CHECK(testing::get(app, "/u/bob").body == "string");
    CHECK(testing::get(app, "/u/bob/x").body == "rest");
    CHECK(testing::get(app, "/u/").body == "rest");  // a parameter never takes an empty segment
    CHECK(testing::get(app, "/a/b/c").body == "a-x-c");
    CHECK(testing::get(app, "/a/b/d").body == "y-b-d");
}

TEST_CASE("404 when no path matches; 405 with Allow when the path matches but not the method") {
    auto app = router{
        get<"/r">([] { return "get"; }),
        route<"/r", POST | PATCH>([] { return "post or patch"; }),
        delete_<"/r">([] { return "delete"; }),
        put<"/only-put">([] { return "put"; }),
    };
    CHECK(send(app, method::post, "/r").body == "post or patch");
    CHECK(send(app, method::patch, "/r").body == "post or patch");
    CHECK(send(app, method::delete_, "/r").body == "delete");
    auto r = send(app, method::put, "/r");
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD, POST, DELETE, OPTIONS, PATCH");
    auto p = send(app, method::get, "/only-put");
    CHECK(p.status == 405);
    CHECK(p.header("Allow") == "PUT, OPTIONS");
    CHECK(testing::get(app, "/missing").status == 404);
    CHECK_FALSE(testing::get(app, "/missing").header("Allow").has_value());
}

TEST_CASE("405 lists the methods of every route that matches the path, and a later route may serve it") {
    auto app = router{
        get<"/users/me">([] { return "me"; }),
        delete_<"/users/{id}">([](std::string_view id) { return "deleted " + echo(id); }),
    };
    CHECK(send(app, method::delete_, "/users/me").body == "deleted me");
    auto r = send(app, method::put, "/users/me");
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD, DELETE, OPTIONS");
    CHECK(send(app, method::put, "/users/x").header("Allow") == "DELETE, OPTIONS");
}

TEST_CASE("HEAD is served by the GET route, unless a HEAD route exists") {
    int gets = 0;
    auto app = router{
        get<"/page">([&] {
            ++gets;
            return "twelve bytes";
        }),
        get<"/both">([] { return "from get"; }),
        head<"/both">([] { return response::text("from head!"); }),
    };
    auto r = send(app, method::head, "/page");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Length") == "12");
    CHECK(r.body.empty());
    CHECK(gets == 1);
    auto b = send(app, method::head, "/both");
    CHECK(b.header("Content-Length") == "10");
    CHECK(send(app, method::get, "/both").body == "from get");
}

TEST_CASE("HEAD goes to the most specific route with GET or HEAD, as docs/router.md says") {
    auto app = router{
        get<"/users/me">([] { return response::text("me").set_header("X-Route", "get me"); }),
        head<"/users/{id}">([](std::string_view) { return response::text("id").set_header("X-Route", "head id"); }),
        head<"/items/new">([] { return response::text("new").set_header("X-Route", "head new"); }),
        get<"/items/{id}">([](std::string_view) { return response::text("id").set_header("X-Route", "get id"); }),
    };
    CHECK(send(app, method::head, "/users/me").header("X-Route") == "get me");
    CHECK(send(app, method::head, "/users/5").header("X-Route") == "head id");
    CHECK(send(app, method::head, "/items/new").header("X-Route") == "head new");
    CHECK(send(app, method::head, "/items/5").header("X-Route") == "get id");
}

TEST_CASE("OPTIONS is answered with Allow, unless the application routes OPTIONS itself") {
    auto app = router{
        route<"/x", GET | POST>([] { return "x"; }),
        put<"/y">([] { return "y"; }),
        route<"/cors/{any...}", OPTIONS>([](std::string_view) {
            response r(status::no_content);
            r.set_header("Access-Control-Allow-Origin", "*");
            return r;
        }),
        get<"/cors/data">([] { return "data"; }),
    };
    auto r = send(app, method::options, "/x");
    CHECK(r.status == 204);
    CHECK(r.header("Allow") == "GET, HEAD, POST, OPTIONS");
    CHECK(send(app, method::options, "/y").header("Allow") == "PUT, OPTIONS");
    auto c = send(app, method::options, "/cors/data");
    CHECK(c.status == 204);
    CHECK(c.header("Access-Control-Allow-Origin") == "*");
    CHECK(send(app, method::options, "/nothing").status == 404);
    // OPTIONS * is about the server, not a route: the connection answers it before any router.
    auto star = send(app, method::options, "*");
    CHECK(star.status == 200);
    CHECK(star.header("Allow") == "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH");
    request::parts asterisk;
    asterisk.method = method::options;
    asterisk.method_name = "OPTIONS";
    asterisk.target = asterisk.path = asterisk.raw_path = "*";
    CHECK(app(request(asterisk)).status() == status::not_found);
}

TEST_CASE("redirect_trailing_slash answers 308 to the form of the path that exists") {
    auto plain = router{
        get<"/dir/">([] { return "dir"; }),
        get<"/file">([] { return "file"; }),
    };
    CHECK(testing::get(plain, "/dir").status == 404);  // off by default

    auto app =
        router{
            get<"/dir/">([] { return "dir"; }),
            post<"/file">([] { return "file"; }),
            get<"/">([] { return "root"; }),
            get<"/named/{x}/">([](std::string_view) { return "x"; }),
            mount<"/static">([](request const&) { return "static"; }),
        }
            .redirect_trailing_slash();
    auto a = testing::get(app, "/dir");
    CHECK(a.status == 308);
    CHECK(a.header("Location") == "/dir/");
    auto b = send(app, method::post, "/file/?x=1&y");
    CHECK(b.status == 308);  // 308 keeps the method and body
    CHECK(b.header("Location") == "/file?x=1&y");
    CHECK(testing::get(app, "/named/caf%C3%A9").header("Location") == "/named/caf%C3%A9/");
    // What the parser lets into a target but a URI may not hold is encoded in it (RFC 9110 10.2.2).
    CHECK(testing::get(app, "/named/a{b}^`?q=\"<x>|").header("Location") == "/named/a%7Bb%7D%5E%60/?q=%22%3Cx%3E%7C");
    CHECK(testing::get(app, "/static").header("Location") == "/static/");
    CHECK(testing::get(app, "/dir/").body == "dir");
    CHECK(testing::get(app, "/nowhere/else").status == 404);
    CHECK(testing::get(app, "/a/b/").status == 404);
    // Never a Location that names another host.
    auto evil = router{get<"//evil.example/">([] { return "x"; })}.redirect_trailing_slash();
    CHECK(testing::get(evil, "//evil.example/").status == 200);
    CHECK(testing::get(evil, "//evil.example").status == 404);
}

TEST_CASE("mount passes the path below the prefix, from its '/' on, to any application") {
    auto files = [](request const& req) { return "files:" + echo(req.path()) + " raw:" + echo(req.raw_path()); };
    auto api = router{
        get<"/users/{id:int}">([](std::int64_t id) { return "user " + std::to_string(id); }),
        post<"/users">([] { return status::created; }),
    };
    auto app = router{
        get<"/">([] { return "home"; }),
        mount<"/static">(files),
        mount<"/api/v1">(api),
        get<"/static/special">([] { return "special"; }),
    };
    CHECK(testing::get(app, "/static/css/site.css").body == "files:/css/site.css raw:/static/css/site.css");
    CHECK(testing::get(app, "/static/").body == "files:/ raw:/static/");
    CHECK(testing::get(app, "/static/a%2Fb").body == "files:/a%2Fb raw:/static/a%2Fb");
    CHECK(testing::get(app, "/static").status == 404);
    CHECK(testing::get(app, "/staticx/y").status == 404);
    CHECK(testing::get(app, "/static/special").body == "special");
    CHECK(send(app, method::post, "/static/special").body == "files:/special raw:/static/special");
    CHECK(testing::get(app, "/api/v1/users/7").body == "user 7");
    CHECK(send(app, method::post, "/api/v1/users").status == 201);
    auto r = send(app, method::delete_, "/api/v1/users");
    CHECK(r.status == 405);  // the sub-router's answer
    CHECK(r.header("Allow") == "POST, OPTIONS");
    CHECK(testing::get(app, "/api/v1/nope").status == 404);
    CHECK(testing::get(app, "/static/../secret").status == 404);

    auto fallback = router{get<"/x">([] { return "x"; }), mount<"/">(files)};
    CHECK(testing::get(fallback, "/x").body == "x");
    CHECK(testing::get(fallback, "/y/z").body == "files:/y/z raw:/y/z");
}

TEST_CASE("a mount's 405 and OPTIONS list the methods of the routes before it that match the path too") {
    auto files = router{get<"/{name}">([](std::string_view n) { return std::string(n); })};
    auto other = [](request const& req) {  // lists a method porthole does not know
        if (req.method() == method::options)
            return response(status::no_content).set_header("Allow", "PROPFIND, OPTIONS");
        return response::error(status::method_not_allowed).set_header("Allow", "PROPFIND, OPTIONS");
    };
    auto app = router{
        put<"/files/{name}">([](std::string_view) { return status::created; }),
        post<"/files/{name}/copy">([](std::string_view) { return status::created; }),
        mount<"/files">(files),
        delete_<"/dav/{name}">([](std::string_view) { return status::no_content; }),
        mount<"/dav">(other),
    };
    CHECK(send(app, method::put, "/files/a.txt").status == 201);
    CHECK(testing::get(app, "/files/a.txt").body == "a.txt");
    auto r = send(app, method::delete_, "/files/a.txt");
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD, OPTIONS, PUT");
    r = send(app, method::options, "/files/a.txt");
    CHECK(r.status == 204);
    CHECK(r.header("Allow") == "GET, HEAD, OPTIONS, PUT");
    // Where no route before the mount matches, its answer is its own.
    r = send(app, method::delete_, "/files/a/b");
    CHECK(r.status == 404);
    r = send(app, method::post, "/dav/x");
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "PROPFIND, OPTIONS, DELETE");
    CHECK(send(app, method::options, "/dav/x").header("Allow") == "PROPFIND, OPTIONS, DELETE");
    CHECK(send(app, method::options, "/dav/x/y").header("Allow") == "PROPFIND, OPTIONS");
    // A mount that lists its methods on two Allow lines: one list (RFC 9110 5.3), a method on
    // the second not added again.
    auto two_lines = [](request const&) {
        return response::error(status::method_not_allowed)
            .add_header("Allow", "PROPFIND")
            .add_header("Allow", "DELETE");
    };
    auto app2 = router{delete_<"/dav/{name}">([](std::string_view) { return status::no_content; }),
                       get<"/dav/{name}">([](std::string_view) { return "x"; }), mount<"/dav">(two_lines)};
    r = send(app2, method::post, "/dav/x");
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "PROPFIND, DELETE, GET, HEAD, OPTIONS");
    int allow_lines = 0;
    for (auto const& [name, value] : r.headers) allow_lines += name == "Allow";
    CHECK(allow_lines == 1);
}

TEST_CASE("handlers may return a response, a string, a literal, a status or an optional") {
    auto app = router{
        get<"/response">([] { return response::json("{}", status::accepted); }),
        get<"/string">([] { return std::string("s"); }),
        get<"/literal">([] { return "lit"; }),
        get<"/status">([] { return status::no_content; }),
        get<"/opt/{id:int}">([](std::int64_t id) -> std::optional<std::string> {
            if (id == 1) return "one";
            return std::nullopt;
        }),
    };
    auto r = testing::get(app, "/response");
    CHECK(r.status == 202);
    CHECK(r.header("Content-Type") == "application/json");
    CHECK(testing::get(app, "/string").body == "s");
    CHECK(testing::get(app, "/string").header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(testing::get(app, "/literal").body == "lit");
    CHECK(testing::get(app, "/status").status == 204);
    CHECK(testing::get(app, "/opt/1").body == "one");
    auto none = testing::get(app, "/opt/2");
    auto miss = testing::get(app, "/nothing/here");
    CHECK(none.status == 404);
    CHECK(none.body == "Not Found");  // a handler's nullopt and a router's miss: one error page
    CHECK(none.body == miss.body);
    CHECK(none.header("Content-Type") == miss.header("Content-Type"));
}

TEST_CASE("handlers take the request first, or the request alone, and see the parameters in it") {
    struct functor {
        std::string operator()(request const& req, std::string_view a, std::uint64_t n) const {
            return echo(req.method_name()) + " " + echo(a) + " " + std::to_string(n) + " " + echo(req.param("n"));
        }
    };
    auto app = router{
        get<"/f/{a}/{n:uint}">(functor{}),
        get<"/g/{a}/{n:int}">([](request const& req) { return echo(req.param("a")) + "," + echo(req.param("n")); }),
        get<"/h/{a}/{b...}">([](auto a, auto b) { return echo(a) + ";" + echo(b); }),
        // generic, and its body compiles for the parameter alone: never tried with a request
        get<"/twice/{n:int}">([](auto n) { return std::to_string(n * 2); }),
        get<"/params/{x}">([](request const& req, std::string_view) {
            return std::to_string(req.params().size()) + echo(req.params()[0].name);
        }),
    };
    CHECK(testing::get(app, "/f/x%2Fy/9").body == "GET x/y 9 9");
    CHECK(testing::get(app, "/g/a%2Fb/-3").body == "a/b,-3");
    CHECK(testing::get(app, "/h/1/2/3").body == "1;2/3");
    CHECK(testing::get(app, "/twice/-21").body == "-42");
    CHECK(testing::get(app, "/params/v").body == "1x");
}

std::string free_handler(std::int64_t id) { return "free " + std::to_string(id); }

TEST_CASE("functions and mutable lambdas are handlers") {
    int count = 0;
    auto app = router{
        get<"/free/{id:int}">(free_handler),
        get<"/count">([count]() mutable { return std::to_string(++count); }),
    };
    CHECK(testing::get(app, "/free/3").body == "free 3");
    auto c = app(make_request(method::get, "/count"));
    CHECK(c.body_view() == "1");
    CHECK(app(make_request(method::get, "/count")).body_view() == "2");
}

TEST_CASE("a path that is not rooted matches nothing") {
    auto app = router{get<"/{x...}">([](std::string_view) { return "x"; })};
    CHECK(app(make_request(method::get, "")).status() == status::not_found);
    CHECK(app(make_request(method::get, "x")).status() == status::not_found);
    CHECK(app(make_request(method::get, "*")).status() == status::not_found);
    CHECK(app(make_request(method::get, "/a")).status() == status::ok);
}

TEST_CASE("dispatch to a matched route allocates nothing") {
    auto app = router{
        get<"/">([] { return status::ok; }),
        get<"/users/{id:int}/posts/{slug}">([](std::int64_t, std::string_view) { return status::ok; }),
        get<"/files/{p...}">([](std::string_view) { return status::ok; }),
        put<"/users/{id:int}">([](request const&, std::int64_t) { return status::no_content; }),
    };
    auto before = allocation_count::now();
    CHECK(app(make_request(method::get, "/users/12/posts/a%2Fb")).status() == status::ok);
    CHECK(app(make_request(method::get, "/files/x/y/z")).status() == status::ok);
    CHECK(app(make_request(method::head, "/")).status() == status::ok);
    CHECK(app(make_request(method::put, "/users/1")).status() == status::no_content);
    CHECK(app(make_request(method::get, "/nope")).status() == status::not_found);
    CHECK(allocation_count::now() == before);
}

TEST_CASE("a large table dispatches each route to its own handler") {
    auto app = router{
        get<"/api/v1/users">([] { return "list users"; }),
        post<"/api/v1/users">([] { return "create user"; }),
        get<"/api/v1/users/{id:int}">([](std::int64_t id) { return "user " + std::to_string(id); }),
        get<"/api/v1/users/{id:int}/posts">([](std::int64_t id) { return "posts of " + std::to_string(id); }),
        get<"/api/v1/users/{id:int}/posts/{post:int}">(
            [](std::int64_t id, std::int64_t post) { return std::to_string(id) + "/" + std::to_string(post); }),
        get<"/api/v1/orders">([] { return "orders"; }),
        get<"/api/v1/orders/{id}">([](std::string_view id) { return "order " + echo(id); }),
        get<"/api/v2/users">([] { return "v2 users"; }),
        get<"/health">([] { return "ok"; }),
    };
    CHECK(testing::get(app, "/api/v1/users").body == "list users");
    CHECK(send(app, method::post, "/api/v1/users").body == "create user");
    CHECK(testing::get(app, "/api/v1/users/5").body == "user 5");
    CHECK(testing::get(app, "/api/v1/users/5/posts").body == "posts of 5");
    CHECK(testing::get(app, "/api/v1/users/5/posts/6").body == "5/6");
    CHECK(testing::get(app, "/api/v1/users/x/posts").status == 404);
    CHECK(testing::get(app, "/api/v1/orders/A-1").body == "order A-1");
    CHECK(testing::get(app, "/api/v2/users").body == "v2 users");
    CHECK(testing::get(app, "/api/v3/users").status == 404);
    CHECK(testing::get(app, "/health").body == "ok");
}

// A trie built with a quadratic pass (each segment looked up among its siblings, children sorted
// by insertion) passed the compiler's limit on constant evaluation near 300 routes side by side.
TEST_CASE("a table of 300 routes side by side builds, and each route answers its own paths") {
    auto app = wide_router(std::make_index_sequence<300>{});
    using table = decltype(app);
    for (std::size_t k : {0, 1, 9, 10, 11, 99, 100, 101, 150, 298, 299}) {
        auto path = "/r" + std::to_string(k) + "/" + std::to_string(k * 7);
        CHECK(table::route_for(method::get, path) == "/r" + std::to_string(k) + "/{id:int}");
        auto r = testing::get(app, path);
        CHECK(r.status == 200);
        CHECK(r.body == std::to_string(k * 7));
    }
    CHECK(testing::get(app, "/r300/1").status == 404);
    CHECK(testing::get(app, "/r01/1").status == 404);
    CHECK(testing::get(app, "/r5/x").status == 404);
    CHECK(testing::get(app, "/r5").status == 404);
    CHECK(send(app, method::post, "/r5/1").status == 405);
}

TEST_CASE("form_fields reads urlencoded bodies only; multipart_parts takes the boundary from Content-Type") {
    auto app = router{
        post<"/form">([](request const& req) {
            std::string out;
            for (auto const& f : form_fields(req)) {
                std::string name, value;
                url::decode_form(f.name, name);
                url::decode_form(f.value, value);
                out += name + "=" + value + ";";
            }
            return out;
        }),
        post<"/upload">([](request const& req) -> response {
            std::vector<multipart::part> parts;
            if (!multipart_parts(req, parts)) return status::bad_request;
            std::string out;
            for (auto const& p : parts) out += echo(p.name) + ":" + echo(p.data) + ";";
            return response::text(out);
        }),
    };
    CHECK(send(app, method::post, "/form", "a=1&b=x+y%21", {{"Content-Type", "application/x-www-form-urlencoded"}})
              .body == "a=1;b=x y!;");
    CHECK(
        send(app, method::post, "/form", "a=1", {{"Content-Type", "Application/X-WWW-Form-Urlencoded ; charset=utf-8"}})
            .body == "a=1;");
    CHECK(send(app, method::post, "/form", "a=1", {{"Content-Type", "text/plain"}}).body.empty());
    std::string body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nhello\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"g\"; filename=\"g.txt\"\r\n\r\nworld\r\n--XyZ--\r\n";
    CHECK(send(app, method::post, "/upload", body, {{"Content-Type", "multipart/form-data; boundary=XyZ"}}).body ==
          "f:hello;g:world;");
    CHECK(send(app, method::post, "/upload", body, {{"Content-Type", "multipart/form-data; boundary=other"}}).status ==
          400);
    CHECK(send(app, method::post, "/upload", body, {{"Content-Type", "multipart/mixed; boundary=XyZ"}}).status == 400);
    CHECK(send(app, method::post, "/upload", body).status == 400);
}

TEST_CASE("a node with many literal children finds each one, and nothing else") {
    auto app = router{
        get<"/a">([] { return "a"; }),
        get<"/bc">([] { return "bc"; }),
        get<"/def">([] { return "def"; }),
        get<"/ghij">([] { return "ghij"; }),
        get<"/klmno">([] { return "klmno"; }),
        get<"/pqrstuv">([] { return "pqrstuv"; }),
        get<"/wxyzabcd">([] { return "wxyzabcd"; }),
        get<"/efghijklm">([] { return "efghijklm"; }),
        get<"/notifications">([] { return "notifications"; }),
        get<"/environments-and-more">([] { return "environments-and-more"; }),
        get<"/caf\xC3\xA9">([] { return "cafe"; }),
        get<"/{other}">([](std::string_view o) { return "other " + echo(o); }),
    };
    for (std::string name : {"a", "bc", "def", "ghij", "klmno", "pqrstuv", "wxyzabcd", "efghijklm", "notifications",
                             "environments-and-more"})
        CHECK(testing::get(app, "/" + name).body == name);
    CHECK(testing::get(app, "/caf%C3%A9").body == "cafe");
    for (std::string neighbour : {"b", "bd", "deff", "ghiJ", "klmnop", "pqrstuw", "wxyzabce", "efghijkl",
                                  "notification", "environments-and-mord", "xnvironments-and-more"})
        CHECK(testing::get(app, "/" + neighbour).body == "other " + neighbour);
}

TEST_CASE("a run of literal segments with no alternative is matched as a whole, and only as a whole") {
    auto app = router{
        get<"/api/v1/status">([] { return "status"; }),
        get<"/api/v1/users/{id:int}">([](std::int64_t id) { return "user " + std::to_string(id); }),
        get<"/api/v1/users/{id:int}/settings/notifications/email">(
            [](std::int64_t id) { return "email " + std::to_string(id); }),
        get<"/deep/a//b/">([] { return "empty segment and slash"; }),
        get<"/stop/here">([] { return "here"; }),
        get<"/stop/here/and/further">([] { return "further"; }),
    };
    CHECK(testing::get(app, "/api/v1/status").body == "status");
    CHECK(testing::get(app, "/api/v1/users/7").body == "user 7");
    CHECK(testing::get(app, "/api/v1/users/7/settings/notifications/email").body == "email 7");
    // Whole segments only: a prefix, an extension or a missing piece of the run matches nothing.
    for (std::string miss : {"/api", "/api/", "/api/v", "/api/v1", "/api/v1/", "/api/v1x/status", "/api/v2/status",
                             "/api/v1/statuses", "/api/v1/statu", "/apiv1/status", "/api//v1/status",
                             "/api/v1/users/7/settings/notifications", "/api/v1/users/7/settings/notifications/e",
                             "/api/v1/users/7/settings/notifications/email/", "/api/v1/users/x/settings"})
        CHECK_MESSAGE(testing::get(app, miss).status == 404, miss);
    CHECK(testing::get(app, "/deep/a//b/").body == "empty segment and slash");
    for (std::string miss : {"/deep/a/b/", "/deep/a//b", "/deep/a///b/", "/deep/a//b//"})
        CHECK_MESSAGE(testing::get(app, miss).status == 404, miss);
    // A route ending inside a run splits it.
    CHECK(testing::get(app, "/stop/here").body == "here");
    CHECK(testing::get(app, "/stop/here/and/further").body == "further");
    CHECK(testing::get(app, "/stop/here/and").status == 404);
    // Dot segments never stand in for a literal.
    CHECK(testing::get(app, "/api/./v1/status").status == 404);
    CHECK(testing::get(app, "/api/v1/../v1/status").status == 404);
}

TEST_CASE("route_for names the pattern that would answer, without answering") {
    using app_type = decltype(router{
        get<"/">([] { return "index"; }),
        route<"/items/{id:int}", GET | PUT>([](std::int64_t) { return status::ok; }),
        get<"/files/{path...}">([](std::string_view) { return status::ok; }),
        mount<"/static">([](request const&) { return status::ok; }),
    });
    CHECK(app_type::route_for(method::get, "/") == "/");
    CHECK(app_type::route_for(method::put, "/items/-3") == "/items/{id:int}");
    CHECK(app_type::route_for(method::head, "/items/3") == "/items/{id:int}");  // HEAD goes to GET
    CHECK(app_type::route_for(method::delete_, "/items/3").empty());            // would be 405
    CHECK(app_type::route_for(method::get, "/items/x").empty());                // would be 404
    CHECK(app_type::route_for(method::get, "/files/a/b.txt") == "/files/{path...}");
    CHECK(app_type::route_for(method::post, "/static/app.js") == "/static");
    CHECK(app_type::route_for(method::get, "").empty());
    CHECK(app_type::route_for(method::get, "items/3").empty());
}

// A program that says `using namespace porthole` (and std) keeps its own functions named like the
// route functions, and std::get: porthole's get, head... are function templates that overload.
namespace user_code {
using namespace std;
using namespace porthole;
string head(int n) { return "head " + to_string(n); }
inline auto app = router{porthole::get<"/">([] { return "root"; })};
}  // namespace user_code

TEST_CASE("a program's own head() and std::get live beside porthole's route functions") {
    std::tuple<int, int> t{1, 2};
    {
        using namespace std;
        using namespace porthole;
        CHECK(get<1>(t) == 2);
    }
    CHECK(user_code::head(3) == "head 3");
    CHECK(porthole::testing::get(user_code::app, "/").body == "root");
}
