// The security headers layer (security_headers.hpp): its defaults, changed or turned off per
// field, extra fields, and a handler's own field left alone.
#include <porthole/security_headers.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <stdexcept>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

using namespace porthole;

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

namespace {

// How many fields `name` a response has.
std::size_t count(response const& r, std::string_view name) {
    std::size_t n = 0;
    for (auto const& f : r.headers()) n += iequals(f.name, name);
    return n;
}

// A request for `path`, as a connection hands one over: the layers run on it as they do there,
// without a connection (which each application type would compile again).
request for_path(request::parts& p, std::string_view path) {
    p.path = path;
    p.target = path;
    return request(p);
}

}  // namespace

TEST_CASE("the defaults, as documented, and nothing for Strict-Transport-Security") {
    auto app = layers{security_headers{}}([](request const&) { return "ok"; });
    auto r = app(request{});
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
    CHECK(r.header("Content-Security-Policy") ==
          "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'");
    CHECK(r.header("Referrer-Policy") == "no-referrer");
    CHECK(r.header("X-Frame-Options") == "DENY");
    CHECK(r.header("Cross-Origin-Opener-Policy") == "same-origin");
    CHECK_FALSE(r.header("Strict-Transport-Security").has_value());
    for (auto name : {"X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy", "X-Frame-Options",
                      "Cross-Origin-Opener-Policy"})
        CHECK(count(r, name) == 1);
}

TEST_CASE("HSTS and extra fields when asked; an extra field with an empty value is left out") {
    auto app = layers{security_headers{{.content_security_policy = "",
                                        .strict_transport_security = "max-age=31536000",
                                        .extra = {{"Permissions-Policy", "camera=()"}, {"X-Empty", ""}}}}}(
        [](request const&) { return "ok"; });
    request::parts over_tls;
    over_tls.secure = true;
    auto r = app(request{over_tls});
    CHECK(r.header("Strict-Transport-Security") == "max-age=31536000");
    // Never over plain HTTP (RFC 6797 7.2): it went on every answer before.
    auto plain = app(request{});
    CHECK_FALSE(plain.header("Strict-Transport-Security").has_value());
    CHECK(plain.header("Permissions-Policy") == "camera=()");
    CHECK(r.header("Permissions-Policy") == "camera=()");
    CHECK_FALSE(r.header("X-Empty").has_value());
    CHECK_FALSE(r.header("Content-Security-Policy").has_value());
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
}

TEST_CASE("an inner layer's early answer and an error status get the fields too; a handler's own is kept in any case") {
    struct refuse {
        std::optional<response> before(request const& req) const {
            if (req.path() == "/refused") return response::text("no", status::forbidden);
            return std::nullopt;
        }
    };
    auto app = layers{security_headers{}, refuse{}}([](request const& req) {
        auto r = response::text("missing", status::not_found);
        if (req.path() == "/own") r.set_header("x-frame-options", "SAMEORIGIN");  // any case
        return r;
    });
    request::parts p;
    auto refused = app(for_path(p, "/refused"));
    CHECK(refused.status() == status::forbidden);
    CHECK(refused.header("X-Frame-Options") == "DENY");
    auto missing = app(for_path(p, "/x"));
    CHECK(missing.status() == status::not_found);
    CHECK(missing.header("X-Content-Type-Options") == "nosniff");
    auto own = app(for_path(p, "/own"));
    CHECK(own.header("X-Frame-Options") == "SAMEORIGIN");
    CHECK(count(own, "X-Frame-Options") == 1);
}

TEST_CASE("security_headers: a field no response can carry is refused where the layer is made") {
    CHECK_THROWS_WITH_AS(security_headers({.extra = {{"Permissions Policy", "x"}}}),
                         doctest::Contains("Permissions Policy"), std::invalid_argument);
    CHECK_THROWS_AS(security_headers({.extra = {{"Permissions-Policy", "a\r\nSet-Cookie: x=1"}}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(security_headers({.content_security_policy = "default-src 'self'\n"}), std::invalid_argument);
    CHECK_NOTHROW(security_headers({.extra = {{"Permissions-Policy", "camera=()"}}}));
}
