// porthole/auth.hpp: authentication layers. HTTP Basic (RFC 7617) and Bearer tokens (RFC 6750,
// header form), each checked by the application, and a one-time access token for a status
// page on loopback: a random token printed in the start-up URL, traded for a session cookie.
//
// Basic credentials and tokens travel in clear text over plain HTTP: use them only over TLS or
// on loopback (or a Unix socket) where nobody else sees the traffic.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/base64.hpp>
#include <porthole/detail/compiled_once.hpp>
#include <porthole/layer.hpp>
#include <porthole/random.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace porthole {

// Whether `given` equals `expected`, in a time that depends on the length of `expected` only:
// every byte is compared whatever the first difference, so that the time a wrong guess takes
// tells nothing about how much of it was right. Use it for every secret a client sends.
inline bool constant_time_equals(std::string_view given, std::string_view expected) noexcept {
    std::size_t diff = given.size() ^ expected.size();
    std::size_t const n = given.size();
    for (std::size_t i = 0; i < expected.size(); ++i) {
        unsigned char g = n ? static_cast<unsigned char>(given[i % n]) : 0;
        diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
    }
    // An opaque step, so that the compiler cannot turn the loop into an early exit.
    asm volatile("" : "+r"(diff));
    return diff == 0;
}

namespace detail {
// The credentials of an Authorization field value in `scheme` ("Basic", "Bearer"), compared
// case-insensitively, followed by one or more spaces: the rest, or nullopt for another scheme.
constexpr std::optional<std::string_view> auth_parameters(std::string_view value, std::string_view scheme) noexcept {
    value = trim_ows(value);
    if (value.size() <= scheme.size() || !iequals(value.substr(0, scheme.size()), scheme) ||
        value[scheme.size()] != ' ')
        return std::nullopt;
    value.remove_prefix(scheme.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return value;
}

// A quoted-string (RFC 9110 5.6.4) holding `s`.
inline void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

inline response unauthorized(std::string_view challenge, status s = status::unauthorized) {
    auto r = response::error(s);
    r.set_header("WWW-Authenticate", challenge);
    r.set_header("Cache-Control", "no-store");
    return r;
}

constexpr bool has_control(std::string_view s) noexcept {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
}
}  // namespace detail

// ---------------------------------------------------------------- Basic (RFC 7617)

struct basic_credentials {
    std::string user_id{};
    std::string password{};
};

// The user-id and password of a request's `Authorization: Basic ...` field, or nullopt when
// it has none, or one that is not canonical base64 of "user-id:password" without controls.
inline std::optional<basic_credentials> basic_credentials_of(request const& req) {
    auto params = detail::auth_parameters(req.header("Authorization").value_or(""), "Basic");
    if (!params) return std::nullopt;
    auto decoded = base64::decode(*params);
    if (!decoded) return std::nullopt;
    auto colon = decoded->find(':');
    if (colon == std::string::npos || detail::has_control(*decoded)) return std::nullopt;
    return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

// Lets a request through when its Basic credentials pass `check(user_id, password)`; others
// get 401 with `WWW-Authenticate: Basic realm="REALM", charset="UTF-8"`, which makes a browser
// ask for a name and password. Compare secrets in `check` with constant_time_equals.
//   porthole::basic_auth("status", [](std::string_view user, std::string_view password) { ... })
//   porthole::basic_auth("status", "admin", secret)   // one user
// The one-user form throws std::invalid_argument for credentials no client can send: a user-id
// with a colon (RFC 7617 2: the first colon ends it), a control character in either.
class basic_auth {
public:
    using check_function = std::function<bool(std::string_view user_id, std::string_view password)>;

    basic_auth(std::string_view realm, check_function check) : check_(std::move(check)) { set_challenge(realm); }
    basic_auth(std::string_view realm, std::string user_id, std::string password) {
        if (user_id.find(':') != std::string::npos || detail::has_control(user_id) || detail::has_control(password))
            throw std::invalid_argument(
                "porthole::basic_auth: a user-id cannot hold a colon, nor a user-id or password a control character");
        set_challenge(realm);
        check_ = [u = std::move(user_id), p = std::move(password)](std::string_view user, std::string_view pass) {
            bool user_ok = constant_time_equals(user, u);  // both compared, whichever is wrong
            bool password_ok = constant_time_equals(pass, p);
            return user_ok & password_ok;
        };
    }

    std::optional<response> before(request const& req) const {
        if (auto c = basic_credentials_of(req); c && check_(c->user_id, c->password)) return std::nullopt;
        return detail::unauthorized(challenge_);
    }

private:
    void set_challenge(std::string_view realm) {
        challenge_ = "Basic realm=";
        detail::append_quoted(challenge_, realm);
        challenge_ += ", charset=\"UTF-8\"";
        detail::require_sendable("porthole::basic_auth (its realm)", "WWW-Authenticate", challenge_);
    }

    check_function check_;
    std::string challenge_;
};

// ---------------------------------------------------------------- Bearer (RFC 6750)

namespace detail {
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="   (RFC 6750 2.1)
constexpr bool is_b64token(std::string_view s) noexcept {
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                  c == '_' || c == '~' || c == '+' || c == '/';
        if (!ok) break;
    }
    if (i == 0) return false;
    while (i < s.size() && s[i] == '=') ++i;
    return i == s.size();
}
}  // namespace detail

// The token of a request's `Authorization: Bearer TOKEN` field, or nullopt.
inline std::optional<std::string_view> bearer_token_of(request const& req) noexcept {
    auto params = detail::auth_parameters(req.header("Authorization").value_or(""), "Bearer");
    if (!params || !detail::is_b64token(*params)) return std::nullopt;
    return params;
}

// Lets a request through when its Bearer token passes `check(token)`. As RFC 6750 3.1 says:
// no Bearer credentials, 401 with `WWW-Authenticate: Bearer realm="REALM"`; a malformed Authorization
// field in the Bearer scheme, 400 with error="invalid_request"; a token `check` refuses, 401 with
// error="invalid_token".
class bearer_auth {
public:
    using check_function = std::function<bool(std::string_view token)>;

