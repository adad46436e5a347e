// porthole/parser.hpp: a strict, incremental, zero-copy HTTP/1.1 request parser (RFC 9112).
//
// The parser never allocates and never copies header bytes: the method, target, header names and
// values are string_views into the caller's buffer, and header fields go into storage the caller
// provides. Bytes may arrive split anywhere; the caller passes everything received for the current
// message (from its first byte) on each call, possibly at a new address, and the result does not
// depend on how the bytes were split. Chunked bodies are decoded in place, inside that buffer.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/chunked.hpp>
#include <porthole/detail/decimal.hpp>
#include <porthole/detail/field_line.hpp>
#include <porthole/http.hpp>
#include <porthole/parse_error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace porthole {

enum class target_form : std::uint8_t { origin, absolute, authority, asterisk };
enum class body_framing : std::uint8_t { none, content_length, chunked };

// The parsed request head. Views point into the caller's buffer.
struct request_head {
    std::string_view method_name;
    porthole::method method = porthole::method::other;
    std::string_view target;
    target_form form = target_form::origin;
    porthole::version version{};
    std::span<header_field const> headers;
    std::string_view host;  // the Host field value (empty if absent)
    body_framing framing = body_framing::none;
    std::uint64_t content_length = 0;  // with body_framing::content_length
    bool keep_alive = false;           // persistent per version and Connection
    bool connection_close = false;     // Connection: close
    bool upgrade = false;              // Connection: upgrade
    bool expect_continue = false;      // Expect: 100-continue
    bool expect_unsupported = false;   // another expectation (answer 417)

    header_field const* find(std::string_view name) const noexcept { return find_header(headers, name); }
    // The value of the first field `name`, or nullopt when the request has none.
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        if (auto f = find(name)) return f->value;
        return std::nullopt;
    }
};

namespace detail {

// request-target characters: VCHAR except '#' (a fragment is never sent). RFC 3986 is stricter,
// but browsers send '{', '|', '^' and '`' unencoded in queries; control bytes, space and
// non-ASCII are refused. A table, because every byte of every target goes through it: '?'
// and '\\' are marked, since a backslash is refused before the query and allowed in it.
enum : std::uint8_t { tc_invalid, tc_plain, tc_question, tc_backslash };
inline constexpr auto target_chars = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0x21; c < 0x7f; ++c) t[static_cast<std::size_t>(c)] = tc_plain;
    t['#'] = tc_invalid;
    t['?'] = tc_question;
    t['\\'] = tc_backslash;
    return t;
}();
constexpr bool is_target_char(char c) noexcept { return target_chars[static_cast<unsigned char>(c)] != tc_invalid; }

// reg-name characters (RFC 3986 3.2.2): unreserved, pct-encoded's '%', sub-delims. A table,
// because every request's Host goes through it.
inline constexpr auto reg_name_chars = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[static_cast<std::size_t>(c)] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    for (char c : std::string_view{"-._~%!$&'()*+,;="}) t[static_cast<unsigned char>(c)] = true;
    return t;
}();

// uri-host [":" port] per RFC 9110 7.2 / RFC 3986 3.2.2 (reg-name, IPv4, IP-literal).
constexpr bool is_valid_host(std::string_view h) noexcept {
    std::size_t i = 0;
    if (!h.empty() && h[0] == '[') {
        auto close = h.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        for (std::size_t k = 1; k < close; ++k) {
            char c = h[k];
            if (!(is_hex(c) || c == ':' || c == '.' || c == 'v' || c == 'V')) return false;
        }
        i = close + 1;
    } else {
        for (; i < h.size() && h[i] != ':'; ++i)
            if (!reg_name_chars[static_cast<unsigned char>(h[i])]) return false;
    }
    if (i == h.size()) return true;
    if (h[i] != ':') return false;
    for (++i; i < h.size(); ++i)
        if (h[i] < '0' || h[i] > '9') return false;
    return true;
}

// Whether the host of uri-host [":" port] is empty ("", ":80").
constexpr bool host_is_empty(std::string_view h) noexcept { return h.empty() || h[0] == ':'; }

// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1)
constexpr bool is_scheme(std::string_view s) noexcept {
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (s.empty() || !alpha(s[0])) return false;
    for (char c : s)
        if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
    return true;
}

