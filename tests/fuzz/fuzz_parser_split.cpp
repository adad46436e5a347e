// The differential target: the same bytes parsed whole and fed in pieces must give the same
// requests (method, target, headers, body, framing, keep-alive), the same error, and the same
// state at the end of input (the request line it names included). Between pieces the buffer moves to a new allocation,
// so the parser has to follow it (see tests/parse_driver.hpp).
//
// Input layout: one control byte, then cut bytes, then the message bytes.
//   bits 0-1: parser limits (fuzz_support::limits_from)
//   bits 2-4: number of cuts (0-7), each one byte (or two with bit 5) giving the distance from the
//             previous cut; a distance of 0 feeds an empty piece
//   bit 6:    on inputs up to 2 KiB, cut before every byte instead
#ifndef PORTHOLE_SOURCE_DIR
#define PORTHOLE_SOURCE_DIR ""  // parse_driver.hpp's corpus helpers are not used here
#endif
#include "../parse_driver.hpp"
#include "fuzz_support.hpp"
#include "limits.hpp"

#include <vector>

namespace fuzz_parser_split {

using namespace porthole;

inline void same_requests(test_support::outcome const& whole, test_support::outcome const& split) {
    FUZZ_CHECK(whole.requests.size() == split.requests.size());
    for (std::size_t i = 0; i < whole.requests.size(); ++i) {
        auto const& a = whole.requests[i];
        auto const& b = split.requests[i];
        FUZZ_CHECK(a.method == b.method);
        FUZZ_CHECK(a.target == b.target);
        FUZZ_CHECK(a.minor == b.minor);
        FUZZ_CHECK(a.headers == b.headers);
        FUZZ_CHECK(a.body == b.body);
        FUZZ_CHECK(a.framing == b.framing);
        FUZZ_CHECK(a.keep_alive == b.keep_alive);
        FUZZ_CHECK(a.expect_continue == b.expect_continue);
    }
}

inline void same_outcome(test_support::outcome const& whole, test_support::outcome const& split) {
    same_requests(whole, split);
    FUZZ_CHECK(whole.error == split.error);
    FUZZ_CHECK(whole.pending_head == split.pending_head);
    FUZZ_CHECK(whole.pending_expect_continue == split.pending_expect_continue);
    FUZZ_CHECK(whole.leftover == split.leftover);
    FUZZ_CHECK(whole.named == split.named);  // what the access log names, however the bytes came
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    auto control = in.byte();
    auto limits = fuzz_support::limits_from(control & 3);
    std::size_t cut_count = (control >> 2) & 7;
    bool wide = (control & 0x20) != 0;
    std::vector<std::size_t> distances;
    for (std::size_t i = 0; i < cut_count; ++i) distances.push_back(wide ? in.u16() : in.byte());
    auto message = in.rest();

    std::vector<std::size_t> cuts;
    if ((control & 0x40) && message.size() <= 2048) {
        for (std::size_t i = 1; i < message.size(); ++i) cuts.push_back(i);
    } else {
        std::size_t at = 0;
        for (auto d : distances) {
            at = std::min(at + d, message.size());
            cuts.push_back(at);
        }
    }

    auto whole = test_support::run(message, limits);
    auto split = test_support::run(message, cuts, limits);
    if (whole.error != split.error && split.error == parse_error::none && split.leftover > 0 && !split.pending_head) {
        // The one difference allowed: fed in pieces, the parser looks at a head line again only
        // once its LF (or a limit) arrives, so an error inside an unterminated line is reported
        // whole but not yet in pieces. Ending the line must give the whole parse's verdict.
        same_requests(whole, split);
        std::string ended(message);
        ended += "\r\n";
        whole = test_support::run(ended, limits);
        split = test_support::run(ended, cuts, limits);
    }
    same_outcome(whole, split);
}

}  // namespace fuzz_parser_split

PORTHOLE_FUZZ_ENTRY(fuzz_parser_split)
