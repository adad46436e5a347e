// response.hpp: the factories, header fields and their validity rule, and bodies, read back
// through the response's own accessors and, where the wire is the contract, through a
// connection.
#include <porthole/cookie.hpp>
#include <porthole/response.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <variant>

using namespace porthole;
namespace fs = std::filesystem;

namespace {

// Sends `res` for one GET through a connection; what the client got.
testing::parsed_response on_the_wire(response res) {
    auto app = [&res](request const&) { return res; };
    return testing::get(app, "/");
}

}  // namespace

TEST_CASE("a default response is an empty, valid 200 with no fields") {
    response r;
    CHECK(r.status() == status::ok);
    CHECK(r.valid());
    CHECK(r.invalid_field().empty());
    CHECK(r.headers().empty());
    CHECK(r.content_type().empty());
    CHECK(std::holds_alternative<std::monostate>(r.body()));
    CHECK(r.body_size() == 0);
    CHECK(r.body_view().empty());
    CHECK_FALSE(r.answered_later());
}

TEST_CASE("a status converts to a response with that status and no body") {
    response r = status::no_content;
    CHECK(r.status() == status::no_content);
    CHECK(std::holds_alternative<std::monostate>(r.body()));
    CHECK(r.set_status(status::accepted).status() == status::accepted);
}

TEST_CASE("porthole::later makes the one response that says the answer comes later") {
    response r = later;
    CHECK(r.answered_later());
    CHECK_FALSE(response(status::ok).answered_later());
}

TEST_CASE("text, html and json own their body and name their media type") {
    auto t = response::text("hi");
    CHECK(t.status() == status::ok);
    CHECK(t.content_type() == "text/plain; charset=utf-8");
    REQUIRE(std::holds_alternative<std::string>(t.body()));
    CHECK(t.body_view() == "hi");
    CHECK(t.body_size() == 2);

    auto h = response::html("<p>x</p>", status::created);
    CHECK(h.status() == status::created);
    CHECK(h.content_type() == "text/html; charset=utf-8");
    CHECK(h.body_view() == "<p>x</p>");

    auto page = response::html(porthole::html("<b>trusted</b>"));
    CHECK(page.content_type() == "text/html; charset=utf-8");
    CHECK(page.body_view() == "<b>trusted</b>");

    auto j = response::json("{\"a\":1}", status::bad_request);
    CHECK(j.status() == status::bad_request);
    CHECK(j.content_type() == "application/json");
    CHECK(j.body_view() == "{\"a\":1}");
    // Content-Type is asked for by name too.
    CHECK(j.header("content-type") == "application/json");
}

TEST_CASE("static_text keeps a view of its data, never a copy") {
    static constexpr std::string_view table = "static table";
    auto r = response::static_text(table);
    REQUIRE(std::holds_alternative<std::string_view>(r.body()));
    CHECK(r.body_view().data() == table.data());
    CHECK(r.body_size() == table.size());
    CHECK(r.content_type() == "text/plain; charset=utf-8");
    CHECK(r.status() == status::ok);

    auto css = response::static_text("a{}", "text/css", status::partial_content);
    CHECK(css.content_type() == "text/css");
    CHECK(css.status() == status::partial_content);
}

TEST_CASE("error(s) is the reason phrase as plain text, whatever the status") {
    auto r = response::error(status::not_found);
    CHECK(r.status() == status::not_found);
    CHECK(r.body_view() == "Not Found");
    CHECK(r.content_type() == "text/plain; charset=utf-8");
    CHECK(response::error(status::too_many_requests).body_view() == "Too Many Requests");
}

TEST_CASE("redirect sets Location, with 302 unless another status is given (RFC 9110 15.4)") {
    auto r = response::redirect("/login?next=%2F");
    CHECK(r.status() == status::found);
    CHECK(r.header("Location") == "/login?next=%2F");
    CHECK(r.valid());
    CHECK(response::redirect("/done", status::see_other).status() == status::see_other);
    CHECK(response::redirect("/x", status::permanent_redirect).header("location") == "/x");

    // A location that would split the response is refused, not sent.
    auto bad = response::redirect("/a\r\nSet-Cookie: x=1");
    CHECK_FALSE(bad.valid());
    CHECK(bad.invalid_field() == "Location");
    CHECK_FALSE(bad.header("Location").has_value());
}

