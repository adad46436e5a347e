// porthole/response.hpp: what an application returns: a status, header fields, and a body that
// is a string, a view of static data, a file, or a producer that streams chunks.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/platform.hpp>
#include <porthole/html.hpp>
#include <porthole/http.hpp>
#include <porthole/unique_fd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace porthole {

// A byte range of an open file, sent without reading it whole (sendfile in the built-in server).
struct file_body {
    std::shared_ptr<unique_fd> fd;  // shared: a response may be copied before it is sent
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

// A body produced piece by piece: each call returns the next chunk; an empty optional ends it.
// Chunks go out with chunked transfer coding (HTTP/1.1) or until close (HTTP/1.0), one at a
// time, so a long stream is never buffered whole.
using body_producer = std::function<std::optional<std::string>()>;
namespace detail {
struct stream_channel;  // stream.hpp: a live stream's state shared with other threads
}
struct stream_body {
    body_producer next;
    // Set for a live stream (stream.hpp), whose producer may have nothing yet; next is unused.
    std::shared_ptr<detail::stream_channel> live;
};

// What an application returns when it answers through a responder instead (responder.hpp):
//   return porthole::later;
struct later_t {
    explicit constexpr later_t() = default;
};
inline constexpr later_t later{};

namespace detail {
// Field names must be tokens; values must not contain CR, LF, NUL or other controls but HTAB,
// so nothing an application sets can split a response. Every byte is looked at without a
// branch (is_field_char's set, as the compiler can run it several bytes at a time): this runs
// for each response's media type.
constexpr bool valid_field_value(std::string_view v) noexcept {
    bool bad = false;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        bad |= (u < 0x20 && u != '\t') | (u == 0x7f);
    }
    return !bad;
}

// A header field something is configured to send (a layer, static_files), checked where it is
// configured: a name that is not a token or a value with a control character would make every
// answer that carries it a 500 (the response is refused), so the constructor throws
// std::invalid_argument naming it instead.
inline void require_sendable(std::string_view who, std::string_view name, std::string_view value = {}) {
    if (is_token(name) && valid_field_value(value)) return;
    throw std::invalid_argument(std::string(who) + ": no response can carry the header field \"" + std::string(name) +
                                "\" with that value (a name must be a token, a value hold no control character)");
}
}  // namespace detail

class response {
public:
    struct field {
        std::string name;
        std::string value;
    };
    using body_type = std::variant<std::monostate, std::string, std::string_view, file_body, stream_body>;

    response() noexcept = default;
    response(porthole::status s) noexcept : status_(s) {}  // NOLINT: a status is a response
    response(later_t) noexcept : later_(true) {}           // NOLINT: "the answer comes later"

    // True for the response made from porthole::later: the real one comes through a responder.
    bool answered_later() const noexcept { return later_; }

