// app.hpp: what an application is, what it may return, and how each return is turned into a
// response; the concepts are checked at compile time, the conversions at run time.
#include <porthole/app.hpp>
#include <porthole/html.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

using namespace porthole;

namespace {

// A user type with its own conversion, the way json.hpp converts nlohmann::json.
struct point {
    int x = 0, y = 0;
};
// A type that converts to a string_view and has a converter too: the converter wins.
struct labelled {
    std::string label;
    operator std::string_view() const noexcept { return label; }  // NOLINT: implicit on purpose
};
// A type a handler may take from the body.
struct upper_body {
    std::string text;
};

}  // namespace

template <>
struct porthole::response_converter<point> {
    static response convert(point const& p) {
        return response::json("[" + std::to_string(p.x) + "," + std::to_string(p.y) + "]");
    }
};
template <>
struct porthole::response_converter<labelled> {
    static response convert(labelled const& l) { return response::text("converted:" + l.label); }
};
template <>
struct porthole::body_reader<upper_body> {
    static std::optional<upper_body> read(request const& req, response& refusal) {
        if (req.body().empty()) {
            refusal = status::bad_request;
            return std::nullopt;
        }
        return upper_body{std::string(req.body())};
    }
};

// ---- what a handler may return (the table above response_convertible)
static_assert(response_convertible<response>);
static_assert(response_convertible<response const&>);
static_assert(response_convertible<std::string>);
static_assert(response_convertible<std::string&&>);
static_assert(response_convertible<char const*>);
static_assert(response_convertible<char const (&)[3]>);
static_assert(response_convertible<std::string_view>);
static_assert(response_convertible<status>);
static_assert(response_convertible<later_t>);
static_assert(response_convertible<html>);
static_assert(response_convertible<std::optional<std::string>>);
static_assert(response_convertible<std::optional<response>>);
static_assert(response_convertible<std::optional<status>>);
static_assert(response_convertible<point>);
static_assert(response_convertible<std::optional<point>>);
static_assert(response_convertible<labelled>);
// ...and what it may not: nothing says what an int or a vector means as an answer.
static_assert(!response_convertible<int>);
static_assert(!response_convertible<double>);
static_assert(!response_convertible<bool>);
static_assert(!response_convertible<void>);
static_assert(!response_convertible<std::vector<int>>);
static_assert(!response_convertible<std::optional<int>>);
static_assert(!response_convertible<upper_body>);

// ---- body parameters
static_assert(body_parameter<upper_body>);
static_assert(!body_parameter<std::string>);
static_assert(!body_parameter<point>);

// ---- applications
namespace {
response free_function(request const&) { return status::ok; }
struct functor {
    std::string operator()(request const&) const { return "functor"; }
};
struct mutable_counter {
    int calls = 0;
    std::string operator()(request const&) { return std::to_string(++calls); }
};
}  // namespace
static_assert(application<decltype(free_function)*>);
static_assert(application<functor>);
static_assert(application<mutable_counter>);  // called as F&, so a non-const call operator is fine
static_assert(application<decltype([](request const&) { return "literal"; })>);
static_assert(application<decltype([](request const&) { return std::optional<std::string>{}; })>);
static_assert(application<decltype([](request const&) { return status::no_content; })>);
static_assert(application<decltype([](request const&) { return point{}; })>);
static_assert(application<decltype([](request const&, responder) {})>);
static_assert(answers_later<decltype([](request const&, responder) {})>);
static_assert(!answers_later<decltype([](request const&) { return "x"; })>);
// Not applications: the wrong parameters, or a return value nothing can send.
static_assert(!application<int>);
static_assert(!application<decltype([] { return "no request"; })>);
static_assert(!application<decltype([](int) { return "int"; })>);
static_assert(!application<decltype([](request&) { return "non-const request"; })>);
static_assert(!application<decltype([](request const&) { return 42; })>);
static_assert(!application<decltype([](request const&) {})>);
// Taking a responder means answering through it: returning a value as well is not allowed.
static_assert(!application<decltype([](request const&, responder) { return "both"; })>);
static_assert(!answers_later<decltype([](request const&, responder) { return "both"; })>);

TEST_CASE("to_response: a response passes through, a status is an empty response with it") {
    auto r = to_response(response::text("x", status::accepted));
    CHECK(r.status() == status::accepted);
    CHECK(r.body_view() == "x");
    auto s = to_response(status::unauthorized);
    CHECK(s.status() == status::unauthorized);
    CHECK(std::holds_alternative<std::monostate>(s.body()));
    CHECK(to_response(later).answered_later());
}

