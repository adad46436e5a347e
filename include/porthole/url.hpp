// porthole/url.hpp: percent-decoding and encoding (RFC 3986), request paths split into
// segments, query strings and application/x-www-form-urlencoded bodies.
//
// Everything here works on string_views into the caller's input: iteration allocates
// nothing, and decoding appends to a std::string the caller owns. Malformed input never
// throws; it makes a function return false (leaving `out` as it was) or is skipped.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/http.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace porthole::url {

namespace detail {
// The byte encoded by in[i+1], in[i+2] (in[i] being '%'), or -1 when they are not two hex digits.
constexpr int escaped_byte(std::string_view in, std::size_t i) noexcept {
    if (in.size() - i < 3) return -1;
    int hi = porthole::detail::hex_value(in[i + 1]);
    int lo = porthole::detail::hex_value(in[i + 2]);
    return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

constexpr bool is_control(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

constexpr bool is_unreserved(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

inline void append_escaped(unsigned char c, std::string& out) {
    constexpr char digits[] = "0123456789ABCDEF";
    char buf[3] = {'%', digits[c >> 4], digits[c & 15]};
    out.append(buf, 3);
}

// Restores `out` to its size on entry unless commit() was called: a failed decode leaves
// the caller's string as it was.
class append_guard {
public:
    explicit append_guard(std::string& out) noexcept : out_(out), size_(out.size()) {}
    append_guard(append_guard const&) = delete;
    append_guard& operator=(append_guard const&) = delete;
    ~append_guard() {
        if (!committed_) out_.resize(size_);
    }
    bool commit() noexcept { return committed_ = true; }

private:
    std::string& out_;
    std::size_t size_;
    bool committed_ = false;
};

// The one percent-decoder (see decode_component and decode_form): appends `in` decoded to
// `out`. Strict, a '%' not followed by two hex digits fails it, leaving `out` as it was;
// form-style, '+' is a space and such a '%' is kept as it is.
template <bool Form>
bool percent_decode(std::string_view in, std::string& out) {
    append_guard guard(out);
    out.reserve(out.size() + in.size());
    std::size_t run = 0;  // start of the bytes not yet copied
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            int b = escaped_byte(in, i);
            if (b < 0) {
                if constexpr (Form) continue;
                else return false;
            }
            out.append(in.data() + run, i - run);
            out.push_back(static_cast<char>(b));
            i += 2;
            run = i + 1;
        } else if (Form && c == '+') {
            out.append(in.data() + run, i - run);
            out.push_back(' ');
            run = i + 1;
        }
    }
    out.append(in.data() + run, in.size() - run);
    return guard.commit();
}

// True when `raw` decoded as decode_form does gives exactly `plain`. Allocates nothing.
constexpr bool form_decoded_equals(std::string_view raw, std::string_view plain) noexcept {
    std::size_t j = 0;
    for (std::size_t i = 0; i < raw.size(); ++i, ++j) {
        if (j == plain.size()) return false;
        char c = raw[i];
        if (c == '%') {
            if (int b = escaped_byte(raw, i); b >= 0) {
                c = static_cast<char>(b);
                i += 2;
            }
        } else if (c == '+') {
            c = ' ';
        }
        if (c != plain[j]) return false;
    }
    return j == plain.size();
}
}  // namespace detail

// Appends the percent-decoded `in` to `out` (RFC 3986 2.1). Hex digits are case-insensitive;
// '+' is not special. Returns false on a malformed escape ("%", "%4", "%zz"), leaving `out`
// unchanged. Decoded bytes are not checked: a %00 or invalid UTF-8 comes through as is.
inline bool decode_component(std::string_view in, std::string& out) { return detail::percent_decode<false>(in, out); }

// Appends an application/x-www-form-urlencoded name or value (a query's or a form body's)
// decoded as the WHATWG URL Standard's urlencoded parser does: '+' is a space, %XX a byte, and a
// '%' not followed by two hex digits is kept as it is ("100%" stays "100%"), so it never fails
// and every pair has one reading, the one browsers, proxies and other servers take. Decoded
// bytes are not checked, as for decode_component.
inline void decode_form(std::string_view raw, std::string& out) { detail::percent_decode<true>(raw, out); }

// Appends the request path `raw_path` (no query) decoded once, in a form that can be split
// on '/' safely: every escape is decoded except %2F and %25, which stay encoded (written
// in upper case), so an encoded slash never becomes a separator and "%252F" stays distinct
// from "%2F". '+' is not special in paths. Returns false, leaving `out` unchanged, on a
// malformed escape or on a control byte, raw or encoded (%00-%1F, %7F): no path means one,
// and a CR, LF or NUL decoded from a path would reach file names, logs and headers.
// Dot segments are left in place; see is_dot_segment.
inline bool decode_path(std::string_view raw_path, std::string& out) {
    detail::append_guard guard(out);
    out.reserve(out.size() + raw_path.size());
    std::size_t run = 0;
    for (std::size_t i = 0; i < raw_path.size(); ++i) {
        char c = raw_path[i];
        if (detail::is_control(c)) return false;
        if (c != '%') continue;
        int b = detail::escaped_byte(raw_path, i);
        if (b < 0 || detail::is_control(static_cast<char>(b))) return false;
        out.append(raw_path.data() + run, i - run);
        if (b == '/') out.append("%2F");
        else if (b == '%') out.append("%25");
        else out.push_back(static_cast<char>(b));
        i += 2;
        run = i + 1;
    }
    out.append(raw_path.data() + run, raw_path.size() - run);
    return guard.commit();
}

// Appends a segment of a decode_path result with its kept escapes turned back into bytes:
// %2F into '/', %25 into '%'. Returns false, leaving `out` unchanged, on any other '%'
// sequence, which decode_path never leaves behind (so the path was not decoded first).
inline bool decode_segment(std::string_view seg, std::string& out) {
    detail::append_guard guard(out);
    std::size_t run = 0;
    for (std::size_t i = 0; i < seg.size(); ++i) {
        if (seg[i] != '%') continue;
        int b = detail::escaped_byte(seg, i);
        if (b != '/' && b != '%') return false;
        out.append(seg.data() + run, i - run);
        out.push_back(static_cast<char>(b));
        i += 2;
        run = i + 1;
    }
    out.append(seg.data() + run, seg.size() - run);
    return guard.commit();
}

// "." or "..": segments that would move a file-system lookup. Apply it to segments of a
// decode_path result, where "%2e%2E" has already become "..".
constexpr bool is_dot_segment(std::string_view seg) noexcept {
    // Size 1 or 2 (an empty segment wraps to a large size), then dots: no call, few branches,
    // as the router asks it of every segment it would match by name.
    return seg.size() - 1 < 2 && seg[0] == '.' && (seg.size() == 1 || seg[1] == '.');
}

// The segments of a path, split on '/'. One leading '/' is dropped and every other '/'
// separates two segments, so:
//   ""      -> (none)           "/"     -> ""
//   "/a"    -> "a"              "/a/"   -> "a", ""      (a trailing slash: a final empty segment)
//   "/a//b" -> "a", "", "b"     "a/b"   -> "a", "b"
// Segments are views into the path; iterate a decode_path result and pass each to
// decode_segment to get its bytes.
class segments {
public:
    constexpr explicit segments(std::string_view path) noexcept : path_(path) {
        if (!path_.empty() && path_.front() == '/') {
            path_.remove_prefix(1);
            rooted_ = true;
        }
    }

