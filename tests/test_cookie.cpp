#include <porthole/cookie.hpp>
#include <porthole/response.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <ranges>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace porthole;
using namespace std::string_view_literals;

namespace {
using pv = std::vector<std::pair<std::string_view, std::string_view>>;
pv pairs(std::string_view header) {
    pv v;
    for (auto const& c : cookies_view(header)) v.emplace_back(c.name, c.value);
    return v;
}
}  // namespace

// ---------------------------------------------------------------- Cookie header

TEST_CASE("cookies_view yields the pairs of a well-formed Cookie header") {
    CHECK(pairs("sid=abc; theme=dark") == pv{{"sid", "abc"}, {"theme", "dark"}});
    CHECK(pairs("a=1") == pv{{"a", "1"}});
    CHECK(pairs("") == pv{});
}

TEST_CASE("cookies_view skips empty pairs, pairs without '=' and goes on") {
    CHECK(pairs("a=1; ; b; c=3") == pv{{"a", "1"}, {"c", "3"}});
    CHECK(pairs(";;;") == pv{});
    CHECK(pairs("novalue") == pv{});
    CHECK(pairs("a=1;") == pv{{"a", "1"}});
}

TEST_CASE("cookies_view skips pairs whose name is not a token") {
    CHECK(pairs("=v; a b=1; a,b=2; \"q\"=3; ok=4") == pv{{"ok", "4"}});
    CHECK(pairs("a@b=1; x=2") == pv{{"x", "2"}});
}

TEST_CASE("cookies_view trims OWS around names and values") {
    CHECK(pairs(" \ta = 1 \t;b=2 ;  c=  3") == pv{{"a", "1"}, {"b", "2"}, {"c", "3"}});
    CHECK(pairs("a=; b= ") == pv{{"a", ""}, {"b", ""}});
}

TEST_CASE("cookies_view unwraps double-quoted values") {
    CHECK(pairs("a=\"xyz\"; b=\"\"; c=\"; d=\"x") == pv{{"a", "xyz"}, {"b", ""}, {"c", "\""}, {"d", "\"x"}});
}

TEST_CASE("cookies_view keeps everything after the first '=' in the value") {
    CHECK(pairs("t=a=b==") == pv{{"t", "a=b=="}});
}

TEST_CASE("cookies_view keeps duplicates, names are case-sensitive") {
    CHECK(pairs("a=1; A=2; a=3") == pv{{"a", "1"}, {"A", "2"}, {"a", "3"}});
}

TEST_CASE("cookies_view yields views into the header") {
    std::string_view h = "sid=abc";
    auto c = *cookies_view(h).begin();
    CHECK(c.name.data() == h.data());
    CHECK(c.value.data() == h.data() + 4);
    static_assert(std::ranges::forward_range<cookies_view>);
}

TEST_CASE("find_cookie returns the first value by exact name") {
    std::string_view h = "a=1; ; b; c=\"3\"; a=4; Sid=x";
    CHECK(find_cookie(h, "a") == "1");
    CHECK(find_cookie(h, "c") == "3");
    CHECK_FALSE(find_cookie(h, "b"));
    CHECK_FALSE(find_cookie(h, "sid"));
    CHECK(find_cookie(h, "Sid") == "x");
    CHECK_FALSE(find_cookie("", "a"));
    static_assert(find_cookie("x=1; y=2", "y") == "2");
}

// ---------------------------------------------------------------- Set-Cookie

TEST_CASE("set_cookie writes name=value alone when no attribute is set") {
    CHECK(set_cookie("sid", "abc").to_string() == "sid=abc");
    CHECK(set_cookie("sid", "").to_string() == "sid=");
    CHECK(set_cookie("q", "\"quoted\"").to_string() == "q=\"quoted\"");
}