    bearer_auth(std::string_view realm, check_function check) : check_(std::move(check)) {
        challenge_ = "Bearer realm=";
        detail::append_quoted(challenge_, realm);
        detail::require_sendable("porthole::bearer_auth (its realm)", "WWW-Authenticate", challenge_);
    }

    std::optional<response> before(request const& req) const {
        auto value = detail::trim_ows(req.header("Authorization").value_or(""));
        auto scheme = value.substr(0, value.find(' '));
        if (!iequals(scheme, "Bearer")) return detail::unauthorized(challenge_);  // no Bearer credentials at all
        auto token = bearer_token_of(req);
        if (!token) return detail::unauthorized(challenge_ + ", error=\"invalid_request\"", status::bad_request);
        if (!check_(*token)) return detail::unauthorized(challenge_ + ", error=\"invalid_token\"");
        return std::nullopt;
    }

private:
    check_function check_;
    std::string challenge_;
};

// ---------------------------------------------------------------- one-time access token

struct access_token_options {
    std::string token{};              // empty: 32 random bytes, base64url (43 characters)
    std::string cookie_name{};        // empty: "porthole-" and random characters, new at every start
    std::string parameter = "token";  // the query parameter that carries the token
    std::string realm = "porthole";
};

// A status page that only the person who started the program can open, as Jupyter does it:
//
//  - at construction a random token is made; announce it in the start-up URL
//    (server_options::announce_query = tok.query() prints `listening on http://127.0.0.1:PORT/?token=...`);
//  - a GET or HEAD with `?token=TOKEN` gets a 303 to the same URL without the token, and a
//    session cookie (`HttpOnly; SameSite=Strict; Path=/`, and `Secure` over TLS) that lets the
//    browser in from then on;
//  - a request with the session cookie, or with `Authorization: Bearer TOKEN` (scripts), goes on;
//  - everyone else gets 401: other local users, and web pages the user visits that try to
//    reach the tool (cross-site requests carry no SameSite=Strict cookie).
//
// Pair it with the server's Host check (on by default on loopback), which keeps out pages that
// rebind their own name to 127.0.0.1. The cookie name is random per start, because cookies are
// not kept apart by port: two tools on one host must not take each other's cookie.
class access_token {
public:
    // Throws std::invalid_argument for a realm or cookie name no response can carry.
    explicit access_token(access_token_options o = {});

