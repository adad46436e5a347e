// porthole/cookie.hpp: reading the Cookie request header and building Set-Cookie
// response headers (RFC 6265).
//
// Reading is lenient and allocation-free: pairs are string_views into the header, and a
// malformed pair is skipped, never fatal. Building is strict: whatever could break the
// header (a CR, LF, ';' or other byte the grammar forbids) makes the cookie invalid, and an
// invalid cookie has no text, so it can never reach the wire (docs/errors.md).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/http.hpp>
#include <porthole/http_date.hpp>
#include <porthole/url.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace porthole {

// ---------------------------------------------------------------- Cookie request header

struct cookie_pair {
    std::string_view name;
    std::string_view value;
};

namespace detail {
constexpr bool next_cookie_pair(std::string_view& rest, cookie_pair& out) noexcept {
    while (!rest.empty()) {
        auto semi = rest.find(';');
        auto pair = rest.substr(0, semi);
        rest.remove_prefix(semi == std::string_view::npos ? rest.size() : semi + 1);
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        auto name = trim_ows(pair.substr(0, eq));
        if (!is_token(name)) continue;
        auto value = trim_ows(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        out = {name, value};
        return true;
    }
    return false;
}
}  // namespace detail

// The name=value pairs of a Cookie header, in order, lazily. Pairs are separated by ';'
// (RFC 6265 4.2.1); OWS around names and values is trimmed; a value wrapped in double
// quotes is unwrapped. Skipped: empty pairs, pairs without '=', and pairs whose name is not
// a token. So "a=1; ; b; c=3" gives a="1" and c="3". Values are otherwise not checked:
// treat them as untrusted input.
class cookies_view {
public:
    using iterator = url::detail::split_iterator<cookie_pair, &detail::next_cookie_pair>;

    constexpr explicit cookies_view(std::string_view header) noexcept : header_(header) {}
    constexpr iterator begin() const noexcept { return iterator(header_); }
    constexpr iterator end() const noexcept { return iterator(); }

private:
    std::string_view header_;
};

// The value of the first cookie named `name` (names are case-sensitive), or nullopt.
constexpr std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name) noexcept {
    for (auto const& c : cookies_view(cookie_header))
        if (c.name == name) return c.value;
    return std::nullopt;
}

// ---------------------------------------------------------------- Set-Cookie builder

enum class same_site : std::uint8_t { strict, lax, none };

namespace detail {
// cookie-octet (RFC 6265 4.1.1): US-ASCII except CTLs, whitespace, DQUOTE, ',', ';' and '\'.
constexpr bool is_cookie_octet(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u <= 0x2b) || (u >= 0x2d && u <= 0x3a) || (u >= 0x3c && u <= 0x5b) ||
           (u >= 0x5d && u <= 0x7e);
}

// cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
constexpr bool is_cookie_value(std::string_view v) noexcept {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    for (char c : v)
        if (!is_cookie_octet(c)) return false;
    return true;
}

// av-octet (RFC 6265 4.1.1): US-ASCII except CTLs and ';'.
constexpr bool is_cookie_attribute_value(std::string_view v) noexcept {
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e || c == ';') return false;
    }
    return true;
}
}  // namespace detail

// A Set-Cookie header value, built attribute by attribute:
//
//   auto v = set_cookie("sid", "abc").path("/").max_age(std::chrono::hours{1})
//                .secure().http_only().same_site(same_site::lax).to_string();
//   // "sid=abc; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax"
//
// The name must be a token and the value cookie-octets, optionally in double quotes
// (percent-encode anything else, e.g. with url::encode_component); Path and Domain must be
// printable US-ASCII without ';'. Anything else makes the cookie invalid: valid() is false,
// problem() says what was wrong first, and to_string() is empty, which a response refuses as
// a Set-Cookie value (the connection then answers 500), as it refuses any unsafe field.
// SameSite=None is only honoured by browsers on Secure cookies, so it adds Secure.
// A negative Max-Age is written as 0 (delete the cookie now). What browsers drop without a
// word is invalid too (RFC 6265bis): a name and value over 4096 bytes together (5.6), a
// "__Secure-" cookie without Secure, a "__Host-" one without Secure, with a Domain or with a
// Path other than "/" (4.1.3; the prefixes in any case), checked as the cookie is when used.
class set_cookie {
public:
    set_cookie(std::string_view name, std::string_view value) : name_(name), value_(value) {
        if (!detail::is_token(name)) refuse("name is not a token");
        else if (!detail::is_cookie_value(value)) refuse("value has a byte outside cookie-octet");
        else if (name.size() + value.size() > 4096) refuse("name and value are over 4096 bytes, which browsers drop");
    }