    class iterator {
    public:
        // Dereferencing yields a view by value: a C++20 forward iterator, a C++17 input one.
        using iterator_concept = std::forward_iterator_tag;
        using iterator_category = std::input_iterator_tag;
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        using pointer = std::string_view const*;
        using reference = std::string_view;

        constexpr iterator() noexcept = default;
        constexpr std::string_view operator*() const noexcept { return current_; }
        constexpr pointer operator->() const noexcept { return &current_; }
        constexpr iterator& operator++() noexcept {
            if (next_ > path_.size()) {
                next_ = npos;  // end
            } else {
                load();
            }
            return *this;
        }
        constexpr iterator operator++(int) noexcept {
            iterator old = *this;
            ++*this;
            return old;
        }
        friend constexpr bool operator==(iterator const& a, iterator const& b) noexcept { return a.next_ == b.next_; }

    private:
        friend class segments;
        static constexpr std::size_t npos = std::string_view::npos;
        constexpr iterator(std::string_view path, bool at_end) noexcept : path_(path), next_(at_end ? npos : 0) {
            if (!at_end) load();
        }
        // Takes the segment starting at next_ and moves next_ past its '/', or to
        // path_.size() + 1 when it was the last one.
        constexpr void load() noexcept {
            auto slash = path_.find('/', next_);
            auto stop = slash == npos ? path_.size() : slash;
            current_ = path_.substr(next_, stop - next_);
            next_ = stop + 1;
        }
        std::string_view path_;
        std::string_view current_;
        std::size_t next_ = npos;
    };

    constexpr iterator begin() const noexcept { return iterator(path_, path_.empty() && !rooted_); }
    constexpr iterator end() const noexcept { return iterator(path_, true); }

private:
    std::string_view path_;
    bool rooted_ = false;
};

// True when some segment of `path` is "." or "..".
constexpr bool has_dot_segment(std::string_view path) noexcept {
    for (auto seg : segments(path))
        if (is_dot_segment(seg)) return true;
    return false;
}

// ---------------------------------------------------------------- query strings and forms

// A name=value pair of a query string or urlencoded form, both still encoded.
struct param {
    std::string_view name;
    std::string_view value;
};

namespace detail {

// A forward iterator over the items that `Next(rest, item)` takes one at a time off the front
// of a string (false once none is left): the lazy views of query pairs and of cookie pairs.
template <class Item, bool (*Next)(std::string_view&, Item&) noexcept>
class split_iterator {
public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Item;
    using difference_type = std::ptrdiff_t;
    using pointer = Item const*;
    using reference = Item const&;

