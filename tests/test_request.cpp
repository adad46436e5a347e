// request.hpp: every accessor of a request, on requests built from parts and on requests a
// real connection made from bytes.
#include <porthole/request.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace porthole;

namespace {

// What a handler saw, copied: a request's views die with the handler call.
struct seen {
    method m = method::other;
    std::string method_name, target, path, raw_path, query_string, body, peer;
    version v{};
    bool keep_alive = false;
    bool secure = true;
    std::vector<std::pair<std::string, std::string>> headers;
};

// Serves `bytes` to an application that records its request; the recorded request.
seen through_connection(std::string_view bytes, std::string_view peer = {}) {
    seen s;
    auto app = [&s](request const& req) {
        s.m = req.method();
        s.method_name = std::string(req.method_name());
        s.target = std::string(req.target());
        s.path = std::string(req.path());
        s.raw_path = std::string(req.raw_path());
        s.query_string = std::string(req.query_string());
        s.body = std::string(req.body());
        s.peer = std::string(req.peer());
        s.v = req.version();
        s.keep_alive = req.keep_alive();
        s.secure = req.secure();
        for (auto const& f : req.headers()) s.headers.emplace_back(std::string(f.name), std::string(f.value));
        return "ok";
    };
    testing::client c(app);
    if (!peer.empty()) c.conn().set_peer(peer);
    c.send(bytes);
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    return s;
}

}  // namespace

TEST_CASE("a default request is GET / over HTTP/1.1 with nothing else") {
    request r;
    CHECK(r.method() == method::get);
    CHECK(r.method_name() == "GET");
    CHECK(r.target() == "/");
    CHECK(r.version() == http_1_1);
    CHECK(r.path() == "/");
    CHECK(r.raw_path() == "/");
    CHECK(r.query_string().empty());
    CHECK(r.headers().empty());
    CHECK(r.body().empty());
    CHECK(r.keep_alive());
    CHECK(r.peer().empty());
    CHECK_FALSE(r.secure());
    CHECK(r.client_subject().empty());
    CHECK(r.params().empty());
}

TEST_CASE("missing values: nullopt, never a throw; an unknown param() is an empty view") {
    request r;
    CHECK(r.header("Host") == std::nullopt);
    CHECK_FALSE(r.cookie("sid").has_value());
    CHECK_FALSE(r.query("q").has_value());
    CHECK_FALSE(r.form("q").has_value());
    CHECK(r.param("id").empty());
    CHECK(r.query_params().begin() == r.query_params().end());
}

TEST_CASE("every part given to the constructor comes back from its accessor") {
    std::array<header_field const, 1> fields{{{"Host", "example.com"}}};
    request::parts p;
    p.method = method::put;
    p.method_name = "PUT";
    p.target = "/a%20b?x=1";
    p.version = http_1_0;
    p.path = "/a b";
    p.raw_path = "/a%20b";
    p.query = "x=1";
    p.headers = fields;
    p.body = "payload";
    p.keep_alive = false;
    p.peer = "192.0.2.1:4000";
    p.secure = true;
    p.client_subject = "CN=alice,O=Example";
    request r(p);
    CHECK(r.method() == method::put);
    CHECK(r.method_name() == "PUT");
    CHECK(r.target() == "/a%20b?x=1");
    CHECK(r.version() == http_1_0);
    CHECK(r.path() == "/a b");
    CHECK(r.raw_path() == "/a%20b");
    CHECK(r.query_string() == "x=1");
    REQUIRE(r.headers().size() == 1);
    CHECK(r.headers()[0].value == "example.com");
    CHECK(r.body() == "payload");
    CHECK_FALSE(r.keep_alive());
    CHECK(r.peer() == "192.0.2.1:4000");
    CHECK(r.secure());
    CHECK(r.client_subject() == "CN=alice,O=Example");
    // The views are the caller's: nothing is copied.
    CHECK(r.body().data() == p.body.data());
    CHECK(r.headers().data() == fields.data());
}