// Case-insensitive match of a token against a lower-case literal of letters, digits and '-'.
// OR-ing 0x20 folds case exactly for such literals, since a token never holds the control
// characters that would fold onto them; the first byte is checked first as a cheap reject.
template <std::size_t N>
constexpr bool token_is(std::string_view token, char const (&lower)[N]) noexcept {
    if (token.size() != N - 1 || (token[0] | 0x20) != lower[0]) return false;
    for (std::size_t i = 1; i < N - 1; ++i)
        if ((token[i] | 0x20) != lower[i]) return false;
    return true;
}

}  // namespace detail

// Parses one request: head, then body (Content-Length or chunked, decoded in place).
//   parse(data, size) with all bytes received for this message so far (from its first byte);
//   complete -> head(), body(), consumed() (bytes of data this message took); error -> error();
//   incomplete -> discard_framing() may shrink what the caller keeps.
//   reset() before the next message; the caller drops the consumed bytes itself.
class request_parser {
public:
    explicit request_parser(std::span<header_field> header_storage, parser_limits const& limits = {}) noexcept
        : storage_(header_storage), limits_(limits), chunked_(limits) {}

    parse_status parse(char* data, std::size_t size) noexcept {
        if (state_ == state::failed) return parse_status::error;
        if (state_ == state::done) return parse_status::complete;
        follow_buffer(data);
        if (state_ != state::body) {
            auto st = parse_head(data, size);
            if (st != parse_status::complete) return st;
            start_body();
        }
        return parse_body(data, size);
    }
    parse_status parse(std::string& s) noexcept { return parse(s.data(), s.size()); }

    // As parse(), but stops once the head is complete, for a caller that decides how the body
    // is taken: then set_body_limit() and parse() on, or take the body from head_size() itself
    // (and reset() after it).
    parse_status parse_to_body(char* data, std::size_t size) noexcept {
        if (state_ == state::failed) return parse_status::error;
        if (head_complete()) return parse_status::complete;
        follow_buffer(data);
        auto st = parse_head(data, size);
        if (st != parse_status::complete) return st;
        start_body();
        return parse_status::complete;
    }
    // The most bytes this message's body may have (413 beyond), in place of limits().max_body;
    // until reset().
    void set_body_limit(std::uint64_t n) noexcept {
        body_limit_ = n;
        if (head_.framing == body_framing::chunked) chunked_.set_max_body(n);
    }

    bool head_complete() const noexcept { return state_ == state::body || state_ == state::done; }
    // The head parsed whole, whatever became of its body (over its limit, a malformed chunk):
    // head() describes the request until reset(), its views in the bytes last parsed.
    bool head_parsed() const noexcept { return head_complete() || failed_in_ == state::body; }
    // The request line parsed, whatever became of the rest (its fields still to come, a malformed
    // field, a missing Host): head()'s method, target and version name the request until reset(),
    // their views in the bytes last parsed (follow() moves them).
    bool request_line_parsed() const noexcept {
        return state_ == state::headers || head_parsed() || failed_in_ == state::headers;
    }
    // The unfinished message's bytes, as parsed so far, now start at `data` (the caller moved
    // them): head()'s views follow, as the next parse() would make them.
    void follow(char* data) noexcept { follow_buffer(data); }
    request_head const& head() const noexcept { return head_; }
    std::size_t head_size() const noexcept { return head_size_; }
    std::string_view body() const noexcept { return body_; }
    std::size_t consumed() const noexcept { return consumed_; }
    parse_error error() const noexcept { return error_; }
    parser_limits const& limits() const noexcept { return limits_; }

    // A chunked body is decoded in place, so once part of it has been decoded the framing it
    // came in (size lines, extensions, CRLFs, trailer lines) lies dead between the decoded
    // body and the bytes still to decode. This moves those bytes down over it and returns the
    // message's new size: pass that many bytes, from the same start, to the next parse(). A
    // caller that keeps an unfinished message calls it whenever parse() returns incomplete, so
    // that what it holds grows with the body, not with the bytes on the wire.
    std::size_t discard_framing(char* data, std::size_t size) noexcept {
        if (state_ != state::body || head_.framing != body_framing::chunked || raw_pos_ == decoded_end_) return size;
        std::memmove(data + decoded_end_, data + raw_pos_, size - raw_pos_);
        size -= raw_pos_ - decoded_end_;
        raw_pos_ = decoded_end_;
        return size;
    }

    // Moves the fields parsed so far to other storage, which is used from now on.
    void move_storage(std::span<header_field> storage) noexcept {
        auto n = std::min(header_count_, storage.size());
        std::copy_n(storage_.data(), n, storage.data());
        storage_ = storage;
        if (!head_.headers.empty()) head_.headers = std::span<header_field const>(storage.data(), n);
    }