    // ---- constructors a user expects
    static response text(std::string body, porthole::status s = status::ok) {
        return with_body(s, "text/plain; charset=utf-8", std::move(body));
    }
    static response html(std::string body, porthole::status s = status::ok) {
        return with_body(s, "text/html; charset=utf-8", std::move(body));
    }
    // A rendered template (template.hpp), or other trusted markup, as it is.
    static response html(porthole::html page, porthole::status s = status::ok) {
        return with_body(s, "text/html; charset=utf-8", std::move(page).str());
    }
    static response json(std::string body, porthole::status s = status::ok) {
        return with_body(s, "application/json", std::move(body));
    }
    // A view of data that outlives the response (a literal, a static table): never copied.
    // `content_type` is viewed too (it must outlive the response), trimmed and checked as
    // set_content_type does.
    static response static_text(std::string_view body, std::string_view content_type = "text/plain; charset=utf-8",
                                porthole::status s = status::ok) {
        response r(s);
        r.body_ = body;
        content_type = detail::trim_ows(content_type);
        if (detail::valid_field_value(content_type)) [[likely]]  // the name is known good: hello's path
            r.content_type_ = content_type;
        else r.invalid_field_.assign("Content-Type");
        return r;
    }
    // The error page every part of porthole answers with: the status and its reason phrase as
    // plain text ("Not Found"), a fixed text that never echoes request data.
    static response error(porthole::status s) {
        response r(s);
        r.body_ = reason_phrase(s);
        r.content_type_ = "text/plain; charset=utf-8";  // a literal known good: unchecked, for the many callers
        return r;
    }
    // A redirect to `location` (RFC 9110 15.4). The default, 302 Found, is what browsers and
    // curl -L follow for any method, turning a POST into a GET as every client does: the usual
    // meaning of "go there now". Pass 303 See Other after a form POST (always a GET there), 307
    // or 308 to keep the method and body, 301 or 308 for a permanent move.
    static response redirect(std::string_view location, porthole::status s = status::found) {
        response r(s);
        r.set_header("Location", location);
        return r;
    }
    // The whole file at `path` (UTF-8; UTF-16 at the Windows call), or nullopt when it cannot be
    // opened as a regular file.
    static std::optional<response> file(std::string const& path,
                                        std::string_view content_type = "application/octet-stream") {
        int fd = detail::open_file_for_reading(path);
        if (fd < 0) return std::nullopt;
        auto owner = std::make_shared<unique_fd>(fd);
        detail::file_status st;
        if (!detail::status_of(fd, st) || !st.regular) return std::nullopt;
        response r;
        r.set_content_type(content_type);
        r.body_ = file_body{std::move(owner), 0, st.size};
        return r;
    }
    static response stream(body_producer next, std::string_view content_type = "application/octet-stream",
                           porthole::status s = status::ok) {
        response r(s);
        r.set_content_type(content_type);
        r.body_ = stream_body{std::move(next), nullptr};
        return r;
    }

    // ---- status
    porthole::status status() const noexcept { return status_; }
    response& set_status(porthole::status s) noexcept {
        status_ = s;
        return *this;
    }

    // ---- header fields. Invalid names or values (CR, LF, NUL or another control; an empty
    // Set-Cookie) are not stored: the response is marked invalid, and a connection answers 500
    // instead of sending it (docs/errors.md). Nothing here throws for a bad value. Spaces and
    // tabs around a value are dropped: a field value has none (RFC 9110 5.5).
    response& set_header(std::string_view name, std::string_view value) {
        value = detail::trim_ows(value);
        for (auto& f : fields_)
            if (iequals(f.name, name)) {
                if (!check(name, value)) return *this;
                f.value.assign(value);
                return *this;
            }
        return add_trimmed(name, value);
    }
    response& add_header(std::string_view name, std::string_view value) {
        return add_trimmed(name, detail::trim_ows(value));
    }
    response& set_content_type(std::string_view value) { return set_trimmed_content_type(detail::trim_ows(value)); }
    std::string_view content_type() const noexcept {
        return content_type_owned_ ? std::string_view(owned_content_type_) : content_type_;
    }
    // Removes every field named `name` (not Content-Type: set another instead).
    response& erase_header(std::string_view name) {
        std::erase_if(fields_, [&](field const& f) { return iequals(f.name, name); });
        return *this;
    }
    // Adds `name` to the Vary field (RFC 9110 12.5.5) unless it is listed already or Vary is "*".
    response& add_vary(std::string_view name) {
        if (lists("Vary", name) || lists("Vary", "*")) return *this;
        for (auto& f : fields_)
            if (iequals(f.name, "Vary")) {
                if (!check("Vary", name)) return *this;
                if (!detail::trim_ows(f.value).empty()) f.value += ", ";
                f.value.append(name);
                return *this;
            }
        return add_header("Vary", name);
    }
    // Whether the list field `name` holds `token` (case-insensitive) on any of its lines: lines
    // of one name are one list (RFC 9110 5.3), so `Cache-Control: public` then
    // `Cache-Control: no-transform` lists no-transform.
    bool lists(std::string_view name, std::string_view token) const noexcept {
        for (auto const& f : fields_)
            if (iequals(f.name, name) && list_contains(f.value, token)) return true;
        return false;
    }
    std::vector<field> const& headers() const noexcept { return fields_; }
    // The value of the first field `name`, or nullopt when the response has none. An empty
    // Content-Type counts as none, since it is not sent (nor is any on 1xx, 204, 205 or 304: a
    // static_files 304 names its file's type for the compression layer).
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        if (iequals(name, "Content-Type")) {
            if (auto type = content_type(); !type.empty()) return type;
            return std::nullopt;
        }
        for (auto const& f : fields_)
            if (iequals(f.name, name)) return std::string_view(f.value);
        return std::nullopt;
    }
    // Whether a connection sends it: every field was stored, and its status ends the exchange
    // (final_status: 2xx to 5xx; a 101 goes out only for an upgrade, upgrade.hpp). The field
    // refused first, or empty.
    bool valid() const noexcept { return invalid_field_.empty() && final_status(status_); }
    std::string_view invalid_field() const noexcept { return invalid_field_; }

    // ---- body
    body_type const& body() const noexcept { return body_; }
    body_type& body() noexcept { return body_; }
    response& set_body(std::string body) {
        body_ = std::move(body);
        return *this;
    }
    // Size of the body when known up front (strings, views, files).
    std::optional<std::uint64_t> body_size() const noexcept {
        if (auto s = std::get_if<std::string>(&body_)) return s->size();
        if (auto v = std::get_if<std::string_view>(&body_)) return v->size();
        if (auto f = std::get_if<file_body>(&body_)) return f->length;
        if (std::holds_alternative<std::monostate>(body_)) return 0;
        return std::nullopt;
    }
    // The body as bytes in memory (strings and views); empty for files and streams.
    std::string_view body_view() const noexcept { return body_view(body_); }
    // The same, for a body kept apart from its response (a connection holds bodies alone).
    static std::string_view body_view(body_type const& body) noexcept {
        if (auto s = std::get_if<std::string>(&body)) return *s;
        if (auto v = std::get_if<std::string_view>(&body)) return *v;
        return {};
    }