TEST_CASE("set_header replaces a field case-insensitively; add_header appends another") {
    response r;
    r.set_header("X-Id", "1");
    r.set_header("x-id", "2");
    REQUIRE(r.headers().size() == 1);
    CHECK(r.headers()[0].name == "X-Id");  // the first spelling stays
    CHECK(r.header("X-ID") == "2");

    r.add_header("Link", "</a>; rel=preload");
    r.add_header("link", "</b>; rel=preload");
    REQUIRE(r.headers().size() == 3);
    CHECK(r.header("Link") == "</a>; rel=preload");  // header() gives the first
    CHECK(r.headers()[2].value == "</b>; rel=preload");

    r.erase_header("LINK");
    CHECK(r.headers().size() == 1);
    CHECK_FALSE(r.header("Link").has_value());
    CHECK(r.valid());
}

TEST_CASE("Content-Type is one value however it is set, never a second field") {
    auto r = response::text("x");
    r.set_header("Content-Type", "text/csv");
    CHECK(r.content_type() == "text/csv");
    r.add_header("content-type", "text/markdown");
    CHECK(r.content_type() == "text/markdown");
    r.set_content_type("application/xml");
    CHECK(r.content_type() == "application/xml");
    CHECK(r.headers().empty());
    auto wire = on_the_wire(r);
    CHECK(wire.count_header("Content-Type") == 1);
    CHECK(wire.header("Content-Type") == "application/xml");
}