    constexpr split_iterator() noexcept = default;
    constexpr explicit split_iterator(std::string_view text) noexcept : rest_(text), done_(false) { advance(); }
    constexpr Item const& operator*() const noexcept { return current_; }
    constexpr Item const* operator->() const noexcept { return &current_; }
    constexpr split_iterator& operator++() noexcept {
        advance();
        return *this;
    }
    constexpr split_iterator operator++(int) noexcept {
        split_iterator old = *this;
        advance();
        return old;
    }
    friend constexpr bool operator==(split_iterator const& a, split_iterator const& b) noexcept {
        return a.done_ == b.done_ && (a.done_ || a.rest_.data() == b.rest_.data());
    }

private:
    constexpr void advance() noexcept {
        if (Next(rest_, current_)) return;
        done_ = true;
        current_ = {};
    }
    std::string_view rest_;  // what follows the current item
    Item current_{};
    bool done_ = true;
};

constexpr bool next_query_param(std::string_view& rest, param& out) noexcept {
    while (!rest.empty()) {
        auto amp = rest.find('&');
        auto pair = rest.substr(0, amp);
        rest.remove_prefix(amp == std::string_view::npos ? rest.size() : amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) out = {pair, pair.substr(pair.size())};
        else out = {pair.substr(0, eq), pair.substr(eq + 1)};
        return true;
    }
    return false;
}

}  // namespace detail

// The pairs of a query string (without its '?') or of an application/x-www-form-urlencoded
// body, in order, lazily: "a=1&b=&c&&d=4" gives a="1", b="", c="", d="4". Pairs are
// separated by '&'; empty pairs are skipped; a pair without '=' has an empty value; the
// first '=' splits, so "k=a=b" gives k="a=b". Names and values are raw (decode them with
// decode_form); duplicates all appear.
class query_params {
public:
    using iterator = detail::split_iterator<param, &detail::next_query_param>;

    constexpr explicit query_params(std::string_view query) noexcept : query_(query) {}
    constexpr iterator begin() const noexcept { return iterator(query_); }
    constexpr iterator end() const noexcept { return iterator(); }

private:
    std::string_view query_;
};

// The value, decoded as decode_form does, of the first pair whose name so decoded is `name`, or
// nullopt when there is none.
inline std::optional<std::string> query_value(std::string_view query, std::string_view name) {
    for (auto const& p : query_params(query)) {
        if (!detail::form_decoded_equals(p.name, name)) continue;
        std::string value;
        decode_form(p.value, value);
        return value;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------- encoding

// Appends `in` percent-encoded: the RFC 3986 unreserved characters (ALPHA, DIGIT, "-._~")
// are kept, every other byte becomes %XX (upper-case hex). The result is safe in a path
// segment, a query name or value, a header and an HTML attribute.
inline void encode_component(std::string_view in, std::string& out) {
    out.reserve(out.size() + in.size());
    for (char c : in) {
        if (detail::is_unreserved(c)) out.push_back(c);
        else detail::append_escaped(static_cast<unsigned char>(c), out);
    }
}

// encode_component that keeps '/', for a whole path: encode_path("/files/a b") is
// "/files/a%20b".
inline void encode_path(std::string_view in, std::string& out) {
    out.reserve(out.size() + in.size());
    for (char c : in) {
        if (c == '/' || detail::is_unreserved(c)) out.push_back(c);
        else detail::append_escaped(static_cast<unsigned char>(c), out);
    }
}

// Appends a request's path or query as it came, with each byte that a URI may not hold (RFC
// 3986 3.3 and 3.4: outside pchar, '/', '?') percent-encoded, and the target's own escapes
// kept: the parser lets '"', '<', '>', '{', '}', '|', '^' and '`' into a target (docs/parser.md),
// and a query may hold a '%' that begins no escape ("100%", read as itself by decode_form, as
// is the "100%25" it becomes), while a Location built from one must be a URI-reference (RFC 9110
// 10.2.2; RFC 9112 3: a redirect "with the request-target properly encoded").
inline void encode_as_target(std::string_view in, std::string& out) {
    constexpr std::string_view kept = "!$&'()*+,;=:@/?";
    out.reserve(out.size() + in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (detail::is_unreserved(c) || kept.find(c) != std::string_view::npos ||
            (c == '%' && detail::escaped_byte(in, i) >= 0))
            out.push_back(c);
        else detail::append_escaped(static_cast<unsigned char>(c), out);
    }
}

// Appends `raw_path` as a path on this host, for a Location (RFC 9110 10.2.2): written as
// encode_as_target writes it, with any run of leading '/' or '\' reduced to one '/', so that it
// never names another host ("//elsewhere", and "/\elsewhere" as browsers read it).
inline void append_local_path(std::string_view raw_path, std::string& out) {
    while (!raw_path.empty() && (raw_path.front() == '/' || raw_path.front() == '\\')) raw_path.remove_prefix(1);
    out.push_back('/');
    encode_as_target(raw_path, out);
}

}  // namespace porthole::url
