// porthole/multipart.hpp: multipart/form-data request bodies (RFC 7578 over RFC 2046).
//
// parse() splits a complete body into parts whose fields are string_views into the body:
// nothing is copied, and the only allocation is the caller's vector of parts. Work is
// linear in the body size. Malformed bodies make parse() return false; nothing throws.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/http.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace porthole::multipart {

namespace detail {
using porthole::detail::is_field_char;
using porthole::detail::is_tchar;
using porthole::detail::trim_ows;

constexpr std::size_t max_boundary_size = 70;

// bchars (RFC 2046 5.1.1); a boundary may hold spaces but not end with one.
constexpr bool is_bchar(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    for (char x : std::string_view{"'()+_,-./:=? "})
        if (c == x) return true;
    return false;
}

// A boundary as RFC 2046 5.1.1 has it: 1 to 70 bchars, not ending in a space. Delimiter scans rely
// on it holding no CR (a candidate cannot begin inside another).
constexpr bool is_boundary(std::string_view b) noexcept {
    if (b.empty() || b.size() > max_boundary_size || b.back() == ' ') return false;
    for (char c : b)
        if (!is_bchar(c)) return false;
    return true;
}

constexpr std::size_t skip_ows(std::string_view s, std::size_t i) noexcept {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return i;
}
constexpr std::size_t skip_token(std::string_view s, std::size_t i) noexcept {
    while (i < s.size() && is_tchar(s[i])) ++i;
    return i;
}

// Parses `s`, the parameters that follow a media type or disposition type:
// *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ) (RFC 9110 5.6.6). Calls
// f(name, value, quoted) for each, value being the raw contents of a quoted-string.
// Returns false when the syntax is broken or f returns false. With html_quoting (a part's
// Content-Disposition), a last parameter's quoted-string that a quoted-pair reading leaves open
// ends at its first '"' when only spaces follow: HTML's multipart/form-data encoding writes '"' as %22 and '\' as it
// is, so the file name "dir\" of a browser's form arrives as filename="dir\" and is read as "dir\".
template <bool html_quoting = false, class F>
constexpr bool parse_parameters(std::string_view s, F&& f) {
    std::size_t i = 0;
    for (;;) {
        i = skip_ows(s, i);
        if (i == s.size()) return true;
        if (s[i] != ';') return false;
        i = skip_ows(s, i + 1);
        if (i == s.size()) return true;
        if (s[i] == ';') continue;  // an empty parameter
        std::size_t name_end = skip_token(s, i);
        if (name_end == i || name_end == s.size() || s[name_end] != '=') return false;
        auto name = s.substr(i, name_end - i);
        i = name_end + 1;
        std::string_view value;
        bool quoted = i < s.size() && s[i] == '"';
        if (quoted) {
            auto q = porthole::detail::scan_quoted_string(s, i);
            // Only for the last parameter, as browsers put filename: a string that a quoted-pair
            // reader holds open cannot hide parameters it would not see.
            if (html_quoting && q.outcome == q.unterminated)
                if (auto first = s.find('"', i + 1);
                    first != std::string_view::npos && skip_ows(s, first + 1) == s.size())
                    q = {q.ok, first + 1};
            if (q.outcome != q.ok) return false;
            value = s.substr(i + 1, q.end - i - 2);
            i = q.end;
        } else {
            std::size_t end = skip_token(s, i);
            if (end == i) return false;
            value = s.substr(i, end - i);
            i = end;
        }
        if (!f(name, value, quoted)) return false;
    }
}

// Calls f(line) for each CRLF-separated line of a part's header block.
template <class F>
constexpr void for_each_line(std::string_view block, F&& f) {
    while (!block.empty()) {
        auto crlf = block.find("\r\n");
        f(block.substr(0, crlf));
        if (crlf == std::string_view::npos) break;
        block.remove_prefix(crlf + 2);
    }
}
}  // namespace detail

// One part of a multipart/form-data body; every view points into the body.
struct part {
    // The Content-Disposition name and filename parameters, as the raw contents of their
    // quoted-strings. Browsers percent-encode '"', CR and LF in them and send '\' as is, so
    // these are normally the names themselves (one ending in '\' too: see
    // detail::parse_parameters); unquote() applies RFC 9110 quoted-pair escapes for senders
    // that use them.
    std::string_view name;
    std::string_view filename;
    bool has_filename = false;      // a file field, even when filename is empty
    std::string_view content_type;  // trimmed; empty when absent (text/plain, RFC 7578 4.4)
    std::string_view headers;       // the header lines, CRLF-separated, validated by parse()
    std::string_view data;          // the content, which may hold any bytes, CRLF included

