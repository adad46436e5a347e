// porthole/request.hpp: what an application sees. A request is a small value of views into the
// connection's buffer, valid for the duration of the handler call.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/cookie.hpp>
#include <porthole/http.hpp>
#include <porthole/url.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace porthole {

class request;
namespace detail {
struct exchange;  // responder.hpp: what a connection lends its requests for answering later
inline exchange* exchange_of(request const& req) noexcept;
}  // namespace detail

// A named value taken from the path by a router ("{id}" in "/users/{id}"), already decoded.
struct path_param {
    std::string_view name;
    std::string_view value;
};

class request {
public:
    request() = default;

    // ---- the request line
    porthole::method method() const noexcept { return method_; }
    std::string_view method_name() const noexcept { return method_name_; }
    std::string_view target() const noexcept { return target_; }
    porthole::version version() const noexcept { return version_; }

    // The path, percent-decoded once, except that %2F and %25 stay encoded so that splitting on
    // '/' is safe: an encoded slash never becomes a separator (see url::decode_path). Under a
    // mount point, the part below it.
    std::string_view path() const noexcept { return path_; }
    // The path as it came on the wire, still encoded.
    std::string_view raw_path() const noexcept { return raw_path_; }
    // The query string without '?', still encoded.
    std::string_view query_string() const noexcept { return query_; }
    // The decoded value of the first query parameter `name` ('+' is a space), or nullopt.
    std::optional<std::string> query(std::string_view name) const { return url::query_value(query_, name); }
    url::query_params query_params() const noexcept { return url::query_params(query_); }

    // ---- header fields (names compare case-insensitively)
    std::span<header_field const> headers() const noexcept { return headers_; }
    // The value of the first field `name`, or nullopt when the request has none. A field sent
    // with an empty value is present (RFC 9110 5.5): the result is then an empty view.
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        if (auto f = find_header(headers_, name)) return f->value;
        return std::nullopt;
    }
    // The value of cookie `name` in the Cookie fields, or nullopt when none has it.
    std::optional<std::string_view> cookie(std::string_view name) const noexcept {
        for (auto const& f : headers_)
            if (iequals(f.name, "Cookie"))
                if (auto v = find_cookie(f.value, name)) return v;
        return std::nullopt;
    }

    // ---- body, already de-chunked
    std::string_view body() const noexcept { return body_; }
    // The decoded value of form field `name` of an application/x-www-form-urlencoded body
    // (the first, when the field repeats); nullopt when the field is absent or the body is of
    // another type (Content-Type decides, as for form_fields in form.hpp).
    std::optional<std::string> form(std::string_view name) const {
        if (!detail::is_urlencoded(header("Content-Type").value_or(""))) return std::nullopt;
        return url::query_value(body_, name);
    }

    // ---- connection
    bool keep_alive() const noexcept { return keep_alive_; }
    // "address:port" of the client when a server provides it, else empty.
    std::string_view peer() const noexcept { return peer_; }
    // Whether the request came over TLS (porthole/tls.hpp).
    bool secure() const noexcept { return secure_; }
    // Mutual TLS: the subject of the client's certificate, verified against the server's
    // client CA, as an RFC 2253 string ("CN=alice,O=Example"); empty when none was verified.
    std::string_view client_subject() const noexcept { return client_subject_; }

    // ---- path parameters, filled by a router
    std::span<path_param const> params() const noexcept { return params_; }
    // The value of the route's parameter `name`. A route that matched has every parameter of its
    // pattern, so this is a plain view, not an optional: asking for a name the pattern lacks is a
    // mistake in the program, and gives an empty view.
    std::string_view param(std::string_view name) const noexcept {
        for (auto const& p : params_)
            if (p.name == name) return p.value;
        return {};
    }

    // Copies that differ in one part, for routers and mount points.
    request with_params(std::span<path_param const> params) const noexcept {
        request r = *this;
        r.params_ = params;
        return r;
    }
    request with_path(std::string_view path) const noexcept {
        request r = *this;
        r.path_ = path;
        return r;
    }
    // For layers that hand the application a changed request (a header added, a body
    // decoded): what the views point to must outlive the call.
    request with_headers(std::span<header_field const> headers) const noexcept {
        request r = *this;
        r.headers_ = headers;
        return r;
    }
    request with_body(std::string_view body) const noexcept {
        request r = *this;
        r.body_ = body;
        return r;
    }

    // ---- building (for connections and tests)
    struct parts {
        porthole::method method = porthole::method::get;
        std::string_view method_name = "GET";
        std::string_view target = "/";
        porthole::version version = http_1_1;
        std::string_view path = "/";
        std::string_view raw_path = "/";
        std::string_view query;
        std::span<header_field const> headers;
        std::string_view body;
        bool keep_alive = true;
        std::string_view peer;
        bool secure = false;
        std::string_view client_subject;
        detail::exchange* exchange = nullptr;  // set by a connection
    };
    explicit request(parts const& p) noexcept
        : method_(p.method),
          method_name_(p.method_name),
          target_(p.target),
          version_(p.version),
          path_(p.path),
          raw_path_(p.raw_path),
          query_(p.query),
          headers_(p.headers),
          body_(p.body),
          keep_alive_(p.keep_alive),
          secure_(p.secure),
          peer_(p.peer),
          client_subject_(p.client_subject),
          exchange_(p.exchange) {}

private:
    friend detail::exchange* detail::exchange_of(request const& req) noexcept;

    porthole::method method_ = porthole::method::get;
    std::string_view method_name_ = "GET";
    std::string_view target_ = "/";
    porthole::version version_ = http_1_1;
    std::string_view path_ = "/";
    std::string_view raw_path_ = "/";
    std::string_view query_;
    std::span<header_field const> headers_;
    std::string_view body_;
    bool keep_alive_ = true;
    bool secure_ = false;
    std::string_view peer_;
    std::string_view client_subject_;
    std::span<path_param const> params_;
    detail::exchange* exchange_ = nullptr;
};

inline detail::exchange* detail::exchange_of(request const& req) noexcept { return req.exchange_; }

namespace detail {
// The value of a field that holds one (a date, a range, a key); nullopt when absent or on more
// than one line (for a field that is not a list, two lines are not one value: RFC 9110 5.3).
inline std::optional<std::string_view> single_value(request const& req, std::string_view name) noexcept {
    header_field const* found = nullptr;
    for (auto const& f : req.headers())
        if (iequals(f.name, name)) {
            if (found) return std::nullopt;
            found = &f;
        }
    if (!found) return std::nullopt;
    return found->value;
}

// Splits a request target into raw path and query. absolute-form ("http://h/p?q") yields "/p";
// asterisk-form yields "*"; authority-form yields an empty path.
constexpr void split_target(std::string_view target, std::string_view& path, std::string_view& query) noexcept {
    query = {};
    if (target.empty() || target == "*") {
        path = target;
        return;
    }
    if (target[0] != '/') {
        auto absolute = split_absolute_form(target);
        if (!absolute) {  // authority-form
            path = {};
            return;
        }
        auto rest = target.substr(absolute->scheme.size() + 3);  // past "://"
        auto slash = rest.find_first_of("/?");
        target = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    }
    auto q = target.find('?');
    path = target.substr(0, q);
    if (q != std::string_view::npos) query = target.substr(q + 1);
    if (path.empty()) path = "/";
}
}  // namespace detail

}  // namespace porthole