TEST_CASE("header names compare case-insensitively; a repeated field gives its first value to header()") {
    std::array<header_field const, 4> fields{{
        {"Accept", "text/html"},
        {"X-Empty", ""},
        {"accept", "application/json"},
        {"Content-Type", "text/plain"},
    }};
    request::parts p;
    p.headers = fields;
    request r(p);
    CHECK(r.header("accept") == "text/html");
    CHECK(r.header("ACCEPT") == "text/html");
    CHECK(r.header("content-type") == "text/plain");
    // Present with an empty value is not the same as absent.
    CHECK(r.header("x-empty").has_value());
    CHECK(r.header("X-Empty") == "");
    CHECK_FALSE(r.header("X-Missing").has_value());
    // A name is compared whole: a prefix does not match.
    CHECK_FALSE(r.header("Accep").has_value());
    CHECK_FALSE(r.header("Accept-Language").has_value());
    // Every field line stays, in order, for the application that wants the repeats.
    REQUIRE(r.headers().size() == 4);
    CHECK(r.headers()[2].name == "accept");
    CHECK(r.headers()[2].value == "application/json");
}

TEST_CASE("cookie() finds a cookie in any Cookie field; names are case-sensitive, quotes are unwrapped") {
    std::array<header_field const, 3> fields{{
        {"Cookie", "theme=dark; sid=abc"},
        {"Accept", "*/*"},
        {"cookie", "lang=\"en\"; bad; Sid=other"},
    }};
    request::parts p;
    p.headers = fields;
    request r(p);
    CHECK(r.cookie("theme") == "dark");
    CHECK(r.cookie("sid") == "abc");
    CHECK(r.cookie("lang") == "en");           // from the second Cookie field, the quotes removed
    CHECK(r.cookie("Sid") == "other");         // RFC 6265: cookie names are case-sensitive
    CHECK_FALSE(r.cookie("bad").has_value());  // a pair without '=' is skipped
    CHECK_FALSE(r.cookie("SID").has_value());
    CHECK_FALSE(r.cookie("Accept").has_value());  // other fields are not cookies
}

TEST_CASE("query() decodes the first matching pair; a lone % stays as it is") {
    request::parts p;
    p.query = "q=a+b%21&n=1&n=2&flag&empty=&bad=%zz&bad=fine&na%6De=v&x=%2B";
    request r(p);
    CHECK(r.query("q") == "a b!");  // '+' is a space, %21 is '!'
    CHECK(r.query("n") == "1");     // the first of repeated pairs
    CHECK(r.query("flag") == "");   // present without '='
    CHECK(r.query("empty") == "");
    CHECK(r.query("bad") == "%zz");  // the first pair, its "%" kept (WHATWG URL), not the next one
    CHECK(r.query("name") == "v");   // names are decoded before comparing
    CHECK(r.query("x") == "+");      // an encoded '+' stays a plus
    CHECK_FALSE(r.query("missing").has_value());
    CHECK_FALSE(r.query("Q").has_value());  // names are case-sensitive
    CHECK(r.query_string() == p.query);     // still encoded

    // query_params() iterates every raw pair, duplicates included.
    std::vector<std::string> names;
    for (auto const& pr : r.query_params()) names.emplace_back(pr.name);
    CHECK(names == std::vector<std::string>{"q", "n", "n", "flag", "empty", "bad", "bad", "na%6De", "x"});
}

TEST_CASE("form() reads fields of an urlencoded body as query() reads the query") {
    std::array<header_field const, 1> urlencoded{
        {{"content-type", " Application/X-WWW-Form-Urlencoded ; charset=utf-8"}}};
    request::parts p;
    p.headers = urlencoded;
    p.body = "name=J%C3%BCrgen+K&tags=a&tags=b";
    p.query = "name=fromquery";
    request r(p);
    CHECK(r.form("name") == "J\xC3\xBCrgen K");
    CHECK(r.form("tags") == "a");
    CHECK_FALSE(r.form("missing").has_value());
    CHECK(r.query("name") == "fromquery");  // the two never mix
}

TEST_CASE("form() is nullopt for a body that is not urlencoded, whatever it looks like") {
    std::array<header_field const, 1> json{{{"Content-Type", "application/json"}}};
    std::array<header_field const, 1> multipart{{{"Content-Type", "multipart/form-data; boundary=x"}}};
    std::array<header_field const, 1> prefix{{{"Content-Type", "application/x-www-form-urlencoded-not"}}};
    for (auto headers : {std::span<header_field const>(json), std::span<header_field const>(multipart),
                         std::span<header_field const>(prefix), std::span<header_field const>()}) {
        request::parts p;
        p.headers = headers;
        p.body = "name=x";  // would decode as a form
        CHECK_FALSE(request(p).form("name").has_value());
    }
}

