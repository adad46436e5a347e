// chunked_decoder over arbitrary bytes fed in pieces, decoding in place the way request_parser
// does: raw bytes accumulate in one buffer (moved to a new allocation before every call), and the
// decoded body is written over its front. Checked after every call: the counts fit what was
// given, output never overtakes input, the declared size stays within max_body; at the end, the
// result equals that of one call over the whole input.
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
    std::string body;        // decoded bytes
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
}

}  // namespace fuzz_chunked

PORTHOLE_FUZZ_ENTRY(fuzz_chunked)