TEST_CASE("spaces and tabs around a field value are dropped, however it is set (RFC 9110 5.5)") {
    response r;
    r.set_header("X-Set", " \tvalue with inner  spaces\t ");
    r.add_header("X-Add", "  added ");
    r.set_header("X-Set", "\treplaced ");
    r.set_content_type(" text/plain; charset=utf-8 ");
    r.add_header("X-Blank", " \t ");
    CHECK(r.header("X-Set") == "replaced");
    CHECK(r.header("X-Add") == "added");
    CHECK(r.header("X-Blank") == "");
    CHECK(r.content_type() == "text/plain; charset=utf-8");
    CHECK(r.valid());
    auto app = [&r](request const&) { return r; };
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto const& wire = c.output();
    CHECK(wire.find("\r\nX-Set: replaced\r\n") != std::string::npos);
    CHECK(wire.find("\r\nX-Add: added\r\n") != std::string::npos);
    CHECK(wire.find("\r\nX-Blank: \r\n") != std::string::npos);
    CHECK(wire.find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
    response cookie;
    cookie.add_header("Set-Cookie", "  ");  // empty once trimmed: refused as an empty Set-Cookie is
    CHECK(!cookie.valid());
}

TEST_CASE("a header value with CR, LF, NUL or DEL marks the response invalid and is not stored") {
    for (std::string_view bad : {std::string_view("a\rb"), std::string_view("a\nb"), std::string_view("a\0b", 3),
                                 std::string_view("a\x7f"
                                                  "b"),
                                 std::string_view("\x01")}) {
        CAPTURE(bad);
        response r;
        r.set_header("X-Bad", bad);
        CHECK_FALSE(r.valid());
        CHECK(r.invalid_field() == "X-Bad");
        CHECK(r.headers().empty());
    }
    // HTAB, SP and obs-text are field content (RFC 9110 5.5).
    response ok;
    ok.set_header("X-Ok", "a\tb c \xC3\xA9");
    CHECK(ok.valid());
    CHECK(ok.header("X-Ok") == "a\tb c \xC3\xA9");
}

TEST_CASE("a status that does not end the exchange marks the response invalid (RFC 9110 15)") {
    for (unsigned code : {0u, 99u, 100u, 101u, 103u, 199u, 600u, 999u, 1000u, 65535u}) {
        CAPTURE(code);
        auto s = static_cast<status>(code);
        CHECK_FALSE(final_status(s));
        CHECK_FALSE(response(s).valid());
        response r = response::text("x");
        r.set_status(s);
        CHECK_FALSE(r.valid());
        CHECK(r.invalid_field().empty());  // no field was refused
        CHECK(detail::why_invalid(r).find("status " + std::to_string(code) + " ") != std::string::npos);
        r.set_status(status::ok);
        CHECK(r.valid());
    }
    for (unsigned code : {200u, 204u, 299u, 304u, 404u, 500u, 599u}) {
        CAPTURE(code);
        CHECK(final_status(static_cast<status>(code)));
        CHECK(response(static_cast<status>(code)).valid());
    }
    // A field refused is named first, whatever the status.
    response both(status::continue_);
    both.set_header("X-Bad", "a\nb");
    CHECK(detail::why_invalid(both) == "response refused: invalid header field X-Bad");
}

TEST_CASE("a name that is not a token marks the response invalid as '(invalid name)'") {
    for (std::string_view bad : {"", "X Bad", "X:Bad", "X\r\nY", "(x)"}) {
        CAPTURE(bad);
        response r;
        r.add_header(bad, "v");
        CHECK_FALSE(r.valid());
        CHECK(r.invalid_field() == "(invalid name)");
        CHECK(r.headers().empty());
    }
}

TEST_CASE("the first refused field is the one named, and a refused replacement keeps the old value") {
    response r;
    r.set_header("X-Id", "good");
    r.set_header("X-Id", "bad\n");
    r.set_content_type("text/plain\r\n");
    CHECK_FALSE(r.valid());
    CHECK(r.invalid_field() == "X-Id");
    CHECK(r.header("X-Id") == "good");
    CHECK(r.content_type().empty());
}

TEST_CASE("header() is nullopt when a field is absent, an empty view when it is set empty") {
    response r;
    CHECK(r.header("X-Empty") == std::nullopt);
    CHECK(r.header("Content-Type") == std::nullopt);  // a default response has none
    r.add_header("X-Empty", "");
    r.set_header("X-Id", "7");
    CHECK(r.header("x-empty") == "");
    CHECK(r.header("X-EMPTY").has_value());
    CHECK(r.header("x-id") == "7");
    CHECK(r.header("X-Missing") == std::nullopt);
    r.set_content_type("text/csv");
    CHECK(r.header("content-type") == "text/csv");
    // An empty Content-Type is not sent, so it counts as none.
    r.set_content_type("");
    CHECK(r.header("Content-Type") == std::nullopt);
    // The same on the wire, as testing::parsed_response reads it back.
    auto wire = on_the_wire(r);
    CHECK(wire.header("x-empty") == "");
    CHECK(wire.header("X-ID") == "7");
    CHECK(wire.header("X-Missing") == std::nullopt);
    CHECK(wire.header("Content-Type") == std::nullopt);
}

TEST_CASE("an empty Set-Cookie is refused; an empty value of another field is not") {
    response r;
    r.add_header("X-Empty", "");
    CHECK(r.valid());
    r.add_header("Set-Cookie", "");
    CHECK_FALSE(r.valid());
    CHECK(r.invalid_field() == "Set-Cookie");
}

TEST_CASE("cookies from the builder: a valid one is added, an invalid one invalidates the response") {
    response r;
    r.add_header("Set-Cookie", set_cookie("sid", "abc").path("/").http_only().to_string());
    r.add_header("Set-Cookie", set_cookie("theme", "dark").to_string());
    CHECK(r.valid());
    auto wire = on_the_wire(r);
    CHECK(wire.count_header("Set-Cookie") == 2);
    CHECK(wire.header("Set-Cookie").value_or("").starts_with("sid=abc"));

    response bad;
    bad.add_header("Set-Cookie", set_cookie("sid", "a\r\nb").to_string());
    CHECK_FALSE(bad.valid());
    CHECK(bad.invalid_field() == "Set-Cookie");
}

TEST_CASE("a connection answers an invalid response with 500 and sends none of its bytes") {
    response r = response::text("secret body");
    r.set_header("X-Fine", "1");
    r.set_header("X-Split", "a\r\nInjected: yes");
    std::string errors;
    auto app = [&r](request const&) { return r; };
    connection_config config;
    config.error_log = [&errors](std::string_view line) { errors += line; };
    testing::client c(app, config);
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 500);
    CHECK_FALSE(rs[0].header("Injected").has_value());
    CHECK_FALSE(rs[0].header("X-Fine").has_value());
    CHECK(c.output().find("secret body") == std::string::npos);
    CHECK(errors.find("X-Split") != std::string::npos);  // the log names the field
}

TEST_CASE("static_text's media type is checked as set_content_type checks it: no way around the check") {
    // A type looked up from request data, say: it must not split the response.
    for (std::string_view bad : {std::string_view("text/plain\r\nSet-Cookie: evil=1"), std::string_view("a\nb"),
                                 std::string_view("a\0b", 3)}) {
        CAPTURE(bad);
        auto r = response::static_text("x", bad);
        CHECK_FALSE(r.valid());
        CHECK(r.invalid_field() == "Content-Type");
        CHECK(r.content_type().empty());
        auto app = [&r](request const&) { return r; };
        testing::client c(app);
        c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 500);
        CHECK_FALSE(rs[0].header("Set-Cookie").has_value());
    }
    auto spaced = response::static_text("x", " text/css ");
    CHECK(spaced.valid());
    CHECK(spaced.content_type() == "text/css");
}