TEST_CASE("set_cookie writes every attribute in a fixed order") {
    auto when = std::chrono::system_clock::time_point{std::chrono::seconds{784111777}};
    auto v = set_cookie("sid", "abc")
                 .same_site(same_site::lax)
                 .http_only()
                 .secure()
                 .expires(when)
                 .max_age(std::chrono::seconds{3600})
                 .domain("example.com")
                 .path("/")
                 .to_string();
    CHECK(v ==
          "sid=abc; Path=/; Domain=example.com; Max-Age=3600; "
          "Expires=Sun, 06 Nov 1994 08:49:37 GMT; Secure; HttpOnly; SameSite=Lax");
}

TEST_CASE("set_cookie writes each SameSite value") {
    CHECK(set_cookie("a", "1").same_site(same_site::strict).to_string() == "a=1; SameSite=Strict");
    CHECK(set_cookie("a", "1").same_site(same_site::lax).to_string() == "a=1; SameSite=Lax");
}

TEST_CASE("SameSite=None adds Secure") {
    CHECK(set_cookie("a", "1").same_site(same_site::none).to_string() == "a=1; Secure; SameSite=None");
    CHECK(set_cookie("a", "1").secure().same_site(same_site::none).to_string() == "a=1; Secure; SameSite=None");
}

TEST_CASE("set_cookie flags can be turned off again") {
    CHECK(set_cookie("a", "1").secure().http_only().secure(false).http_only(false).to_string() == "a=1");
}

TEST_CASE("set_cookie: a later setter replaces an earlier one") {
    CHECK(set_cookie("a", "1").path("/x").path("/y").to_string() == "a=1; Path=/y");
}

TEST_CASE("Max-Age: zero deletes, a negative age is written as zero") {
    CHECK(set_cookie("a", "").max_age(std::chrono::seconds{0}).to_string() == "a=; Max-Age=0");
    CHECK(set_cookie("a", "").max_age(std::chrono::seconds{-5}).to_string() == "a=; Max-Age=0");
    CHECK(set_cookie("a", "1").max_age(std::chrono::hours{24}).to_string() == "a=1; Max-Age=86400");
}

TEST_CASE("Expires drops sub-second precision, rounding down") {
    using namespace std::chrono;
    auto when = system_clock::time_point{seconds{784111777} + milliseconds{999}};
    CHECK(set_cookie("a", "1").expires(when).to_string() == "a=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT");
    auto before_epoch = system_clock::time_point{milliseconds{-1}};
    CHECK(set_cookie("a", "1").expires(before_epoch).to_string() == "a=1; Expires=Wed, 31 Dec 1969 23:59:59 GMT");
}

namespace {
// A refused cookie is invalid, says why, and has no text to put in a header.
void check_refused(set_cookie const& c, std::string_view problem) {
    CHECK(!c.valid());
    CHECK(c.problem() == problem);
    CHECK(c.to_string().empty());
}
}  // namespace

TEST_CASE("set_cookie refuses a name that is not a token") {
    for (auto bad : {""sv, "a b"sv, "a=b"sv, "a;b"sv, "a\r\nX: y"sv, "a,b"sv, "\"a\""sv, "a\x7f"sv, "caf\xc3\xa9"sv}) {
        CAPTURE(bad);
        check_refused(set_cookie(bad, "v"), "name is not a token");
    }
}

TEST_CASE("set_cookie refuses a value outside cookie-octet") {
    for (auto bad : {"a b"sv, "a;b"sv, "a,b"sv, "a\\b"sv, "a\"b"sv, "\""sv, "\"a"sv, "\"a b\""sv, "a\rb"sv, "a\nb"sv,
                     "a\tb"sv, "\x7f"sv, "\xc3\xa9"sv, std::string_view("a\0b", 3)}) {
        CAPTURE(bad);
        check_refused(set_cookie("n", bad), "value has a byte outside cookie-octet");
    }
    auto fine = set_cookie("n", "!#$%&'()*+-./0123456789:<=>?@AZ[]^_`az{|}~");
    CHECK(fine.valid());
    CHECK(fine.problem().empty());
}