    // Ready for the next message; storage and limits stay.
    void reset() noexcept {
        if (head_.framing == body_framing::chunked) {
            chunked_.reset();
            if (body_limit_ != limits_.max_body) chunked_.set_max_body(limits_.max_body);
        }
        body_limit_ = limits_.max_body;
        head_ = request_head{};
        body_ = {};
        base_ = nullptr;
        line_start_ = scanned_ = headers_start_ = head_size_ = raw_pos_ = decoded_end_ = consumed_ = 0;
        header_count_ = 0;
        host_count_ = 0;
        state_ = state::request_line;
        error_ = parse_error::none;
        keep_alive_token_ = cl_seen_ = ct_seen_ = authorization_seen_ = te_seen_ = te_chunked_last_ = te_unknown_ =
            false;
        failed_in_ = state::request_line;
    }

private:
    enum class state : std::uint8_t { request_line, headers, body, done, failed };

    parse_status fail(parse_error e) noexcept {
        error_ = e;
        failed_in_ = state_;
        state_ = state::failed;
        return parse_status::error;
    }

    // ---- head

    parse_status parse_head(char* data, std::size_t size) noexcept {
        char const* end = data + size;
        // Without a new LF, nothing can complete: skip the re-scan unless a limit is crossed.
        if (scanned_ > line_start_) {
            bool over = state_ == state::request_line ? size > limits_.max_request_line
                                                      : size - headers_start_ > limits_.max_header_bytes ||
                                                            size - line_start_ > limits_.max_header_line;
            // Still, the method is named once its space comes, so that the answer to a HEAD cut
            // short has no content whatever the pieces (only the new bytes are looked at).
            bool names_method = state_ == state::request_line && head_.method_name.empty() &&
                                std::memchr(data + scanned_, ' ', size - scanned_) != nullptr;
            if (!over && !names_method && std::memchr(data + scanned_, '\n', size - scanned_) == nullptr) {
                scanned_ = size;
                return parse_status::incomplete;
            }
        }
        if (state_ == state::request_line) {
            auto st = parse_request_line(data, end);
            if (st != parse_status::complete) return st;
            state_ = state::headers;
        }
        char const* header_cap_base = data + headers_start_;
        char const* p = data + line_start_;
        for (;;) {
            char const* cap = end;
            if (static_cast<std::size_t>(end - header_cap_base) > limits_.max_header_bytes)
                cap = header_cap_base + limits_.max_header_bytes;
            if (static_cast<std::size_t>(cap - p) > limits_.max_header_line) cap = p + limits_.max_header_line;
            header_field f;
            char const* next = nullptr;
            parse_error err = parse_error::none;
            auto lr = detail::scan_field_line(p, cap, header_count_ == 0, limits_.allow_bare_lf, f, next, err);
            if (lr == detail::line_result::field) {
                if (header_count_ == storage_.size() || header_count_ == limits_.max_header_count)
                    return fail(parse_error::too_many_headers);
                storage_[header_count_++] = f;
                if (auto e = on_field(f); e != parse_error::none) return fail(e);
                p = next;
                line_start_ = static_cast<std::size_t>(p - data);
                continue;
            }
            if (lr == detail::line_result::section_end) {
                head_size_ = static_cast<std::size_t>(next - data);
                return finish_head();
            }
            if (lr == detail::line_result::error) return fail(err);
            if (cap != end) return fail(parse_error::headers_too_large);
            scanned_ = size;
            return parse_status::incomplete;
        }
    }

    parse_status parse_request_line(char* data, char const* end) noexcept {
        char const* p = data + line_start_;
        char const* cap = end;
        if (static_cast<std::size_t>(end - data) > limits_.max_request_line) cap = data + limits_.max_request_line;
        // RFC 9112 2.2: ignore empty lines before the request line. They count toward its limit,
        // and are read no further than it, so the verdict does not depend on the split.
        while (p < cap && (*p == '\r' || *p == '\n')) {
            if (*p == '\r') {
                if (p + 1 == end) return parse_status::incomplete;
                if (p[1] != '\n') return fail(parse_error::bare_cr);
                p += 2;
            } else {
                if (!limits_.allow_bare_lf) return fail(parse_error::bare_lf);
                ++p;
            }
        }
        line_start_ = static_cast<std::size_t>(p - data);
        if (p > cap || (p == cap && cap != end)) return fail(parse_error::too_many_empty_lines);
        auto st = scan_request_line(p, cap);
        if (st == parse_status::incomplete && cap != end) {
            // Name what ran over: a method that long is no request at all (400); a long target
            // is what 414 is for (and the version that follows it is never the long part).
            bool method_ended = std::memchr(p, ' ', static_cast<std::size_t>(cap - p)) != nullptr;
            return fail(method_ended ? parse_error::request_line_too_long : parse_error::method_too_long);
        }
        if (st == parse_status::incomplete) scanned_ = static_cast<std::size_t>(end - data);
        return st;
    }

