// The request id layer (request_id.hpp): an incoming id kept when it is a sensible one, any
// other replaced by a generated one, which the application and the response both see.
#include <porthole/request_id.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <stdexcept>

#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace porthole;
using porthole::testing::simple_request;

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
    // A second line, after a sensible one, is not the id: the application sees the one line.
    r = testing::send(
        app, simple_request{
                 method::get, "/", {{"X-Request-Id", "good"}, {"x-request-id", "<script>alert(1)</script>"}}, {}});
    CHECK(r.header("X-Request-Id") == "good");
    CHECK(seen == "good");
    CHECK(count == 1);
    auto strict = layers{request_id{{.trust_incoming = false}}}([](request const&) { return "ok"; });
    r = testing::send(strict, simple_request{method::get, "/", {{"X-Request-Id", "abc"}}, {}});
    CHECK(r.header("X-Request-Id") != "abc");
}

TEST_CASE("a generated id is 32 lower-case hexadecimal digits") {
    std::set<std::string> ids;
    for (int i = 0; i < 200; ++i) {
        auto id = request_id::generate();
        CHECK(id.size() == 32);
        CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        ids.insert(id);
    }
    CHECK(ids.size() == 200);
}

namespace {

// A request with these fields, as a connection hands one over: the layer runs on it as it does
// there, without a connection (which each application type would compile again).
struct made_request {
    std::vector<std::pair<std::string, std::string>> text;
    std::vector<header_field> fields;
    request::parts parts;
    explicit made_request(std::vector<std::pair<std::string, std::string>> f) : text(std::move(f)) {
        for (auto const& [name, value] : text) fields.push_back({name, value});
        parts.headers = fields;
    }
    request get() const { return request(parts); }
};

}  // namespace

TEST_CASE("an incoming id is kept when it is 1 to max_length characters of [A-Za-z0-9._:+/=-]") {
    auto ok = [](request const&) { return "ok"; };
    auto echoed = [](auto& app, std::string const& incoming) {
        made_request r({{"X-Request-Id", incoming}});
        return std::string(app(r.get()).header("X-Request-Id").value_or(""));
    };
    auto app = layers{request_id{}}(ok);
    const std::string every_allowed = "AZaz09._:+/=-";
    CHECK(echoed(app, every_allowed) == every_allowed);
    CHECK(echoed(app, std::string(128, 'x')) == std::string(128, 'x'));  // the default bound, exactly
    CHECK(echoed(app, std::string(129, 'x')).size() == 32);
    for (std::string bad : {"a b", "a,b", "a;b", "a\"b", "a@b", "a*b", "caf\xc3\xa9", "a\tb", ""}) {
        CAPTURE(bad);
        auto got = echoed(app, bad);
        CHECK(got != bad);
        CHECK(got.size() == 32);
    }
    auto short_ids = layers{request_id{{.max_length = 4}}}(ok);
    CHECK(echoed(short_ids, "abcd") == "abcd");
    CHECK(echoed(short_ids, "abcde").size() == 32);
}

TEST_CASE("the field's name is an option; the response carries the id there, replacing a handler's own") {
    std::string seen;
    auto app = layers{request_id{{.header = "X-Trace"}}}([&](request const& req) {
        seen = req.header("X-Trace").value_or("");
        auto r = response::text("ok");
        r.set_header("X-Trace", "from-handler");
        return r;
    });
    made_request both({{"X-Trace", "t-1"}, {"X-Request-Id", "other"}});
    auto r = app(both.get());
    CHECK(seen == "t-1");
    CHECK(r.header("X-Trace") == "t-1");
    std::size_t traces = 0;
    for (auto const& f : r.headers()) traces += iequals(f.name, "X-Trace");
    CHECK(traces == 1);
    CHECK_FALSE(r.header("X-Request-Id").has_value());  // the default name is not touched
    made_request none({});
    r = app(none.get());
    CHECK(seen.size() == 32);
    CHECK(r.header("X-Trace") == seen);
}

TEST_CASE("request_id: a header name that is not a token is refused where the layer is made") {
    CHECK_THROWS_WITH_AS(request_id({.header = "X Request Id"}), doctest::Contains("porthole::request_id"),
                         std::invalid_argument);
    CHECK_THROWS_AS(request_id({.header = ""}), std::invalid_argument);
    CHECK_NOTHROW(request_id({.header = "X-Trace"}));
}