TEST_CASE("add_vary lists each name once, case-insensitively, and never beside '*' (RFC 9110 12.5.5)") {
    response r;
    r.add_vary("Accept-Encoding");
    r.add_vary("Origin");
    r.add_vary("accept-encoding");
    CHECK(r.header("Vary") == "Accept-Encoding, Origin");
    CHECK(r.headers().size() == 1);

    response star;
    star.set_header("Vary", "*");
    star.add_vary("Origin");
    CHECK(star.header("Vary") == "*");

    response bad;
    bad.add_vary("Origin\r\n");
    CHECK_FALSE(bad.valid());

    // Two Vary lines are one list (RFC 9110 5.3): a name on the second is not added again,
    // nor anything beside a '*' there.
    response two;
    two.add_header("Vary", "Origin");
    two.add_header("Vary", "Accept-Encoding");
    two.add_vary("accept-encoding");
    CHECK(two.headers().size() == 2);
    CHECK(two.headers()[0].value == "Origin");
    two.add_vary("Cookie");
    CHECK(two.headers()[0].value == "Origin, Cookie");
    CHECK(two.lists("vary", "COOKIE"));
    CHECK_FALSE(two.lists("Vary", "Accept"));
    response second_star;
    second_star.add_header("Vary", "Origin");
    second_star.add_header("Vary", "*");
    second_star.add_vary("Accept-Encoding");
    CHECK(second_star.headers()[0].value == "Origin");
}

TEST_CASE("set_body replaces any body with an owned string") {
    auto r = response::static_text("view");
    r.set_body("owned");
    REQUIRE(std::holds_alternative<std::string>(r.body()));
    CHECK(r.body_view() == "owned");
    CHECK(r.body_size() == 5);
}

TEST_CASE("file() opens a regular file whole, and refuses what is missing or not a file") {
    auto dir = fs::temp_directory_path() / ("porthole_response_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto path = (dir / "data.bin").string();
    {
        std::ofstream f(path, std::ios::binary);
        f << "0123456789";
    }
    auto r = response::file(path);
    REQUIRE(r.has_value());
    CHECK(r->content_type() == "application/octet-stream");
    REQUIRE(std::holds_alternative<file_body>(r->body()));
    auto const& fb = std::get<file_body>(r->body());
    CHECK(fb.offset == 0);
    CHECK(fb.length == 10);
    CHECK(fb.fd != nullptr);
    CHECK(r->body_size() == 10);
    CHECK(r->body_view().empty());  // not in memory

    auto typed = response::file(path, "text/plain");
    REQUIRE(typed.has_value());
    CHECK(typed->content_type() == "text/plain");
    auto wire = on_the_wire(*typed);
    CHECK(wire.status == 200);
    CHECK(wire.body == "0123456789");
    CHECK(wire.header("Content-Length") == "10");

    CHECK_FALSE(response::file((dir / "missing").string()).has_value());
    CHECK_FALSE(response::file(dir.string()).has_value());  // a directory
    fs::remove_all(dir);
}

TEST_CASE("stream() sends the producer's chunks until it returns nothing, size unknown") {
    int calls = 0;
    auto r = response::stream(
        [&calls]() -> std::optional<std::string> {
            if (calls == 3) return std::nullopt;
            return std::string(1, static_cast<char>('a' + calls++));
        },
        "text/event-stream");
    CHECK(r.content_type() == "text/event-stream");
    CHECK(std::holds_alternative<stream_body>(r.body()));
    CHECK_FALSE(r.body_size().has_value());
    CHECK(r.body_view().empty());
    auto wire = on_the_wire(r);
    CHECK(wire.status == 200);
    CHECK(wire.header("Transfer-Encoding") == "chunked");
    CHECK(wire.body == "abc");
    CHECK(wire.complete);
}

TEST_CASE("what a response says is what goes on the wire: status, fields and body") {
    auto r = response::text("created", status::created);
    r.set_header("X-Request-Id", "7");
    auto wire = on_the_wire(r);
    CHECK(wire.status == 201);
    CHECK(wire.reason == "Created");
    CHECK(wire.header("X-Request-Id") == "7");
    CHECK(wire.header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(wire.header("Content-Length") == "7");
    CHECK(wire.body == "created");
}