private:
    static response with_body(porthole::status s, std::string_view type, std::string body) {
        response r(s);
        r.content_type_ = type;  // a literal: no allocation
        r.body_ = std::move(body);
        return r;
    }
    // add_header and set_content_type for a value already trimmed.
    response& add_trimmed(std::string_view name, std::string_view value) {
        if (!check(name, value)) return *this;
        if (iequals(name, "Content-Type")) return set_trimmed_content_type(value);
        fields_.push_back({std::string(name), std::string(value)});
        return *this;
    }
    response& set_trimmed_content_type(std::string_view value) {
        if (!check("Content-Type", value)) return *this;
        owned_content_type_.assign(value);
        content_type_owned_ = true;
        return *this;
    }
    bool check(std::string_view name, std::string_view value) {
        // A Set-Cookie value starts with cookie-name "=" (RFC 6265 4.1.1): never empty, which
        // is also what an invalid porthole::set_cookie gives.
        bool empty_cookie = value.empty() && iequals(name, "Set-Cookie");
        if (detail::is_token(name) && detail::valid_field_value(value) && !empty_cookie) return true;
        if (invalid_field_.empty()) invalid_field_.assign(detail::is_token(name) ? name : "(invalid name)");
        return false;
    }

    porthole::status status_ = status::ok;
    bool content_type_owned_ = false;
    bool later_ = false;
    std::string_view content_type_;
    std::string owned_content_type_;
    std::vector<field> fields_;
    body_type body_;
    std::string invalid_field_;
};

namespace detail {

// Why `res` is not valid(), for the error log.
inline std::string why_invalid(response const& res) {
    if (!res.invalid_field().empty())
        return "response refused: invalid header field " + std::string(res.invalid_field());
    return "response refused: status " + std::to_string(to_int(res.status())) +
           " does not end the exchange (RFC 9110 15: 2xx to 5xx)";
}

}  // namespace detail
}  // namespace porthole
