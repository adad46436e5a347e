// chunked_decoder over arbitrary bytes fed in pieces, decoding in place the way request_parser
// does: raw bytes accumulate in one buffer (moved to a new allocation before every call), and the
// decoded body is written over its front. Checked after every call: the counts fit what was
// given, output never overtakes input, the declared size stays within max_body; at the end, the
// result equals that of one call over the whole input. And against the rules, written out here
// apart from the decoder: every size line the decoder took has a chunk-ext of RFC 9112 7.1.1's
// grammar, and its framing stays within max_chunk_overhead; a line refused for its extension
// fails that grammar, and one refused as framing out of proportion goes past the limit.
//
// Input layout: one control byte, then piece-size bytes, then the chunked body.
//   bits 0-1: parser limits (fuzz_support::limits_from)
//   bits 2-4: number of piece sizes (0-7), one byte each, used in turn until the input is fed;
//             a size of 0 feeds nothing new (the decoder is called again on what it left)
#include "fuzz_support.hpp"
#include "limits.hpp"

#include <porthole/parser.hpp>

#include <string>
#include <vector>

namespace fuzz_chunked {

using namespace porthole;

struct outcome {
    parse_status status = parse_status::incomplete;
    parse_error error = parse_error::none;
    std::string body;          // decoded bytes
    std::size_t raw_used = 0;  // raw bytes consumed
    std::uint64_t declared = 0;
};

// Feeds `raw` in pieces of the given sizes (all of it at once when there are none).
inline outcome decode(std::string_view raw, std::vector<std::size_t> const& pieces, parser_limits const& limits) {
    chunked_decoder dec(limits);
    std::string buf;  // decoded bytes, then raw bytes not consumed yet
    std::size_t decoded_end = 0, raw_pos = 0, fed = 0, next_piece = 0;
    bool any_progress_in_cycle = false;
    outcome o;
    for (;;) {
        std::size_t n = raw.size() - fed;
        if (!pieces.empty()) {
            n = std::min(n, pieces[next_piece]);
            any_progress_in_cycle |= n > 0;
            if (++next_piece == pieces.size()) {
                if (!any_progress_in_cycle) n = raw.size() - fed;  // only empty pieces: feed the rest
                next_piece = 0;
                any_progress_in_cycle = false;
            }
        }
        buf.append(raw.substr(fed, n));
        fed += n;
        fuzz_support::exact_buffer moved(buf);
        std::size_t avail = moved.size() - raw_pos;
        auto r = dec.decode(moved.data() + raw_pos, avail, moved.data() + decoded_end);
        FUZZ_CHECK(r.consumed <= avail);
        FUZZ_CHECK(r.produced <= r.consumed);
        FUZZ_CHECK(decoded_end + r.produced <= raw_pos + r.consumed);
        decoded_end += r.produced;
        raw_pos += r.consumed;
        buf.assign(moved.data(), moved.size());
        FUZZ_CHECK(dec.body_size() >= decoded_end);
        FUZZ_CHECK(dec.body_size() <= limits.max_body);
        FUZZ_CHECK(dec.done() == (r.status == parse_status::complete));
        if (r.status == parse_status::error) {
            FUZZ_CHECK(dec.error() != parse_error::none);
            auto code = to_int(error_status(dec.error()));
            FUZZ_CHECK(code >= 400 && code <= 599);
        } else {
            FUZZ_CHECK(dec.error() == parse_error::none);
        }
        if (r.status == parse_status::complete) FUZZ_CHECK(dec.body_size() == decoded_end);
        if (r.status != parse_status::incomplete || fed == raw.size()) {
            o.status = r.status;
            o.error = dec.error();
            break;
        }
    }
    o.body = buf.substr(0, decoded_end);
    o.raw_used = raw_pos;
    o.declared = dec.body_size();
    return o;
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), chunk-ext-name =
// token, chunk-ext-val = token / quoted-string (qdtext / quoted-pair between DQUOTEs).
inline bool reference_chunk_ext(std::string_view s) {
    std::size_t i = 0;
    auto bws = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    };
    auto token = [&] {
        auto from = i;
        while (i < s.size() && detail::is_tchar(s[i])) ++i;
        return i > from;
    };
    auto quoted = [&] {
        if (i >= s.size() || s[i] != '"') return false;
        for (++i; i < s.size(); ++i) {
            auto c = static_cast<unsigned char>(s[i]);
            if (c == '"') return ++i, true;
            if (c == '\\') {
                if (++i == s.size()) return false;
                c = static_cast<unsigned char>(s[i]);
                if (!(c == '\t' || (c >= 0x20 && c != 0x7f))) return false;
            } else if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) ||
                         c >= 0x80)) {
                return false;
            }
        }
        return false;
    };
    while (i < s.size()) {
        bws();
        if (i == s.size() || s[i] != ';') return false;
        ++i;
        bws();
        if (!token()) return false;
        auto after_name = i;
        bws();
        if (i < s.size() && s[i] == '=') {
            ++i;
            bws();
            if (!token() && !quoted()) return false;
        } else {
            i = after_name;
        }
    }
    return true;
}