    parse_status scan_request_line(char const* p, char const* end) noexcept {
        char const* line = p;
        while (p != end && detail::is_tchar(*p)) ++p;
        if (p == end) return parse_status::incomplete;
        if (*p != ' ' || p == line) return fail(parse_error::invalid_method);
        head_.method_name = std::string_view(line, static_cast<std::size_t>(p - line));
        head_.method = method_from_string(head_.method_name);
        char const* target = ++p;
        std::uint8_t kind = detail::tc_invalid;
        while (p != end && (kind = detail::target_chars[static_cast<unsigned char>(*p)]) == detail::tc_plain) ++p;
        if (p != end && kind != detail::tc_invalid) {  // '?' or '\\'
            if (kind == detail::tc_backslash) return fail(parse_error::backslash_in_path);
            while (++p != end && detail::is_target_char(*p)) {}
        }
        if (p == end) return parse_status::incomplete;
        if (*p != ' ' || p == target) return fail(parse_error::invalid_target);
        head_.target = std::string_view(target, static_cast<std::size_t>(p - target));
        if (auto e = classify_target(); e != parse_error::none) return fail(e);
        ++p;
        // HTTP-version = "HTTP" "/" DIGIT "." DIGIT, then CRLF; checked as far as bytes go.
        for (std::ptrdiff_t k = 0; k < 8 && k < end - p; ++k) {
            char c = p[k];
            bool ok = k < 5 ? c == "HTTP/"[k] : k == 6 ? c == '.' : (c >= '0' && c <= '9');
            if (!ok) return fail(parse_error::invalid_version);
        }
        if (end - p < 9) return parse_status::incomplete;
        char const* eol = p + 8;
        if (*eol == '\r') {
            if (end - eol < 2) return parse_status::incomplete;
            if (eol[1] != '\n') return fail(parse_error::bare_cr);
            eol += 2;
        } else if (*eol == '\n') {
            if (!limits_.allow_bare_lf) return fail(parse_error::bare_lf);
            eol += 1;
        } else {
            return fail(parse_error::invalid_version);
        }
        // Major version 1 only (2.0 and 0.9 get 505). A higher minor (HTTP/1.2) is read as 1.1, the
        // highest this server implements (RFC 9110 2.5).
        if (p[5] != '1') return fail(parse_error::unsupported_version);
        head_.version = p[7] == '0' ? http_1_0 : http_1_1;
        line_start_ = headers_start_ = static_cast<std::size_t>(eol - base_);
        return parse_status::complete;
    }

    parse_error classify_target() noexcept {
        auto t = head_.target;
        bool connect = head_.method == method::connect;
        if (t[0] == '/') {
            head_.form = target_form::origin;
        } else if (t == "*") {
            head_.form = target_form::asterisk;
            if (head_.method != method::options) return parse_error::target_form_mismatch;
        } else if (connect) {
            head_.form = target_form::authority;
            if (t.find_first_of("/?@") != std::string_view::npos || !detail::is_valid_host(t) ||
                t.find(':') == std::string_view::npos)
                return parse_error::invalid_target;
        } else {
            // absolute-form: scheme "://" authority [path-abempty] [ "?" query ]; the authority a
            // host that is not empty (RFC 9110 4.2.1) and no userinfo (RFC 9110 4.2.4), as for Host.
            auto absolute = detail::split_absolute_form(t);
            if (!absolute || !detail::is_scheme(absolute->scheme) || detail::host_is_empty(absolute->authority) ||
                !detail::is_valid_host(absolute->authority))
                return parse_error::invalid_target;
            head_.form = target_form::absolute;
        }
        if (connect && head_.form != target_form::authority) return parse_error::target_form_mismatch;
        return parse_error::none;
    }