TEST_CASE("set_cookie refuses Path and Domain with CTLs, ';' or non-ASCII") {
    for (auto bad : {"/a;b"sv, "/a\r\nSet-Cookie: x=y"sv, "/a\nb"sv, "/a\tb"sv, "/\x7f"sv, "/caf\xc3\xa9"sv,
                     std::string_view("/\0", 2)}) {
        CAPTURE(bad);
        check_refused(set_cookie("a", "1").path(bad), "Path has a control character, ';' or a non-ASCII byte");
        check_refused(set_cookie("a", "1").domain(bad), "Domain has a control character, ';' or a non-ASCII byte");
    }
    CHECK(set_cookie("a", "1").path("/a b,c\"d").to_string() == "a=1; Path=/a b,c\"d");
    // The first problem is the one told; a later valid setter does not make it valid again.
    auto c = set_cookie("a b", "1").path("/;").path("/");
    check_refused(c, "name is not a token");
}

TEST_CASE("set_cookie refuses what browsers drop: __Secure- and __Host- without their attributes, over 4096 bytes") {
    // RFC 6265bis 4.1.3: the prefixes, in any case, ask for Secure; __Host- for Path=/ and no Domain too.
    check_refused(set_cookie("__Secure-id", "1"), "a __Secure- cookie needs Secure");
    check_refused(set_cookie("__secure-id", "1").path("/"), "a __Secure- cookie needs Secure");
    CHECK(set_cookie("__Secure-id", "1").secure().valid());
    CHECK(set_cookie("__Secure-id", "1").same_site(same_site::none).valid());  // which adds Secure
    CHECK(set_cookie("__Secure-id", "1").secure().domain("example.com").path("/a").valid());
    for (auto const& bad : {set_cookie("__Host-sid", "x").path("/"), set_cookie("__HOST-sid", "x").secure(),
                            set_cookie("__Host-sid", "x").secure().path("/x"),
                            set_cookie("__Host-sid", "x").secure().path("/").domain("example.com")}) {
        check_refused(bad, "a __Host- cookie needs Secure, Path=/ and no Domain");
    }
    auto host = set_cookie("__Host-sid", "x").secure().path("/").http_only();
    CHECK(host.valid());
    CHECK(host.to_string() == "__Host-sid=x; Path=/; Secure; HttpOnly");
    CHECK(set_cookie("_Host-sid", "x").valid());  // not the prefix
    // The first problem is the one told: a bad value before the prefix's.
    check_refused(set_cookie("__Host-sid", "a b"), "value has a byte outside cookie-octet");
    // RFC 6265bis 5.6: a name and value over 4096 bytes together are dropped.
    CHECK(set_cookie("n", std::string(4095, 'v')).valid());
    check_refused(set_cookie("n", std::string(4096, 'v')), "name and value are over 4096 bytes, which browsers drop");
}

TEST_CASE("a refused cookie and a refused header field end the same way: the response is invalid") {
    // One policy for values an application hands to a response (docs/errors.md): nothing
    // throws, the response is marked invalid and the connection answers 500 instead.
    response by_cookie;
    by_cookie.add_header("Set-Cookie", set_cookie("sid", "a\r\nX-Injected: 1").to_string());
    response by_header;
    by_header.set_header("Set-Cookie", "sid=a\r\nX-Injected: 1");
    for (auto const* r : {&by_cookie, &by_header}) {
        CHECK(!r->valid());
        CHECK(r->invalid_field() == "Set-Cookie");
        CHECK(r->headers().empty());
    }
    response fine;
    fine.add_header("Set-Cookie", set_cookie("sid", "abc").path("/").to_string());
    CHECK(fine.valid());
    CHECK(fine.header("Set-Cookie") == "sid=abc; Path=/");
}

TEST_CASE("what the builder writes reads back through cookies_view") {
    auto v = set_cookie("sid", "\"a=b\"").path("/").to_string();
    auto semi = v.find(';');
    CHECK(find_cookie(std::string_view(v).substr(0, semi), "sid") == "a=b");
}
