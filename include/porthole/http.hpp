// porthole/http.hpp: the HTTP vocabulary shared by every other header:
// methods, status codes with reason phrases, versions, header field views,
// case-insensitive comparison and comma-separated token lists.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace porthole {

// ---------------------------------------------------------------- methods

enum class method : std::uint8_t {
    get,
    head,
    post,
    put,
    delete_,
    connect,
    options,
    trace,
    patch,
    other,  // a syntactically valid token that is not one of the above
};

namespace detail {
inline constexpr std::array<std::string_view, 9> method_names{"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                              "CONNECT", "OPTIONS", "TRACE", "PATCH"};
}

constexpr std::string_view to_string(method m) noexcept {
    auto i = static_cast<std::size_t>(m);
    return i < detail::method_names.size() ? detail::method_names[i] : std::string_view{"OTHER"};
}

// Methods are case-sensitive (RFC 9110 9.1): "get" is not GET.
constexpr method method_from_string(std::string_view s) noexcept {
    switch (s.size()) {
        case 3:
            if (s == "GET") return method::get;
            if (s == "PUT") return method::put;
            break;
        case 4:
            if (s == "POST") return method::post;
            if (s == "HEAD") return method::head;
            break;
        case 5:
            if (s == "PATCH") return method::patch;
            if (s == "TRACE") return method::trace;
            break;
        case 6:
            if (s == "DELETE") return method::delete_;
            break;
        case 7:
            if (s == "OPTIONS") return method::options;
            if (s == "CONNECT") return method::connect;
            break;
        default: break;
    }
    return method::other;
}

// A set of methods, used by routes ("GET | PUT") and by Allow headers.
class method_set {
public:
    constexpr method_set() noexcept = default;
    constexpr method_set(method m) noexcept : bits_(bit(m)) {}  // NOLINT: implicit on purpose
    constexpr bool contains(method m) const noexcept { return (bits_ & bit(m)) != 0; }
    constexpr bool empty() const noexcept { return bits_ == 0; }
    constexpr std::uint16_t bits() const noexcept { return bits_; }
    constexpr bool intersects(method_set o) const noexcept { return (bits_ & o.bits_) != 0; }
    friend constexpr method_set operator|(method_set a, method_set b) noexcept {
        return from_bits(static_cast<std::uint16_t>(a.bits_ | b.bits_));
    }
    friend constexpr method_set operator&(method_set a, method_set b) noexcept {
        return from_bits(static_cast<std::uint16_t>(a.bits_ & b.bits_));
    }
    friend constexpr bool operator==(method_set, method_set) noexcept = default;
    static constexpr method_set from_bits(std::uint16_t b) noexcept {
        method_set s;
        s.bits_ = b;
        return s;
    }
    // Calls f(method) for each member, in declaration order.
    template <class F>
    constexpr void for_each(F&& f) const {
        for (std::size_t i = 0; i < detail::method_names.size(); ++i)
            if (bits_ & (1u << i)) f(static_cast<method>(i));
    }

private:
    static constexpr std::uint16_t bit(method m) noexcept {
        return static_cast<std::uint16_t>(1u << static_cast<unsigned>(m));
    }
    std::uint16_t bits_ = 0;
};

inline constexpr method_set GET{method::get};
inline constexpr method_set HEAD{method::head};
inline constexpr method_set POST{method::post};
inline constexpr method_set PUT{method::put};
#if defined(_WIN32) && defined(DELETE)
#undef DELETE  // <windows.h> defines it (an access right, 0x00010000L); porthole::DELETE is a method
#endif
inline constexpr method_set DELETE{method::delete_};
inline constexpr method_set CONNECT{method::connect};
inline constexpr method_set OPTIONS{method::options};
inline constexpr method_set TRACE{method::trace};
inline constexpr method_set PATCH{method::patch};
// The safe methods (RFC 9110 9.2.1): a client asks for no effect on the server by them.
inline constexpr method_set safe_methods = GET | HEAD | OPTIONS | TRACE;

// ---------------------------------------------------------------- status codes

enum class status : std::uint16_t {
    continue_ = 100,
    switching_protocols = 101,
    ok = 200,
    created = 201,
    accepted = 202,
    non_authoritative_information = 203,
    no_content = 204,
    reset_content = 205,
    partial_content = 206,
    multiple_choices = 300,
    moved_permanently = 301,
    found = 302,
    see_other = 303,
    not_modified = 304,
    temporary_redirect = 307,
    permanent_redirect = 308,
    bad_request = 400,
    unauthorized = 401,
    payment_required = 402,
    forbidden = 403,
    not_found = 404,
    method_not_allowed = 405,
    not_acceptable = 406,
    proxy_authentication_required = 407,
    request_timeout = 408,
    conflict = 409,
    gone = 410,
    length_required = 411,
    precondition_failed = 412,
    content_too_large = 413,
    uri_too_long = 414,
    unsupported_media_type = 415,
    range_not_satisfiable = 416,
    expectation_failed = 417,
    misdirected_request = 421,
    unprocessable_content = 422,
    upgrade_required = 426,
    precondition_required = 428,
    too_many_requests = 429,
    request_header_fields_too_large = 431,
    internal_server_error = 500,
    not_implemented = 501,
    bad_gateway = 502,
    service_unavailable = 503,
    gateway_timeout = 504,
    http_version_not_supported = 505,
    insufficient_storage = 507,  // RFC 4918 section 11.5: the server cannot store what the request needs
};

constexpr unsigned to_int(status s) noexcept { return static_cast<unsigned>(s); }

// RFC 9110 section 15 reason phrases; an unknown code gets a phrase for its class.
constexpr std::string_view reason_phrase(status s) noexcept {
    switch (s) {
        case status::continue_: return "Continue";
        case status::switching_protocols: return "Switching Protocols";
        case status::ok: return "OK";
        case status::created: return "Created";
        case status::accepted: return "Accepted";
        case status::non_authoritative_information: return "Non-Authoritative Information";
        case status::no_content: return "No Content";
        case status::reset_content: return "Reset Content";
        case status::partial_content: return "Partial Content";
        case status::multiple_choices: return "Multiple Choices";
        case status::moved_permanently: return "Moved Permanently";
        case status::found: return "Found";
        case status::see_other: return "See Other";
        case status::not_modified: return "Not Modified";
        case status::temporary_redirect: return "Temporary Redirect";
        case status::permanent_redirect: return "Permanent Redirect";
        case status::bad_request: return "Bad Request";
        case status::unauthorized: return "Unauthorized";
        case status::payment_required: return "Payment Required";
        case status::forbidden: return "Forbidden";
        case status::not_found: return "Not Found";
        case status::method_not_allowed: return "Method Not Allowed";
        case status::not_acceptable: return "Not Acceptable";
        case status::proxy_authentication_required: return "Proxy Authentication Required";
        case status::request_timeout: return "Request Timeout";
        case status::conflict: return "Conflict";
        case status::gone: return "Gone";
        case status::length_required: return "Length Required";
        case status::precondition_failed: return "Precondition Failed";
        case status::content_too_large: return "Content Too Large";
        case status::uri_too_long: return "URI Too Long";
        case status::unsupported_media_type: return "Unsupported Media Type";
        case status::range_not_satisfiable: return "Range Not Satisfiable";
        case status::expectation_failed: return "Expectation Failed";
        case status::misdirected_request: return "Misdirected Request";
        case status::unprocessable_content: return "Unprocessable Content";
        case status::upgrade_required: return "Upgrade Required";
        case status::precondition_required: return "Precondition Required";
        case status::too_many_requests: return "Too Many Requests";
        case status::request_header_fields_too_large: return "Request Header Fields Too Large";
        case status::internal_server_error: return "Internal Server Error";
        case status::not_implemented: return "Not Implemented";
        case status::bad_gateway: return "Bad Gateway";
        case status::service_unavailable: return "Service Unavailable";
        case status::gateway_timeout: return "Gateway Timeout";
        case status::http_version_not_supported: return "HTTP Version Not Supported";
        case status::insufficient_storage: return "Insufficient Storage";
    }
    switch (to_int(s) / 100) {
        case 1: return "Informational";
        case 2: return "Success";
        case 3: return "Redirection";
        case 4: return "Client Error";
        default: return "Server Error";
    }
}

// A status that ends an exchange (RFC 9110 15): 2xx to 5xx. A 1xx is interim (15.2), and a
// code outside 100 to 599 is no status at all.
constexpr bool final_status(status s) noexcept { return to_int(s) >= 200 && to_int(s) <= 599; }

// 1xx, 204 and 304 never carry content (RFC 9112 6.3).
constexpr bool status_allows_body(status s) noexcept {
    auto c = to_int(s);
    return c >= 200 && c != 204 && c != 304;
}

// Whether a response with status `s` may carry content: not a 205 either (RFC 9110 15.3.6),
// which, unlike those above, is framed as any other response is (Content-Length: 0).
constexpr bool status_allows_content(status s) noexcept { return status_allows_body(s) && s != status::reset_content; }

// ---------------------------------------------------------------- versions

struct version {
    std::uint8_t major = 1;
    std::uint8_t minor = 1;
    friend constexpr bool operator==(version, version) noexcept = default;
};
inline constexpr version http_1_0{1, 0};
inline constexpr version http_1_1{1, 1};

// ---------------------------------------------------------------- headers

struct header_field {
    std::string_view name;
    std::string_view value;
};

namespace detail {
// Value of a hex digit, or -1.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

// Character classes of RFC 9110 5.6.2 (tchar) and 5.5 (field-vchar), as one table.
enum : std::uint8_t { cc_tchar = 1, cc_field = 2, cc_hex = 4, cc_digit = 8 };
constexpr std::array<std::uint8_t, 256> make_char_classes() {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        std::uint8_t v = 0;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (alpha || digit) v |= cc_tchar;
        for (char x : std::string_view{"!#$%&'*+-.^_`|~"})
            if (c == static_cast<unsigned char>(x)) v |= cc_tchar;
        // field-vchar = VCHAR / obs-text; SP and HTAB are allowed inside values too.
        if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t') v |= cc_field;
        if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= cc_hex;
        if (digit) v |= cc_digit;
        t[static_cast<std::size_t>(c)] = v;
    }
    return t;
}
inline constexpr std::array<std::uint8_t, 256> char_classes = make_char_classes();
constexpr bool is_tchar(char c) noexcept { return char_classes[static_cast<unsigned char>(c)] & cc_tchar; }
constexpr bool is_field_char(char c) noexcept { return char_classes[static_cast<unsigned char>(c)] & cc_field; }
constexpr bool is_hex(char c) noexcept { return char_classes[static_cast<unsigned char>(c)] & cc_hex; }
constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(c)) return false;
    return true;
}
// qdtext, and what may follow a backslash in a quoted-pair (RFC 9110 5.6.4).
constexpr bool is_qdtext(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return c == '\t' || c == ' ' || u == 0x21 || (u >= 0x23 && u <= 0x5b) || (u >= 0x5d && u <= 0x7e) || u >= 0x80;
}
constexpr bool is_quoted_pair_char(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return c == '\t' || (u >= 0x20 && u != 0x7f);
}

// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 9110 5.6.4), opening at s[i].
struct quoted_string_scan {
    enum outcome_t : std::uint8_t { ok, unterminated, invalid } outcome;
    std::size_t end;  // ok: just past the closing quote; otherwise where the scan stopped
};
constexpr quoted_string_scan scan_quoted_string(std::string_view s, std::size_t i) noexcept {
    for (std::size_t j = i + 1;; ++j) {
        if (j >= s.size()) return {quoted_string_scan::unterminated, j};
        if (s[j] == '"') return {quoted_string_scan::ok, j + 1};
        if (s[j] == '\\') {
            if (++j >= s.size()) return {quoted_string_scan::unterminated, j};
            if (!is_quoted_pair_char(s[j])) return {quoted_string_scan::invalid, j};
        } else if (!is_qdtext(s[j])) {
            return {quoted_string_scan::invalid, j};
        }
    }
}

constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The media type of a Content-Type value, without its parameters or surrounding spaces
// (RFC 9110 section 8.3.1): "text/html" of "text/html; charset=utf-8". Compare it with iequals.
constexpr std::string_view media_type(std::string_view content_type) noexcept {
    return trim_ows(content_type.substr(0, content_type.find(';')));
}
}  // namespace detail

// ASCII case-insensitive equality, as header names and tokens compare.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (detail::ascii_lower(a[i]) != detail::ascii_lower(b[i])) return false;
    return true;
}

