// The echo example's application, through porthole::testing.
#include "../examples/echo_app.hpp"

#include <porthole/testing.hpp>

#include <doctest/doctest.h>

using namespace porthole;
using testing::simple_request;

TEST_CASE("echo: GET and HEAD / answer OK; OPTIONS / answers 200") {
    std::atomic<unsigned long> n{0};
    echo_app app{&n};
    CHECK(testing::get(app, "/").body == "OK");
    auto head = testing::send(app, simple_request{method::head, "/", {}, {}});
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("Content-Length") == "2");
    CHECK(testing::send(app, simple_request{method::options, "/", {}, {}}).status == 200);
}

TEST_CASE("echo: POST / echoes the body; POST /echo lists the header fields") {
    std::atomic<unsigned long> n{0};
    echo_app app{&n};
    auto r = testing::send(app, simple_request{method::post, "/", {}, "some body"});
    CHECK(r.body == "some body");
    CHECK(r.header("X-Body-Length") == "9");
    auto e = testing::send(app, simple_request{method::post, "/echo", {{"X-One", "1"}, {"X-Two", "two"}}, "x"});
    CHECK(e.body == "Host: test\nX-One: 1\nX-Two: two\nContent-Length: 1\n");
}

TEST_CASE("echo: GET /cookie lists the cookies; /set-cookie sets one") {
    std::atomic<unsigned long> n{0};
    echo_app app{&n};
    auto c = testing::send(app, simple_request{method::get, "/cookie", {{"Cookie", "a=1; b=two"}}, {}});
    CHECK(c.body == "a=1\nb=two\n");
    auto s = testing::get(app, "/set-cookie?name=sid&value=abc");
    CHECK(s.header("Set-Cookie") == "sid=abc; Path=/; HttpOnly");
    CHECK(testing::get(app, "/set-cookie?name=bad%20name&value=x").status == 400);
}

TEST_CASE("echo: a header value with CR/LF is refused with 500, never split") {
    std::atomic<unsigned long> n{0};
    echo_app app{&n};
    connection_config cfg;
    cfg.error_log = [](std::string_view) {};
    auto r = testing::send(app, simple_request{method::get, "/header?value=a%0d%0aSet-Cookie:%20x=1", {}, {}}, cfg);
    CHECK(r.status == 500);
    CHECK(!r.header("Set-Cookie").has_value());
    CHECK(testing::get(app, "/header?value=fine").header("X-Echo") == "fine");
}

TEST_CASE("echo: /count tells how many requests came before; unknown paths are 404, wrong methods 405") {
    std::atomic<unsigned long> n{0};
    echo_app app{&n};
    testing::get(app, "/");
    testing::get(app, "/");
    CHECK(testing::get(app, "/count").body == "2");
    CHECK(testing::get(app, "/nothing").status == 404);
    auto r = testing::send(app, simple_request{method::delete_, "/", {}, {}});
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD, OPTIONS, POST");
}

TEST_CASE("echo: every path answers HEAD as GET, and another method 405 with that path's Allow") {
    std::atomic<unsigned long> n{0};
    echo_app app{&n};
    for (char const* path : {"/count", "/cookie", "/header?value=v", "/set-cookie?name=a&value=b"}) {
        CAPTURE(path);
        auto get = testing::get(app, path);
        auto head = testing::send(app, simple_request{method::head, path, {}, {}});
        CHECK(head.status == get.status);
        CHECK(head.body.empty());
        CHECK(head.header("Content-Length") == get.header("Content-Length"));
        auto post = testing::send(app, simple_request{method::post, path, {}, "x"});
        CHECK(post.status == 405);
        CHECK(post.header("Allow") == "GET, HEAD");
    }
    auto get_echo = testing::get(app, "/echo");
    CHECK(get_echo.status == 405);
    CHECK(get_echo.header("Allow") == "POST");
}