TEST_CASE("path parameters: param() by name, empty for an unknown name") {
    std::array<path_param const, 2> params{{{"id", "42"}, {"rest", "a/b"}}};
    request base;
    auto r = base.with_params(params);
    CHECK(r.param("id") == "42");
    CHECK(r.param("rest") == "a/b");
    CHECK(r.param("ID").empty());
    CHECK(r.param("missing").empty());
    REQUIRE(r.params().size() == 2);
    CHECK(r.params()[1].name == "rest");
    CHECK(base.params().empty());  // with_params makes a copy
}

TEST_CASE("with_path, with_headers and with_body change one part of a copy") {
    std::array<header_field const, 1> original{{{"A", "1"}}};
    std::array<header_field const, 1> changed{{{"B", "2"}}};
    request::parts p;
    p.method = method::post;
    p.method_name = "POST";
    p.path = "/mount/inner";
    p.headers = original;
    p.body = "old";
    request r(p);

    auto moved = r.with_path("/inner");
    CHECK(moved.path() == "/inner");
    CHECK(moved.method() == method::post);
    CHECK(moved.body() == "old");
    CHECK(r.path() == "/mount/inner");

    auto h = r.with_headers(changed);
    CHECK(h.header("B") == "2");
    CHECK_FALSE(h.header("A").has_value());
    CHECK(r.header("A") == "1");

    auto b = r.with_body("new");
    CHECK(b.body() == "new");
    CHECK(b.path() == "/mount/inner");
    CHECK(r.body() == "old");
}

TEST_CASE("a connection fills the request line: method, target, decoded path, raw path and query") {
    auto s = through_connection("DELETE /files/a%20b%2Fc?x=1&y=%41 HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(s.m == method::delete_);
    CHECK(s.method_name == "DELETE");
    CHECK(s.target == "/files/a%20b%2Fc?x=1&y=%41");
    CHECK(s.path == "/files/a b%2Fc");  // decoded once, but an encoded slash stays encoded
    CHECK(s.raw_path == "/files/a%20b%2Fc");
    CHECK(s.query_string == "x=1&y=%41");
    CHECK(s.v == http_1_1);
    CHECK(s.keep_alive);
    CHECK_FALSE(s.secure);
    CHECK(s.peer.empty());  // no driver gave an address
}

TEST_CASE("an absolute-form target gives the path and query after the authority") {
    auto s = through_connection("GET http://example.com/p/q?z=9 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    CHECK(s.target == "http://example.com/p/q?z=9");
    CHECK(s.path == "/p/q");
    CHECK(s.raw_path == "/p/q");
    CHECK(s.query_string == "z=9");
}

TEST_CASE("HTTP/1.0 shows as version 1.0 and, without keep-alive, not kept alive") {
    auto s = through_connection("GET / HTTP/1.0\r\n\r\n");
    CHECK(s.v == http_1_0);
    CHECK_FALSE(s.keep_alive);
    auto close = through_connection("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    CHECK(close.v == http_1_1);
    CHECK_FALSE(close.keep_alive);
}

TEST_CASE("the headers a connection hands over keep their order, repeats and spelling") {
    auto s = through_connection("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nX-B:   padded  \r\n\r\n");
    REQUIRE(s.headers.size() == 4);
    CHECK(s.headers[1] == std::pair<std::string, std::string>{"X-A", "1"});
    CHECK(s.headers[2] == std::pair<std::string, std::string>{"x-a", "2"});
    CHECK(s.headers[3].second == "padded");  // OWS around a value is not part of it (RFC 9112 5)
}

TEST_CASE("header() from a connection: nullopt when absent, an empty value when sent empty") {
    std::optional<std::string> empty, missing, any_case;
    auto app = [&](request const& req) {
        if (auto v = req.header("x-empty")) empty = std::string(*v);
        if (auto v = req.header("X-Missing")) missing = std::string(*v);
        if (auto v = req.header("x-TRACE")) any_case = std::string(*v);
        return "ok";
    };
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Trace: t1\r\n\r\n");
    REQUIRE(c.responses().size() == 1);
    CHECK(empty == "");
    CHECK(missing == std::nullopt);
    CHECK(any_case == "t1");
}

TEST_CASE("the body is de-chunked and the peer is what the driver set") {
    auto s = through_connection(
        "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "198.51.100.7:51234");
    CHECK(s.m == method::post);
    CHECK(s.body == "hello world");
    CHECK(s.peer == "198.51.100.7:51234");
}