namespace detail {
// Whether a media type (parameters aside) ends with `tail`, case-insensitively, after its '/':
// a structured syntax suffix ("+json", RFC 6839) or a whole subtype ("/json").
constexpr bool media_type_ends_with(std::string_view type, std::string_view tail) noexcept {
    type = media_type(type);
    auto slash = type.find('/');
    return slash != std::string_view::npos && type.size() - slash >= tail.size() &&
           iequals(type.substr(type.size() - tail.size()), tail);
}
}  // namespace detail

namespace detail {
// Whether a Content-Type value names application/x-www-form-urlencoded, parameters aside.
constexpr bool is_urlencoded(std::string_view content_type) noexcept {
    return iequals(media_type(content_type), "application/x-www-form-urlencoded");
}
}  // namespace detail

namespace detail {
// An absolute-form target split at its "://" (RFC 9112 3.2.2): "http://host:port/p?q" gives
// scheme "http" and authority "host:port", which an origin server takes in place of Host;
// nullopt for the other forms. Whether the scheme and host are well formed is the parser's check.
struct absolute_form_parts {
    std::string_view scheme, authority;
};
constexpr std::optional<absolute_form_parts> split_absolute_form(std::string_view target) noexcept {
    if (target.empty() || target.front() == '/') return std::nullopt;
    auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return std::nullopt;
    auto authority = target.substr(scheme_end + 3);
    return absolute_form_parts{target.substr(0, scheme_end), authority.substr(0, authority.find_first_of("/?#"))};
}
}  // namespace detail

// First field named `name` (case-insensitive), or nullptr.
constexpr header_field const* find_header(std::span<header_field const> fields, std::string_view name) noexcept {
    for (auto const& f : fields)
        if (iequals(f.name, name)) return &f;
    return nullptr;
}

// Calls f(token) for each element of a comma-separated list (RFC 9110 5.6.1),
// trimming OWS and skipping empty elements. Stops early when f returns false.
template <class F>
constexpr void for_each_list_item(std::string_view value, F&& f) {
    while (!value.empty()) {
        auto comma = value.find(',');
        auto item = detail::trim_ows(value.substr(0, comma));
        if (!item.empty()) {
            if constexpr (std::is_same_v<decltype(f(item)), bool>) {
                if (!f(item)) return;
            } else {
                f(item);
            }
        }
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
}

// True when the comma-separated list `value` contains `token` (case-insensitive).
constexpr bool list_contains(std::string_view value, std::string_view token) noexcept {
    bool found = false;
    for_each_list_item(value, [&](std::string_view item) {
        found = iequals(item, token);
        return !found;
    });
    return found;
}

}  // namespace porthole