    std::string const& token() const noexcept { return opts_.token; }
    // "token=..." for the start-up URL.
    std::string const& query() const noexcept { return query_; }
    std::string const& cookie_name() const noexcept { return opts_.cookie_name; }

    std::optional<response> before(request const& req) const {
        bool in_query = false;
        for (auto const& p : url::query_params(req.query_string()))
            if (url::detail::form_decoded_equals(p.name, opts_.parameter)) {
                in_query = true;
                std::string value;
                url::decode_form(p.value, value);
                if (!constant_time_equals(value, opts_.token)) return refusal();
            }
        if (in_query) {
            auto m = req.method();
            if (m == method::get || m == method::head) return trade_for_cookie(req);
            return std::nullopt;
        }
        if (auto c = req.cookie(opts_.cookie_name); c && constant_time_equals(*c, session_)) return std::nullopt;
        if (auto t = bearer_token_of(req); t && constant_time_equals(*t, opts_.token)) return std::nullopt;
        return refusal();
    }

private:
    response refusal() const {
        auto r = response::static_text(
            "<!DOCTYPE html>\n<title>Unauthorized</title>\n<h1>Unauthorized</h1>\n"
            "<p>Open the address this program printed when it started: it carries the access token.</p>\n",
            "text/html; charset=utf-8", status::unauthorized);
        r.set_header("WWW-Authenticate", challenge_);
        r.set_header("Cache-Control", "no-store");
        return r;
    }

    // 303 to the path and the rest of the query, never to another host ("//elsewhere").
    response trade_for_cookie(request const& req) const;

    access_token_options opts_;
    std::string session_;
    std::string set_cookie_;
    std::string challenge_;
    std::string query_;
};

}  // namespace porthole

// The bodies: in every file, or once (detail/compiled_once.hpp).
#if PORTHOLE_DETAIL_DEFINE_HERE
namespace porthole {

PORTHOLE_DETAIL_INLINE access_token::access_token(access_token_options o) : opts_(std::move(o)) {
    if (opts_.token.empty()) opts_.token = random_token();
    if (opts_.cookie_name.empty()) opts_.cookie_name = "porthole-" + random_token(6);
    session_ = random_token();
    auto cookie = set_cookie(opts_.cookie_name, session_).path("/").http_only().same_site(same_site::strict);
    if (!cookie.valid())
        throw std::invalid_argument(std::string("porthole::access_token: the cookie name: ").append(cookie.problem()));
    set_cookie_ = cookie.to_string();
    challenge_ = "Bearer realm=";
    detail::append_quoted(challenge_, opts_.realm);
    detail::require_sendable("porthole::access_token (its realm)", "WWW-Authenticate", challenge_);
    query_ = opts_.parameter + '=';
    url::encode_component(opts_.token, query_);
}

PORTHOLE_DETAIL_INLINE response access_token::trade_for_cookie(request const& req) const {
    std::string location;
    url::append_local_path(req.raw_path(), location);
    bool first = true;
    for (auto const& p : url::query_params(req.query_string())) {
        if (url::detail::form_decoded_equals(p.name, opts_.parameter)) continue;
        location += first ? '?' : '&';
        first = false;
        url::encode_as_target(
            {p.name.data(), static_cast<std::size_t>(p.value.data() + p.value.size() - p.name.data())}, location);
    }
    auto r = response::redirect(location, status::see_other);
    // Over TLS the session is Secure (RFC 6265bis 4.1.2.5): never sent over plain HTTP.
    r.set_header("Set-Cookie", req.secure() ? set_cookie_ + "; Secure" : set_cookie_);
    r.set_header("Cache-Control", "no-store");
    r.set_header("Referrer-Policy", "no-referrer");  // the token never leaves in a Referer
    return r;
}

}  // namespace porthole
#endif
