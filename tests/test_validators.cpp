// detail/validators.hpp: the entity-tag lists of If-Match / If-None-Match (RFC 9110 13.1) and
// the single byte range (RFC 9110 14.1) static_files reads, and the hex its ETags are written in.
#include <porthole/detail/validators.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace porthole;
using detail::byte_range;

namespace {

std::vector<std::pair<std::string, bool>> tags_of(std::string_view v, bool* well_formed = nullptr) {
    std::vector<std::pair<std::string, bool>> out;
    bool ok = detail::for_each_entity_tag(v, [&](std::string_view tag, bool weak) {
        out.emplace_back(std::string(tag), weak);
        return false;
    });
    if (well_formed) *well_formed = ok;
    return out;
}

// One field line's list against `etag`.
bool list_matches(std::string_view value, std::string_view etag, bool strong) {
    header_field line[] = {{"If-Match", value}};
    return detail::etag_fields_match(line, "If-Match", etag, strong);
}

bool same(byte_range r, byte_range::kind_t kind, std::uint64_t first = 0, std::uint64_t last = 0) {
    return r.kind == kind && (kind != byte_range::satisfiable || (r.first == first && r.last == last));
}

}  // namespace

TEST_CASE("entity-tag lists parse quoted tags, W/ prefixes and commas inside tags") {
    CHECK(list_matches("\"a,b\"", "\"a,b\"", true));
    CHECK(list_matches(" \"x\" ,W/\"a\"", "\"a\"", false));
    CHECK(!list_matches(" \"x\" ,W/\"a\"", "\"a\"", true));  // a weak tag never matches strongly
    CHECK(!list_matches("\"a", "\"a\"", false));
    CHECK(!list_matches("a", "a", false));
    CHECK(list_matches(" * ", "\"q\"", true));
    CHECK(!list_matches("\"A\"", "\"a\"", false));  // opaque: compared byte for byte
    CHECK(!list_matches("", "\"a\"", false));
}

TEST_CASE("for_each_entity_tag: every tag in order, and whether the list is well formed") {
    bool ok = false;
    auto tags = tags_of("\"1\", W/\"2\",,\t\"3\"", &ok);
    CHECK(ok);
    REQUIRE(tags.size() == 3);
    CHECK(tags[0] == std::pair<std::string, bool>{"\"1\"", false});
    CHECK(tags[1] == std::pair<std::string, bool>{"\"2\"", true});
    CHECK(tags[2] == std::pair<std::string, bool>{"\"3\"", false});
    for (std::string_view bad : {"\"1\" \"2\"", "w/\"1\"", "\"1\", x", "\"open", "W/"}) {
        CAPTURE(bad);
        tags_of(bad, &ok);
        CHECK(!ok);
    }
    int seen = 0;  // true from the callback stops the walk
    CHECK(detail::for_each_entity_tag("\"1\", \"2\", \"3\"", [&](std::string_view, bool) { return ++seen == 2; }));
    CHECK(seen == 2);
}

TEST_CASE("etag_fields_match looks at every field line of the name, whatever its case") {
    header_field fields[] = {{"If-None-Match", "\"x\""}, {"Accept", "\"a\""}, {"if-none-match", "W/\"y\", \"a\""}};
    CHECK(detail::etag_fields_match(fields, "If-None-Match", "\"a\"", true));
    CHECK(detail::etag_fields_match(fields, "If-None-Match", "\"y\"", false));
    CHECK(!detail::etag_fields_match(fields, "If-None-Match", "\"y\"", true));
    CHECK(!detail::etag_fields_match(fields, "If-Match", "\"a\"", false));
}