TEST_CASE("to_response: strings become 200 text/plain; a literal is viewed, a string_view copied") {
    auto owned = to_response(std::string("owned"));
    CHECK(owned.status() == status::ok);
    CHECK(owned.content_type() == "text/plain; charset=utf-8");
    CHECK(std::holds_alternative<std::string>(owned.body()));
    CHECK(owned.body_view() == "owned");

    static constexpr char const* literal = "literal";
    auto lit = to_response(literal);
    REQUIRE(std::holds_alternative<std::string_view>(lit.body()));
    CHECK(lit.body_view().data() == literal);  // not copied
    CHECK(lit.content_type() == "text/plain; charset=utf-8");

    std::string backing = "short-lived";
    auto viewed = to_response(std::string_view(backing));
    REQUIRE(std::holds_alternative<std::string>(viewed.body()));  // a copy: the view may dangle
    backing[0] = 'X';
    CHECK(viewed.body_view() == "short-lived");
}

TEST_CASE("to_response: html is 200 text/html") {
    auto r = to_response(html("<i>x</i>"));
    CHECK(r.status() == status::ok);
    CHECK(r.content_type() == "text/html; charset=utf-8");
    CHECK(r.body_view() == "<i>x</i>");
}

TEST_CASE("to_response: nullopt is the 404 page; a value is converted as itself") {
    auto none = to_response(std::optional<std::string>{});
    CHECK(none.status() == status::not_found);
    CHECK(none.body_view() == "Not Found");
    auto some = to_response(std::optional<std::string>{"here"});
    CHECK(some.status() == status::ok);
    CHECK(some.body_view() == "here");
    auto st = to_response(std::optional<status>{status::gone});
    CHECK(st.status() == status::gone);
}

TEST_CASE("to_response: a response_converter is used, ahead of a conversion to string_view") {
    auto p = to_response(point{3, -4});
    CHECK(p.content_type() == "application/json");
    CHECK(p.body_view() == "[3,-4]");
    CHECK(to_response(std::optional<point>{}).status() == status::not_found);
    CHECK(to_response(std::optional<point>{point{1, 2}}).body_view() == "[1,2]");
    CHECK(to_response(labelled{"l"}).body_view() == "converted:l");
}

TEST_CASE("call_application calls the very object, so its state persists between requests") {
    mutable_counter counter;
    request req;
    CHECK(call_application(counter, req).body_view() == "1");
    CHECK(call_application(counter, req).body_view() == "2");
    CHECK(counter.calls == 2);

    auto fn = &free_function;
    CHECK(call_application(fn, req).status() == status::ok);
    functor f;
    CHECK(call_application(f, req).body_view() == "functor");
}

TEST_CASE("call_application hands the handler the request it was given") {
    std::array<header_field const, 1> fields{{{"X-Who", "me"}}};
    request::parts p;
    p.headers = fields;
    p.path = "/who";
    request req(p);
    auto app = [](request const& r) {
        return std::string(r.path()) + " " + std::string(r.header("X-Who").value_or(""));
    };
    CHECK(call_application(app, req).body_view() == "/who me");
}

TEST_CASE("each kind of application answers a real request") {
    auto text = [](request const&) { return std::string("text"); };
    CHECK(testing::get(text, "/").body == "text");

    auto maybe = [](request const& r) -> std::optional<std::string> {
        if (r.path() == "/there") return "found";
        return std::nullopt;
    };
    CHECK(testing::get(maybe, "/there").body == "found");
    auto miss = testing::get(maybe, "/elsewhere");
    CHECK(miss.status == 404);
    CHECK(miss.body == "Not Found");

    auto bare = [](request const&) { return status::no_content; };
    auto nc = testing::get(bare, "/");
    CHECK(nc.status == 204);
    CHECK(nc.body.empty());

    auto converted = [](request const&) { return point{5, 6}; };
    auto pc = testing::get(converted, "/");
    CHECK(pc.header("Content-Type") == "application/json");
    CHECK(pc.body == "[5,6]");
}

TEST_CASE("an application that takes a responder answers later, from another thread") {
    responder held;
    std::string path;
    auto app = [&](request const& req, responder r) {
        path = std::string(req.path());  // the request's views end with this call
        held = std::move(r);
    };
    testing::client c(app);
    c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(held);
    CHECK(c.output().empty());  // the handler returned without an answer
    std::thread([r = std::move(held), &path]() mutable { r.send(response::text("later " + path)); }).join();
    CHECK(c.output().empty());  // the answer waits in the mailbox for the loop
    CHECK(c.step() == 1);
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].body == "later /slow");
}