    // Field semantics that decide framing and connection handling, checked as each line arrives.
    parse_error on_field(header_field const& f) noexcept {
        auto n = f.name;
        switch (n.size()) {
            case 4:
                if (detail::token_is(n, "host")) {
                    if (host_count_++ != 0) return parse_error::multiple_host;
                    if (!detail::is_valid_host(f.value)) return parse_error::invalid_host;
                    // Without an authority in the target, Host is the authority: it cannot be empty
                    // (RFC 9112 3.2, RFC 9110 4.2.1). An absolute target brings its own.
                    if (detail::host_is_empty(f.value) &&
                        (head_.form == target_form::origin || head_.form == target_form::asterisk))
                        return parse_error::empty_host;
                    head_.host = f.value;
                }
                break;
            case 6:
                if (detail::token_is(n, "expect")) {  // a list (RFC 9110 10.1.1): empty members are no expectation
                    for_each_list_item(f.value, [&](std::string_view e) {
                        if (iequals(e, "100-continue")) head_.expect_continue = true;
                        else head_.expect_unsupported = true;
                    });
                }
                break;
            case 10:
                if (detail::token_is(n, "connection")) {
                    for_each_list_item(f.value, [&](std::string_view t) {
                        if (detail::token_is(t, "close")) head_.connection_close = true;
                        else if (detail::token_is(t, "keep-alive")) keep_alive_token_ = true;
                        else if (detail::token_is(t, "upgrade")) head_.upgrade = true;
                    });
                }
                break;
            case 12:
                // A single value (RFC 9110 8.3): with two, a proxy and the application could
                // read the body as different types, or a multipart body with different boundaries.
                if (detail::token_is(n, "content-type")) {
                    if (ct_seen_) return parse_error::multiple_content_type;
                    ct_seen_ = true;
                }
                break;
            case 13:  // credentials: one set (RFC 9110 11.6.2), whichever line a proxy reads
                if (detail::token_is(n, "authorization")) {
                    if (authorization_seen_) return parse_error::multiple_authorization;
                    authorization_seen_ = true;
                }
                break;
            case 14:
                if (detail::token_is(n, "content-length")) return on_content_length(f.value);
                break;
            case 17:
                if (detail::token_is(n, "transfer-encoding")) return on_transfer_encoding(f.value);
                break;
            default: break;
        }
        return parse_error::none;
    }

    parse_error on_content_length(std::string_view value) noexcept {
        // 1*DIGIT; a list of identical values collapses to one (RFC 9110 8.6), a list with an
        // empty member ("5,") is no such list.
        bool ok = true, conflict = false, leading_zero = false;
        std::size_t members = 0;
        for_each_list_item(value, [&](std::string_view item) {
            ++members;
            std::uint64_t v = 0;
            if (!detail::parse_decimal(item, v)) return ok = false;
            // "005" is 1*DIGIT, but parsers in front of us may read it as octal or refuse it:
            // where two readings can differ, none is taken.
            if (item.size() > 1 && item[0] == '0') return leading_zero = true, ok = false;
            if ((members > 1 || cl_seen_) && v != head_.content_length) conflict = true;
            head_.content_length = v;
            return true;
        });
        if (leading_zero) return parse_error::content_length_leading_zero;
        if (!ok || members == 0 || members != 1 + static_cast<std::size_t>(std::count(value.begin(), value.end(), ',')))
            return parse_error::invalid_content_length;
        if (conflict) return parse_error::conflicting_content_length;
        cl_seen_ = true;
        return parse_error::none;
    }

    parse_error on_transfer_encoding(std::string_view value) noexcept {
        bool any = false;
        parse_error e = parse_error::none;
        for_each_list_item(value, [&](std::string_view coding) {
            any = true;
            if (te_chunked_last_) {  // something follows chunked
                e = parse_error::chunked_not_final;
                return false;
            }
            if (iequals(coding, "chunked")) {
                te_chunked_last_ = true;
            } else if (!detail::is_token(coding)) {
                e = parse_error::invalid_transfer_encoding;
                return false;
            } else {
                te_unknown_ = true;
            }
            return true;
        });
        if (e != parse_error::none) return e;
        if (!any) return parse_error::invalid_transfer_encoding;
        te_seen_ = true;
        return parse_error::none;
    }

    parse_status finish_head() noexcept {
        head_.headers = std::span<header_field const>(storage_.data(), header_count_);
        if (head_.version.minor == 1 && host_count_ == 0) return fail(parse_error::missing_host);
        if (te_seen_) {
            if (head_.version.minor == 0) return fail(parse_error::transfer_encoding_in_http10);
            if (cl_seen_) return fail(parse_error::content_length_with_transfer_encoding);
            if (!te_chunked_last_) return fail(parse_error::chunked_not_final);
            if (te_unknown_) return fail(parse_error::unsupported_transfer_coding);
            head_.framing = body_framing::chunked;
        } else if (cl_seen_) {
            head_.framing = body_framing::content_length;
        }
        head_.keep_alive = !head_.connection_close && (head_.version.minor >= 1 || keep_alive_token_);
        return parse_status::complete;
    }