    // The value of the first header named `field` (case-insensitive), trimmed.
    constexpr std::optional<std::string_view> header(std::string_view field) const noexcept {
        std::optional<std::string_view> found;
        detail::for_each_line(headers, [&](std::string_view line) {
            auto colon = line.find(':');
            if (!found && colon != std::string_view::npos && iequals(line.substr(0, colon), field))
                found = detail::trim_ows(line.substr(colon + 1));
        });
        return found;
    }
};

// Appends `raw`, the contents of a quoted-string, to `out` with its quoted-pair escapes
// undone: "a\"b" becomes a"b.
inline void unquote(std::string_view raw, std::string& out) {
    out.reserve(out.size() + raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
        out.push_back(raw[i]);
    }
}

// The boundary parameter of a multipart/* Content-Type, e.g. "xyz" from
// `multipart/form-data; boundary="xyz"`. Parameter names are case-insensitive and the value
// may be quoted. Returns nullopt unless the type is multipart, the parameters parse, there
// is exactly one boundary, and it is 1 to 70 RFC 2046 bchars not ending in a space. A quoted
// boundary with backslash escapes is refused too (no bchar needs one).
constexpr std::optional<std::string_view> boundary_from_content_type(std::string_view content_type) noexcept {
    auto ct = detail::trim_ows(content_type);
    std::size_t slash = detail::skip_token(ct, 0);
    if (!iequals(ct.substr(0, slash), "multipart") || slash == ct.size() || ct[slash] != '/') return std::nullopt;
    std::size_t subtype_end = detail::skip_token(ct, slash + 1);
    if (subtype_end == slash + 1) return std::nullopt;

    std::optional<std::string_view> boundary;
    bool ok =
        detail::parse_parameters(ct.substr(subtype_end), [&](std::string_view name, std::string_view value, bool) {
            if (!iequals(name, "boundary")) return true;
            if (boundary) return false;  // two boundaries: ambiguous
            boundary = value;
            return true;
        });
    if (!ok || !boundary) return std::nullopt;
    if (!detail::is_boundary(*boundary)) return std::nullopt;
    return boundary;
}

