// base64 (RFC 4648), constant-time comparison, and the authentication layers:
// Basic (RFC 7617), Bearer (RFC 6750) and the one-time access token.
#include <porthole/auth.hpp>
#include <porthole/base64.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <array>
#include <stdexcept>
#include <string>
#include <utility>

using namespace porthole;
using porthole::testing::simple_request;

TEST_CASE("base64: the RFC 4648 section 10 vectors, both alphabets") {
    std::pair<char const*, char const*> vectors[] = {{"", ""},
                                                     {"f", "Zg=="},
                                                     {"fo", "Zm8="},
                                                     {"foo", "Zm9v"},
                                                     {"foob", "Zm9vYg=="},
                                                     {"fooba", "Zm9vYmE="},
                                                     {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
        CHECK(base64::encode(plain) == encoded);
        CHECK(base64::decode(encoded) == std::optional<std::string>(plain));
        std::string url(encoded);
        while (!url.empty() && url.back() == '=') url.pop_back();
        CHECK(base64::encode(plain, base64::alphabet::url) == url);
        CHECK(base64::decode(url, base64::alphabet::url) == std::optional<std::string>(plain));
        CHECK(base64::decode(encoded, base64::alphabet::url) == std::optional<std::string>(plain));  // padding taken
        CHECK(base64::encoded_size(std::string_view(plain).size()) == std::string_view(encoded).size());
        CHECK(base64::encoded_size(std::string_view(plain).size(), base64::alphabet::url) == url.size());
    }
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    CHECK(base64::decode(base64::encode(all)) == all);
    CHECK(base64::encode("\xfb\xff", base64::alphabet::url) == "-_8");
    CHECK(base64::encode("\xfb\xff") == "+/8=");
}

TEST_CASE("base64: anything but the one canonical encoding is refused") {
    for (char const* bad :
         {"Zg", "Zg=", "Z===", "Zh==", "Zm9=", "Zm9v!", "Zm 9v", "Zm9vY", "=Zm9", "Zg==Zg==", "-_8="}) {
        CAPTURE(bad);
        CHECK_FALSE(base64::decode(bad).has_value());
    }
    CHECK_FALSE(base64::decode("+/8", base64::alphabet::url).has_value());
    CHECK_FALSE(base64::decode("Zh", base64::alphabet::url).has_value());  // leftover bits
    std::string out = "keep";
    CHECK_FALSE(base64::decode("Zm9v!", out));
    CHECK(out == "keep");
}

TEST_CASE("constant_time_equals is equality, whatever the lengths") {
    CHECK(constant_time_equals("secret", "secret"));
    CHECK_FALSE(constant_time_equals("secreT", "secret"));
    CHECK_FALSE(constant_time_equals("secret", "secret2"));
    CHECK_FALSE(constant_time_equals("secret2", "secret"));
    CHECK_FALSE(constant_time_equals("", "secret"));
    CHECK_FALSE(constant_time_equals("secretsecret", "secret"));  // a repetition is not a match
    CHECK(constant_time_equals("", ""));
    CHECK_FALSE(constant_time_equals("x", ""));
}

// ---------------------------------------------------------------- Basic

TEST_CASE("basic_auth: RFC 7617's example passes, everything else gets 401 with the challenge") {
    auto app = layers{basic_auth("WallyWorld", "Aladdin", "open sesame")}(
        [](request const& req) { return "hello " + basic_credentials_of(req).value().user_id; });
    auto r = testing::send(
        app, simple_request{method::get, "/", {{"Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}}, {}});
    CHECK(r.status == 200);
    CHECK(r.body == "hello Aladdin");
    CHECK(testing::send(
              app, simple_request{method::get, "/", {{"Authorization", "basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}}, {}})
              .status == 200);  // the scheme is case-insensitive
    auto wrong = "Basic " + base64::encode("Aladdin:open sesamE");
    for (std::string auth :
         {std::string(), wrong, std::string("Basic"), std::string("Basic !!!!"), "Basic " + base64::encode("Aladdin"),
          std::string("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), "Basic " + base64::encode("Aladdin:open sesame\n"),
          std::string("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ")}) {
        CAPTURE(auth);
        simple_request req{method::get, "/", {}, {}};
        if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
        r = testing::send(app, req);
        CHECK(r.status == 401);
        CHECK(r.header("WWW-Authenticate") == "Basic realm=\"WallyWorld\", charset=\"UTF-8\"");
        CHECK(r.header("Cache-Control") == "no-store");
    }
}

TEST_CASE("basic_auth: a check function, a password with ':' and UTF-8, a realm that needs escaping") {
    std::string seen_user, seen_password;
    auto app = layers{basic_auth("say \"hi\"", [&](std::string_view u, std::string_view p) {
        seen_user = u;
        seen_password = p;
        return u == "test" && p == "123\xc2\xa3:x";
    })}([](request const&) { return "in"; });
    auto r = testing::send(
        app,
        simple_request{method::get, "/", {{"Authorization", "Basic " + base64::encode("test:123\xc2\xa3:x")}}, {}});
    CHECK(r.status == 200);
    CHECK(seen_password == "123\xc2\xa3:x");
    r = testing::get(app, "/");
    CHECK(r.header("WWW-Authenticate") == "Basic realm=\"say \\\"hi\\\"\", charset=\"UTF-8\"");
}

TEST_CASE(
    "basic_auth: one pair that no client can send is refused where it is made; a colon in the password "
    "passes") {
    for (auto const& pair : {std::pair<std::string, std::string>{"ad:min", "secret"},
                             {"admin\t", "secret"},
                             {"admin", "line\nbreak"},
                             {"admin", std::string("nul\0", 4)}}) {
        CAPTURE(pair.first);
        CAPTURE(pair.second);
        CHECK_THROWS_AS(basic_auth("r", pair.first, pair.second), std::invalid_argument);
    }
    // So is a realm no WWW-Authenticate field can carry, for Basic and Bearer alike.
    auto yes = [](std::string_view, std::string_view) { return true; };
    CHECK_THROWS_WITH_AS(basic_auth("r\"\r\nX-Injected: 1", yes), doctest::Contains("realm"), std::invalid_argument);
    CHECK_THROWS_AS(basic_auth("caf\x01", "admin", "secret"), std::invalid_argument);
    CHECK_THROWS_AS(bearer_auth("caf\x01", [](std::string_view) { return true; }), std::invalid_argument);
    CHECK_NOTHROW(basic_auth("caf\xc3\xa9 \"quoted\"\t", yes));  // UTF-8, quotes (escaped) and HTAB are fine
    auto app = layers{basic_auth("r", "admin", "pa:ss")}([](request const&) { return "in"; });
    CHECK(testing::send(
              app, simple_request{method::get, "/", {{"Authorization", "Basic " + base64::encode("admin:pa:ss")}}, {}})
              .status == 200);
}

// ---------------------------------------------------------------- Bearer

TEST_CASE("bearer_auth answers as RFC 6750 3.1 says") {
    auto app = layers{bearer_auth("api", [](std::string_view t) { return t == "mF_9.B5f-4.1JqM"; })}(
        [](request const&) { return "in"; });
    auto with = [&](std::string auth) {
        return testing::send(app, simple_request{method::get, "/", {{"Authorization", auth}}, {}});
    };
    CHECK(with("Bearer mF_9.B5f-4.1JqM").status == 200);
    auto none = testing::get(app, "/");
    CHECK(none.status == 401);
    CHECK(none.header("WWW-Authenticate") == "Bearer realm=\"api\"");
    auto invalid = with("Bearer wrong-token");
    CHECK(invalid.status == 401);
    CHECK(invalid.header("WWW-Authenticate") == "Bearer realm=\"api\", error=\"invalid_token\"");
    CHECK(with("Basic abc").status == 401);  // no Bearer credentials: no error code
    CHECK(with("Basic abc").header("WWW-Authenticate") == "Bearer realm=\"api\"");
    for (auto bad : {"Bearer", "Bearer a b", "Bearer a=b", "bearer ", "Bearer tok@en"}) {
        auto r = with(bad);
        CHECK(r.status == 400);
        CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"api\", error=\"invalid_request\"");
    }
}

// ---------------------------------------------------------------- access token

TEST_CASE("access_token: the token in the URL is traded for a session cookie and a redirect to the clean URL") {
    access_token tok;
    CHECK(tok.token().size() == 43);
    CHECK(tok.query() == "token=" + tok.token());
    CHECK(tok.cookie_name().starts_with("porthole-"));
    auto app = layers{tok}([](request const& req) { return "page " + std::string(req.target()); });

    auto r = testing::get(app, "/status?token=" + tok.token() + "&view=jobs");
    CHECK(r.status == 303);
    CHECK(r.header("Location") == "/status?view=jobs");
    auto cookie = std::string(r.header("Set-Cookie").value_or(""));
    CHECK(cookie.starts_with(tok.cookie_name() + "="));
    CHECK(cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict"));
    CHECK(cookie.find(tok.token()) == std::string::npos);  // the session is not the token
    CHECK(r.header("Referrer-Policy") == "no-referrer");
    CHECK(testing::get(app, "/?token=" + tok.token()).header("Location") == "/");
    CHECK(testing::get(app, "//evil.example/?token=" + tok.token()).header("Location") == "/evil.example/");

    auto session = cookie.substr(0, cookie.find(';'));
    auto in = testing::send(app, simple_request{method::get, "/status", {{"Cookie", "a=b; " + session}}, {}});
    CHECK(in.status == 200);
    CHECK(in.body == "page /status");
    auto scripted =
        testing::send(app, simple_request{method::get, "/x", {{"Authorization", "Bearer " + tok.token()}}, {}});
    CHECK(scripted.status == 200);
}

TEST_CASE("access_token: over TLS the session cookie is Secure; the redirect holds only what a URI may") {
    access_token tok({.token = "t"});
    std::array<header_field const, 1> fields{{{"Host", "127.0.0.1"}}};
    request::parts p;
    p.method = method::get;
    p.method_name = "GET";
    p.raw_path = "/a\"<b>";
    p.query = "x={1}&token=t&y=100%";
    p.target = "/a\"<b>?x={1}&token=t&y=100%";
    p.path = p.raw_path;
    p.headers = fields;
    auto plain = tok.before(request(p));
    REQUIRE(plain);
    CHECK(plain->status() == status::see_other);
    CHECK(plain->header("Location") == "/a%22%3Cb%3E?x=%7B1%7D&y=100%25");
    CHECK(plain->header("Set-Cookie")->ends_with("; Path=/; HttpOnly; SameSite=Strict"));
    p.secure = true;
    auto tls = tok.before(request(p));
    REQUIRE(tls);
    CHECK(tls->header("Set-Cookie")->ends_with("; Path=/; HttpOnly; SameSite=Strict; Secure"));
}

TEST_CASE("access_token: a realm or cookie name no response can carry is refused where it is made") {
    CHECK_THROWS_WITH_AS(access_token({.realm = "tool\r\nX: 1"}), doctest::Contains("realm"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(access_token({.cookie_name = "my cookie"}), doctest::Contains("cookie name"),
                         std::invalid_argument);
    CHECK_NOTHROW(access_token({.cookie_name = "tool-session", .realm = "tool"}));
}

TEST_CASE("access_token: without the token or the cookie, or with wrong ones, 401") {
    access_token tok({.token = "fixed-token"});
    auto app = layers{tok}([](request const&) { return "secret page"; });
    for (simple_request req :
         {simple_request{method::get, "/", {}, {}}, simple_request{method::get, "/?token=fixed-tokeN", {}, {}},
          simple_request{method::get, "/?token=", {}, {}},
          simple_request{method::get, "/?x=1&token=fixed-token&token=other", {}, {}},
          simple_request{method::get, "/", {{"Cookie", tok.cookie_name() + "=fixed-token"}}, {}},
          simple_request{method::get, "/", {{"Cookie", "porthole=guess"}}, {}},
          simple_request{method::get, "/", {{"Authorization", "Bearer fixed-tokeX"}}, {}},
          simple_request{method::post, "/", {}, "x"}}) {
        CAPTURE(req.target);
        auto r = testing::send(app, req);
        CHECK(r.status == 401);
        CHECK(r.body.find("secret") == std::string::npos);
        CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"porthole\"");
    }
    // A POST carrying the token is let through (no redirect: the body would be lost).
    CHECK(testing::send(app, simple_request{method::post, "/?token=fixed-token", {}, "x"}).status == 200);
    CHECK(testing::get(app, "/?token=fixed%2Dtoken").status == 303);  // percent-encoded: the same
}