// One size line of raw, starting at `at`: its hex size, its extension, its bytes with the line
// end. False when the line has not ended in raw, or its size is no 1*HEXDIG that fits.
struct size_line {
    std::uint64_t size = 0;
    std::string_view extension;
    std::size_t wire = 0;
};
inline bool read_size_line(std::string_view raw, std::size_t at, size_line& out) {
    auto lf = raw.find('\n', at);
    if (lf == std::string_view::npos) return false;
    auto line = raw.substr(at, lf - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t digits = 0;
    out.size = 0;
    for (; digits < line.size() && detail::hex_value(line[digits]) >= 0; ++digits) {
        if (out.size >> 60) return false;
        out.size = out.size * 16 + static_cast<unsigned>(detail::hex_value(line[digits]));
    }
    out.extension = line.substr(digits);
    out.wire = lf + 1 - at;
    return digits > 0;
}

// Walks the size lines the decoder consumed (raw[0, used)) and the one it stopped at.
inline void check_rules(std::string_view raw, outcome const& o, parser_limits const& limits) {
    std::uint64_t debt = 0;  // framing beyond 32 bytes plus the data, per chunk (docs/security.md)
    auto charge = [&](size_line const& l) {
        std::uint64_t framing = l.wire + (l.size ? 2 : 0), allowance = 32 + l.size;
        debt = framing > allowance ? debt + (framing - allowance) : debt - std::min(debt, allowance - framing);
    };
    std::size_t at = 0;
    bool last_chunk = false;
    while (at < o.raw_used && !last_chunk) {
        size_line l;
        FUZZ_CHECK(read_size_line(raw, at, l));
        FUZZ_CHECK(at + l.wire <= o.raw_used);  // size lines are consumed whole
        FUZZ_CHECK(reference_chunk_ext(l.extension));
        auto semi = l.extension.find(';');
        if (semi != std::string_view::npos) FUZZ_CHECK(l.extension.size() - semi <= limits.max_chunk_extension);
        charge(l);
        FUZZ_CHECK(debt <= limits.max_chunk_overhead);
        at += l.wire;
        last_chunk = l.size == 0;
        if (last_chunk || at + l.size >= o.raw_used) break;  // trailers, or data not all consumed
        at += l.size;
        at += raw.substr(at, 2) == "\r\n" ? 2 : 1;  // the line end after the data
    }
    if (o.status != parse_status::error || last_chunk || at != o.raw_used) return;
    size_line refused;
    if (!read_size_line(raw, at, refused)) return;
    switch (o.error) {
        case parse_error::invalid_chunk_extension:
        case parse_error::invalid_chunk_extension_name:
        case parse_error::invalid_chunk_extension_value:
        case parse_error::unterminated_quoted_string:
        case parse_error::invalid_quoted_string: FUZZ_CHECK(!reference_chunk_ext(refused.extension)); break;
        case parse_error::chunk_overhead_too_large:
            charge(refused);
            FUZZ_CHECK(debt > limits.max_chunk_overhead);
            break;
        default: break;
    }
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    auto control = in.byte();
    auto limits = fuzz_support::limits_from(control & 3);
    std::vector<std::size_t> pieces((control >> 2) & 7);
    for (auto& p : pieces) p = in.byte();
    auto raw = in.rest();

    auto whole = decode(raw, {}, limits);
    auto split = decode(raw, pieces, limits);
    FUZZ_CHECK(whole.status == split.status);
    FUZZ_CHECK(whole.error == split.error);
    FUZZ_CHECK(whole.body == split.body);
    FUZZ_CHECK(whole.raw_used == split.raw_used);
    FUZZ_CHECK(whole.declared == split.declared);
    check_rules(raw, whole, limits);
}

}  // namespace fuzz_chunked

PORTHOLE_FUZZ_ENTRY(fuzz_chunked)