namespace detail {
struct delimiter {
    std::size_t begin;  // where the delimiter starts: the CRLF before "--boundary"
    std::size_t after;  // just past its line's CRLF (unused for the close delimiter)
    bool close;         // "--boundary--"
};

// How far a delimiter line still arriving was read: from `begin`, up to `read`, it is the
// delimiter and padding only (so padding that comes a byte at a time is looked at once).
struct line_read {
    std::size_t begin = std::string_view::npos;
    std::size_t read = 0;
};

// The delimiter whose "--" boundary ends at `i` when what follows makes it one: "--" (the
// close delimiter), or optional spaces and tabs (transport-padding) and CRLF. Padding is
// looked for from `padded` on when that is further.
constexpr std::optional<delimiter> delimiter_at(std::string_view body, std::size_t begin, std::size_t i,
                                                std::size_t padded = 0) noexcept {
    if (body.substr(i, 2) == "--") return delimiter{begin, body.size(), true};
    i = skip_ows(body, std::max(i, padded));
    if (body.substr(i, 2) == "\r\n") return delimiter{begin, i + 2, false};
    return std::nullopt;
}

// The first delimiter line in `body` whose CRLF starts at or after `from`: CRLF "--" boundary
// then "--", or optional padding and CRLF. With at_start, "--" boundary at offset 0 counts as
// well (a body without preamble). Lines that merely start with the boundary are content.
// Candidates are found by their CR with memchr; a comparison from one CR cannot run past the
// next (no bchar is a CR), so the scan is linear whatever the boundary. `seen`: a line read
// before, whose padding is not looked at again.
constexpr std::optional<delimiter> find_delimiter(std::string_view body, std::string_view boundary, std::size_t from,
                                                  bool at_start, line_read seen = {}) noexcept {
    auto padded = [&](std::size_t begin) { return begin == seen.begin ? seen.read : 0; };
    if (at_start && body.substr(0, 2) == "--" && body.substr(2, boundary.size()) == boundary)
        if (auto d = delimiter_at(body, 0, 2 + boundary.size(), padded(0))) return d;
    for (std::size_t cr = body.find('\r', from); cr != std::string_view::npos; cr = body.find('\r', cr + 1)) {
        if (body.substr(cr + 1, 3) == "\n--" && body.substr(cr + 4, boundary.size()) == boundary)
            if (auto d = delimiter_at(body, cr, cr + 4 + boundary.size(), padded(cr))) return d;
    }
    return std::nullopt;
}

// Fills `p` from the text between two delimiters: header lines, a blank line, the data.
constexpr bool parse_part(std::string_view raw, part& p) noexcept {
    if (raw.substr(0, 2) == "\r\n") {
        p.headers = {};
        p.data = raw.substr(2);
    } else {
        auto blank = raw.find("\r\n\r\n");
        if (blank == std::string_view::npos) return false;
        p.headers = raw.substr(0, blank);
        p.data = raw.substr(blank + 4);
    }

    bool ok = true;
    std::optional<std::string_view> disposition, content_type;
    for_each_line(p.headers, [&](std::string_view line) {
        auto colon = line.find(':');
        if (colon == std::string_view::npos || !porthole::detail::is_token(line.substr(0, colon))) {
            ok = false;
            return;
        }
        auto name = line.substr(0, colon);
        for (char c : line.substr(colon + 1))
            if (!is_field_char(c)) ok = false;
        auto value = trim_ows(line.substr(colon + 1));
        auto* slot = iequals(name, "Content-Disposition") ? &disposition
                     : iequals(name, "Content-Type")      ? &content_type
                                                          : nullptr;
        if (!slot) return;
        if (*slot) ok = false;  // repeated
        *slot = value;
    });
    if (!ok || !disposition) return false;

    // form-data; name="field"[; filename="file"] (RFC 7578 4.2)
    auto d = *disposition;
    std::size_t type_end = skip_token(d, 0);
    if (!iequals(d.substr(0, type_end), "form-data")) return false;
    bool has_name = false;
    p.has_filename = false;
    ok = parse_parameters<true>(d.substr(type_end), [&](std::string_view name, std::string_view value, bool) {
        if (iequals(name, "name")) {
            if (has_name) return false;
            has_name = true;
            p.name = value;
        } else if (iequals(name, "filename")) {
            if (p.has_filename) return false;
            p.has_filename = true;
            p.filename = value;
        }
        return true;  // others, filename* included (RFC 7578 4.2 forbids it), are ignored
    });
    if (!ok || !has_name) return false;
    if (!p.has_filename) p.filename = {};
    p.content_type = content_type.value_or(std::string_view{});
    return true;
}
}  // namespace detail

// Splits `body` into its parts, replacing the contents of `out`. The preamble before the
// first delimiter and the epilogue after the close delimiter are ignored; a body with no
// parts ("--b--") is valid. Returns false, with `out` empty, when `boundary` is not an RFC 2046
// boundary (1 to 70 bchars, not ending in a space) or the body is malformed: no delimiter or
// no close delimiter, a part without a blank line after its headers, a malformed or repeated
// header, a part without `Content-Disposition: form-data` and a name, or more than max_parts
// parts.
inline bool parse(std::string_view body, std::string_view boundary, std::vector<part>& out,
                  std::size_t max_parts = 100) {
    out.clear();
    if (!detail::is_boundary(boundary)) return false;
    auto d = detail::find_delimiter(body, boundary, 0, true);
    while (d && !d->close) {
        auto next = detail::find_delimiter(body, boundary, d->after, false);
        part p;
        if (!next || out.size() == max_parts || !detail::parse_part(body.substr(d->after, next->begin - d->after), p))
            break;
        out.push_back(p);
        d = next;
    }
    if (d && d->close) return true;
    out.clear();
    return false;
}

// Parses a multipart/form-data body as it arrives, with parse()'s grammar, holding no more than
// one part's header block and the bytes that may begin a delimiter (and, paused, the rest of the
// bytes last fed): the data of a part goes to the handler in pieces, so a file of any size
// passes through a few KiB. feed() calls, on `on`:
//   part(part const& p)          a part begins: its header fields (p.data is empty; the views
//                                end with the call)
//   data(std::string_view piece) its content, in order, in pieces (a part may have none);
//                                void, or bool: false pauses the parser right after the call
//   part_end()                   it ended (the next delimiter came)
// Paused, feed() returns with the rest of its bytes held, however many (paused() is true) and
// calls nothing more: the caller feeds again, with no bytes or more, when it wants the rest.
// Malformed, as for parse(), and also: a part's header block over max_head bytes, or a
// delimiter line padded past max_head bytes (which parse() would hold whole).
class stream_parser {
public:
    explicit stream_parser(std::string_view boundary, std::size_t max_parts = 100, std::size_t max_head = 16 * 1024)
        : boundary_(boundary), max_parts_(max_parts), max_head_(max_head) {
        if (!detail::is_boundary(boundary)) phase_ = phase::failed;
    }