    // ---- body

    void start_body() noexcept {
        state_ = state::body;
        if (head_.framing == body_framing::chunked) {
            raw_pos_ = head_size_;
            decoded_end_ = head_size_;
        }
    }

    parse_status parse_body(char* data, std::size_t size) noexcept {
        switch (head_.framing) {
            case body_framing::none: return complete(head_size_, 0, head_size_);
            case body_framing::content_length:
                if (head_.content_length > body_limit_) return fail(parse_error::body_too_large);
                if (size - head_size_ < head_.content_length) return parse_status::incomplete;
                return complete(head_size_, static_cast<std::size_t>(head_.content_length),
                                head_size_ + static_cast<std::size_t>(head_.content_length));
            case body_framing::chunked: {
                auto r = chunked_.decode(data + raw_pos_, size - raw_pos_, data + decoded_end_);
                raw_pos_ += r.consumed;
                decoded_end_ += r.produced;
                if (r.status == parse_status::error) return fail(chunked_.error());
                if (r.status == parse_status::incomplete) return parse_status::incomplete;
                return complete(head_size_, decoded_end_ - head_size_, raw_pos_);
            }
        }
        return parse_status::incomplete;
    }

    parse_status complete(std::size_t body_at, std::size_t body_len, std::size_t consumed) noexcept {
        body_ = std::string_view(base_ + body_at, body_len);
        consumed_ = consumed;
        state_ = state::done;
        return parse_status::complete;
    }

    // The message's bytes so far start at data now: where the caller's buffer moved (its own
    // copy of an unfinished head, grown or compacted), every view parsed so far moves with it.
    void follow_buffer(char* data) noexcept {
        if (base_ != nullptr && data != base_) rebase(data);
        base_ = data;
    }
    void rebase(char* data) noexcept {
        auto move = [&](std::string_view& v) {
            if (v.data() == nullptr) return;
            auto off = reinterpret_cast<std::uintptr_t>(v.data()) - reinterpret_cast<std::uintptr_t>(base_);
            v = std::string_view(data + off, v.size());
        };
        move(head_.method_name);
        move(head_.target);
        move(head_.host);
        for (std::size_t i = 0; i < header_count_; ++i) {
            move(storage_[i].name);
            move(storage_[i].value);
        }
        base_ = data;
    }

    std::span<header_field> storage_;
    parser_limits limits_;
    chunked_decoder chunked_;
    std::uint64_t body_limit_ = limits_.max_body;
    request_head head_{};
    std::string_view body_{};
    char* base_ = nullptr;
    std::size_t line_start_ = 0;     // start of the first line not yet parsed
    std::size_t scanned_ = 0;        // bytes already searched for a line end
    std::size_t headers_start_ = 0;  // start of the field lines
    std::size_t head_size_ = 0;
    std::size_t raw_pos_ = 0;      // chunked: next raw byte
    std::size_t decoded_end_ = 0;  // chunked: end of the decoded body so far
    std::size_t consumed_ = 0;
    std::size_t header_count_ = 0;
    unsigned host_count_ = 0;
    state state_ = state::request_line;
    parse_error error_ = parse_error::none;
    bool keep_alive_token_ = false;
    bool cl_seen_ = false;
    bool ct_seen_ = false;             // a Content-Type line came
    bool authorization_seen_ = false;  // an Authorization line came
    bool te_seen_ = false;
    bool te_chunked_last_ = false;
    bool te_unknown_ = false;
    state failed_in_ = state::request_line;  // the state fail() found: where the message went wrong
};

// A parser with its own header storage, for when a fixed capacity is fine.
template <std::size_t MaxHeaders = 100>
class basic_request_parser : public request_parser {
public:
    explicit basic_request_parser(parser_limits const& limits = {}) noexcept
        : request_parser(std::span<header_field>(fields_storage()), limits) {}
    basic_request_parser(basic_request_parser const&) = delete;
    basic_request_parser& operator=(basic_request_parser const&) = delete;

private:
    std::array<header_field, MaxHeaders>& fields_storage() noexcept { return fields_; }
    std::array<header_field, MaxHeaders> fields_{};
};

}  // namespace porthole