TEST_CASE("etag_fields_match: the lines are one list; a fault on any spoils it, and \"*\" stands alone") {
    // Each line was judged alone: "nope" then "\"E\"" matched, where "nope, \"E\"" does not.
    header_field split[] = {{"If-Match", "nope"}, {"If-Match", "\"E\""}};
    CHECK(!detail::etag_fields_match(split, "If-Match", "\"E\"", true));
    header_field after[] = {{"If-Match", "\"E\""}, {"If-Match", "W/"}};
    CHECK(!detail::etag_fields_match(after, "If-Match", "\"E\"", true));
    header_field star[] = {{"If-None-Match", " * "}};
    CHECK(detail::etag_fields_match(star, "If-None-Match", "\"E\"", false));
    header_field star_and_tag[] = {{"If-None-Match", "*"}, {"If-None-Match", "\"x\""}};
    CHECK(!detail::etag_fields_match(star_and_tag, "If-None-Match", "\"E\"", false));
    header_field empty_line[] = {{"If-None-Match", ""}, {"If-None-Match", "\"E\""}};
    CHECK(detail::etag_fields_match(empty_line, "If-None-Match", "\"E\"", false));
}

TEST_CASE("range numbers: digits only, saturating past 2^64 - 1") {
    CHECK(detail::parse_range_number("0") == 0u);
    CHECK(detail::parse_range_number("0012") == 12u);
    CHECK(detail::parse_range_number("99999999999999999999999") == UINT64_MAX);
    for (std::string_view bad : {"", "-1", "+1", "1a", " 1"}) {
        CAPTURE(bad);
        CHECK(!detail::parse_range_number(bad));
    }
}

TEST_CASE("a byte range against a 10000-byte representation: RFC 9110 14.1.2's examples and the edges") {
    constexpr std::uint64_t size = 10000;
    using k = byte_range;
    CHECK(same(detail::parse_byte_range("bytes=0-499", size), k::satisfiable, 0, 499));
    CHECK(same(detail::parse_byte_range("bytes=500-999", size), k::satisfiable, 500, 999));
    CHECK(same(detail::parse_byte_range("bytes=-500", size), k::satisfiable, 9500, 9999));
    CHECK(same(detail::parse_byte_range("bytes=9500-", size), k::satisfiable, 9500, 9999));
    CHECK(same(detail::parse_byte_range(" Bytes = 1 - 2 ", size), k::none));  // no space before '='
    CHECK(same(detail::parse_byte_range("BYTES=1- 2", size), k::satisfiable, 1, 2));
    CHECK(same(detail::parse_byte_range("bytes=0-99999999999999999999", size), k::satisfiable, 0, 9999));
    CHECK(same(detail::parse_byte_range("bytes=-20000", size), k::satisfiable, 0, 9999));  // the whole of it
    CHECK(same(detail::parse_byte_range("bytes=10000-", size), k::unsatisfiable));
    CHECK(same(detail::parse_byte_range("bytes=-0", size), k::unsatisfiable));
    // A suffix of an empty representation is satisfiable (14.1.1), yet no range of it can be
    // sent: answered whole. A first position is not (0 is not less than the length 0).
    CHECK(same(detail::parse_byte_range("bytes=-5", 0), k::none));
    CHECK(same(detail::parse_byte_range("bytes=0-", 0), k::unsatisfiable));
    // Answered whole: another unit, bad syntax, a range backwards, or several ranges.
    for (std::string_view whole :
         {"items=0-1", "bytes=5-3", "bytes=abc", "bytes=1-2-3", "bytes=", "bytes=0-0,-1", "bytes=-", "bytes 0-1",
          // backwards past 2^64 too, where both numbers saturate: compared as written
          "bytes=99999999999999999999-99999999999999999998", "bytes=100000000000000000000-99999999999999999999",
          "bytes=18446744073709551616-18446744073709551615", "bytes=0018-17"}) {
        CAPTURE(whole);
        CHECK(same(detail::parse_byte_range(whole, size), k::none));
    }
    // Forwards past 2^64: from beyond the end, unsatisfiable.
    CHECK(same(detail::parse_byte_range("bytes=99999999999999999998-99999999999999999999", size), k::unsatisfiable));
    CHECK(same(detail::parse_byte_range("bytes=99999999999999999999-099999999999999999999", size), k::unsatisfiable));
    CHECK(same(detail::parse_byte_range("bytes=0007-07", size), k::satisfiable, 7, 7));
}

TEST_CASE("append_hex writes lowercase hex without leading zeros") {
    std::string out = "x";
    detail::append_hex(out, 0);
    detail::append_hex(out, 255);
    detail::append_hex(out, UINT64_MAX);
    CHECK(out == "x0ffffffffffffffffff");
}