    // The next bytes of the body. False once it is malformed (and from then on).
    template <class On>
    bool feed(std::string_view bytes, On& on) {
        if (phase_ == phase::failed) return false;
        if (phase_ == phase::done) return true;  // the epilogue is ignored
        paused_ = false;
        bool owned = !held_.empty();
        if (owned) held_.append(bytes);
        std::string_view work = owned ? std::string_view(held_) : bytes;
        std::size_t at = run(work, on);
        if (phase_ == phase::failed || phase_ == phase::done) {
            held_.clear();
            return phase_ == phase::done;
        }
        if (!paused_ && work.size() - at > max_head_ + boundary_.size() + 8) return fail();
        if (owned) held_.erase(0, at);
        else held_.assign(work.substr(at));
        started_ = started_ || at != 0;
        return true;
    }

    // The close delimiter has come: the body is whole.
    bool done() const noexcept { return phase_ == phase::done; }
    bool failed() const noexcept { return phase_ == phase::failed; }
    // The handler's data() paused the last feed(): bytes given are held, not yet parsed.
    bool paused() const noexcept { return paused_; }

private:
    enum class phase : std::uint8_t { preamble, head, data, done, failed };

    bool fail() {
        phase_ = phase::failed;
        held_.clear();
        return false;
    }

    // Works through `work`; returns how much of it is done with.
    template <class On>
    std::size_t run(std::string_view work, On& on) {
        // How much of the delimiter line held first (in the head phase: at head_delimiter_from_)
        // was read: it only holds for the first step.
        std::size_t seen = std::exchange(line_read_, 0);
        std::size_t at = 0;
        for (;;) {
            auto rest = work.substr(at);
            std::size_t const read = std::exchange(seen, 0);
            switch (phase_) {
                case phase::preamble: {
                    bool const at_start = !started_ && at == 0;
                    auto d = detail::find_delimiter(rest, boundary_, 0, at_start, {0, read});
                    if (!d) return at + keep_from(rest, at_start, read);
                    if (!pass(*d, at)) return work.size();
                    break;
                }
                case phase::head: {
                    std::size_t block;
                    if (rest.substr(0, 2) == "\r\n") {
                        block = 2;
                    } else {
                        // From where the last search of this block stopped: a block that
                        // comes a byte at a time is searched once, not once per byte.
                        auto blank = rest.find("\r\n\r\n", head_searched_);
                        if (blank == std::string_view::npos) {
                            if (rest.size() > max_head_) fail();
                            head_searched_ = rest.size() < 3 ? 0 : rest.size() - 3;
                            return at;
                        }
                        head_searched_ = blank;
                        block = blank + 4;
                        if (block > max_head_) {  // however the bytes came: whole, or in pieces above
                            fail();
                            return at;
                        }
                    }
                    // As parse() reads it, a part ends at the first delimiter: one that begins inside
                    // the header block (or may yet, once more bytes come) leaves no blank line.
                    // Waiting for more of such a delimiter, only its candidates are looked at
                    // again (a CR before them cannot begin one, however the bytes go on).
                    auto d = detail::find_delimiter(rest, boundary_, head_delimiter_from_, false,
                                                    {head_delimiter_from_, head_delimiter_from_ + read});
                    if (d && d->begin < block) {
                        fail();
                        return at;
                    }
                    if (!d) {
                        auto keep = head_delimiter_from_ + keep_from(rest.substr(head_delimiter_from_), false, read);
                        if (keep < block) {
                            head_delimiter_from_ = keep;
                            return at;
                        }
                    }
                    part p;
                    if (++parts_ > max_parts_ || !detail::parse_part(rest.substr(0, block), p)) {
                        fail();
                        return at;
                    }
                    on.part(p);
                    at += block;
                    head_searched_ = head_delimiter_from_ = 0;
                    phase_ = phase::data;
                    break;
                }
                case phase::data: {
                    auto d = detail::find_delimiter(rest, boundary_, 0, false, {0, read});
                    if (!d) {
                        auto keep = keep_from(rest, false, read);
                        if (keep != 0) deliver(on, rest.substr(0, keep));
                        return at + keep;
                    }
                    if (d->begin != 0 && !deliver(on, rest.substr(0, d->begin))) return at + d->begin;
                    on.part_end();
                    if (!pass(*d, at)) return work.size();
                    break;
                }
                case phase::done:
                case phase::failed: return work.size();
            }
        }
    }