    set_cookie& path(std::string_view p) {
        if (!detail::is_cookie_attribute_value(p)) refuse("Path has a control character, ';' or a non-ASCII byte");
        path_ = std::string(p);  // via a temporary: GCC 12 misreports -Wrestrict on assign
        has_path_ = true;
        return *this;
    }
    set_cookie& domain(std::string_view d) {
        if (!detail::is_cookie_attribute_value(d)) refuse("Domain has a control character, ';' or a non-ASCII byte");
        domain_ = std::string(d);
        has_domain_ = true;
        return *this;
    }
    set_cookie& max_age(std::chrono::seconds age) noexcept {
        max_age_ = age.count() < 0 ? 0 : static_cast<std::int64_t>(age.count());
        return *this;
    }
    set_cookie& expires(std::chrono::system_clock::time_point when) noexcept {
        auto secs = std::chrono::floor<std::chrono::seconds>(when.time_since_epoch()).count();
        expires_ = static_cast<std::time_t>(secs);
        return *this;
    }
    set_cookie& secure(bool on = true) noexcept {
        secure_ = on;
        return *this;
    }
    set_cookie& http_only(bool on = true) noexcept {
        http_only_ = on;
        return *this;
    }
    set_cookie& same_site(porthole::same_site s) noexcept {
        same_site_ = s;
        return *this;
    }

    bool valid() const noexcept { return problem_ == nullptr && prefix_problem() == nullptr; }
    // What made the cookie invalid first ("value has a byte outside cookie-octet"), or empty.
    std::string_view problem() const noexcept {
        if (problem_) return problem_;
        if (auto p = prefix_problem()) return p;
        return "";
    }

    // The header value, attributes in a fixed order: Path, Domain, Max-Age, Expires,
    // Secure, HttpOnly, SameSite. Empty for an invalid cookie.
    std::string to_string() const {
        std::string out;
        if (!valid()) return out;
        out.reserve(name_.size() + value_.size() + path_.size() + domain_.size() + 96);
        out.append(name_).append("=").append(value_);
        if (has_path_) out.append("; Path=").append(path_);
        if (has_domain_) out.append("; Domain=").append(domain_);
        if (max_age_) out.append("; Max-Age=").append(std::to_string(*max_age_));
        if (expires_) {
            char date[http_date_size];
            out.append("; Expires=").append(format_http_date(*expires_, date));
        }
        if (secure_ || same_site_ == porthole::same_site::none) out.append("; Secure");
        if (http_only_) out.append("; HttpOnly");
        if (same_site_) {
            switch (*same_site_) {
                case porthole::same_site::strict: out.append("; SameSite=Strict"); break;
                case porthole::same_site::lax: out.append("; SameSite=Lax"); break;
                case porthole::same_site::none: out.append("; SameSite=None"); break;
            }
        }
        return out;
    }

private:
    void refuse(char const* what) noexcept {
        if (!problem_) problem_ = what;
    }
    // The name's prefix asks for attributes the cookie lacks (RFC 6265bis 4.1.3), or nullptr.
    char const* prefix_problem() const noexcept {
        auto prefixed = [this](std::string_view p) {
            return name_.size() >= p.size() && iequals(std::string_view(name_).substr(0, p.size()), p);
        };
        bool secure = secure_ || same_site_ == porthole::same_site::none;
        if (prefixed("__Host-") && (!secure || has_domain_ || !has_path_ || path_ != "/"))
            return "a __Host- cookie needs Secure, Path=/ and no Domain";
        if (prefixed("__Secure-") && !secure) return "a __Secure- cookie needs Secure";
        return nullptr;
    }

    std::string name_;
    std::string value_;
    std::string path_;
    std::string domain_;
    std::optional<std::int64_t> max_age_;
    std::optional<std::time_t> expires_;
    std::optional<porthole::same_site> same_site_;
    char const* problem_ = nullptr;
    bool has_path_ = false;
    bool has_domain_ = false;
    bool secure_ = false;
    bool http_only_ = false;
};

}  // namespace porthole