    // One piece of a part's content to the handler; false when it paused there.
    template <class On>
    bool deliver(On& on, std::string_view piece) {
        if constexpr (std::is_same_v<decltype(on.data(piece)), bool>) {
            if (!on.data(piece)) paused_ = true;
        } else {
            on.data(piece);
        }
        return !paused_;
    }

    // Steps past delimiter `d`, found in the work from `at` on: the close delimiter ends the body (false,
    // `at` unmoved); any other moves `at` past its line and opens the next part's head (true).
    bool pass(detail::delimiter const& d, std::size_t& at) {
        if (d.close) {
            phase_ = phase::done;
            return false;
        }
        if (d.after - d.begin >
            max_head_ + boundary_.size() + 8) {  // padded past max_head: as feed() refuses it in pieces
            fail();
            return false;
        }
        at += d.after;
        phase_ = phase::head;
        return true;
    }

    // Where the bytes that may still begin a delimiter start in `rest`, which holds none whole:
    // at a CR (one of the last two: a padded delimiter line ends in one more) whose line could
    // yet become CRLF "--" boundary ("--" or padding CRLF), or, at the body's start, "--" boundary.
    // The line at rest[0] was read up to `read` before; how far the kept one is read goes to
    // line_read_ (0 when none is kept).
    std::size_t keep_from(std::string_view rest, bool at_start, std::size_t read) noexcept {
        auto could_begin = [&](std::size_t begin, std::string_view lead) {
            auto t = rest.substr(begin);
            std::size_t n = std::min(t.size(), lead.size() + boundary_.size());
            for (std::size_t i = 0; i < n; ++i) {
                char want = i < lead.size() ? lead[i] : boundary_[i - lead.size()];
                if (t[i] != want) return false;
            }
            line_read_ = 0;
            std::size_t end = lead.size() + boundary_.size();
            if (t.size() <= end || t.substr(end) == "-") return true;
            std::size_t i = detail::skip_ows(t, std::max(end, begin == 0 ? read : 0));
            if (i != t.size() && (i + 1 != t.size() || t[i] != '\r')) return false;
            line_read_ = i;  // only for the line kept: the next bytes start with it
            return true;
        };
        line_read_ = 0;
        if (at_start && could_begin(0, "--")) return 0;
        // The last two CRs, found forward with memchr: the data of a large part passes here once
        // per piece, and a backward search goes byte by byte.
        std::size_t last = std::string_view::npos, before = std::string_view::npos;
        for (char const* p = rest.data(); p != rest.data() + rest.size(); ++p) {
            p = static_cast<char const*>(std::memchr(p, '\r', static_cast<std::size_t>(rest.data() + rest.size() - p)));
            if (!p) break;
            before = last;
            last = static_cast<std::size_t>(p - rest.data());
        }
        if (last == std::string_view::npos) return rest.size();
        if (before != std::string_view::npos && could_begin(before, "\r\n--")) return before;
        if (could_begin(last, "\r\n--")) return last;
        line_read_ = 0;
        return rest.size();
    }

    std::string boundary_;
    std::string held_;  // bytes not yet worked through: a header block, a possible delimiter
    std::size_t max_parts_, max_head_;
    std::size_t parts_ = 0;
    std::size_t head_searched_ = 0;        // how far the held header block has no blank line
    std::size_t head_delimiter_from_ = 0;  // where a delimiter may yet begin in it
    std::size_t line_read_ = 0;            // how far the delimiter line held first was read
    phase phase_ = phase::preamble;
    bool paused_ = false;   // the handler's data() paused the last feed()
    bool started_ = false;  // bytes of the body were done with: "--" boundary no longer starts it
};

// The first part named `name`, or nullptr.
constexpr part const* find_part(std::span<part const> parts, std::string_view name) noexcept {
    for (auto const& p : parts)
        if (p.name == name) return &p;
    return nullptr;
}

}  // namespace porthole::multipart
