// Content codings and Accept-Encoding negotiation (encoding.hpp, RFC 9110 8.4 and 12.5.3), and
// which media types are worth compressing. No compression library is needed for any of it.
#include <porthole/encoding.hpp>

#include <doctest/doctest.h>

#include <string_view>
#include <vector>

using namespace porthole;

namespace {

std::vector<header_field> accept(std::string_view value) { return {{"Accept-Encoding", value}}; }
content_coding chosen(std::string_view value, coding_set offer = {true, true, true}) {
    auto f = accept(value);
    return choose_encoding(f, offer).coding;
}

}  // namespace

TEST_CASE("Accept-Encoding: q-values, ties, '*', x-gzip, and what is on offer") {
    CHECK(chosen("gzip, deflate, br") == content_coding::br);  // a tie: br first
    CHECK(chosen("deflate, gzip") == content_coding::gzip);
    CHECK(chosen("gzip;q=0.5, deflate;q=0.8") == content_coding::deflate);
    CHECK(chosen("br;q=0.1, gzip;q=1.0") == content_coding::gzip);
    CHECK(chosen("x-gzip") == content_coding::gzip);
    CHECK(chosen("*") == content_coding::br);
    CHECK(chosen("*;q=0.5, br;q=0") == content_coding::gzip);
    CHECK(chosen("compress, zstd") == content_coding::identity);
    CHECK(chosen("") == content_coding::identity);
    CHECK(chosen("gzip;q=0") == content_coding::identity);
    CHECK(chosen("GZIP ; Q=0.7") == content_coding::gzip);
    CHECK(chosen("gzip;q=1.5, deflate") == content_coding::deflate);  // a malformed qvalue counts for nothing
    CHECK(chosen("gzip;q=0.0001, deflate;q=0.5") == content_coding::deflate);
    CHECK(chosen("gzip;q=0.5, identity") == content_coding::identity);  // identity preferred, and listed
    CHECK(chosen("br, gzip", {false, true, true}) == content_coding::gzip);
    CHECK(chosen("br", {false, true, true}) == content_coding::identity);
    // Listed twice: the lower weight, so a "not acceptable" anywhere stands.
    CHECK(chosen("gzip;q=0, gzip") == content_coding::identity);
    CHECK(chosen("gzip;q=0.9, deflate;q=0.5, x-gzip;q=0.1") == content_coding::deflate);
    CHECK(chosen("br;q=0, *") == content_coding::gzip);
    std::vector<header_field> none;
    CHECK(choose_encoding(none, {true, true, true}).coding == content_coding::identity);
    CHECK(choose_encoding(none, {true, true, true}).identity_acceptable);
    std::vector<header_field> two{{"Accept-Encoding", "deflate;q=0.2"}, {"accept-encoding", "gzip;q=0.3"}};
    CHECK(choose_encoding(two, {true, true, true}).coding == content_coding::gzip);
    auto f = accept("gzip, identity;q=0");
    CHECK_FALSE(choose_encoding(f, {}).identity_acceptable);
    f = accept("*;q=0");
    CHECK_FALSE(choose_encoding(f, {}).identity_acceptable);
    f = accept("*;q=0, identity;q=0.1");
    CHECK(choose_encoding(f, {}).identity_acceptable);
}

TEST_CASE("which media types are compressed") {
    for (auto t : {"text/html; charset=utf-8", "text/plain", "application/json", "application/ld+json",
                   "text/javascript; charset=utf-8", "application/xml", "image/svg+xml; charset=utf-8",
                   "application/wasm", "application/atom+xml"})
        CHECK(is_compressible_type(t));
    for (auto t : {"image/png", "image/jpeg", "video/mp4", "application/zip", "application/gzip", "font/woff2",
                   "application/octet-stream", "text/event-stream", ""})
        CHECK_FALSE(is_compressible_type(t));
}

TEST_CASE("each coding's token, and what a coding_set contains") {
    CHECK(to_string(content_coding::identity) == "identity");
    CHECK(to_string(content_coding::br) == "br");
    CHECK(to_string(content_coding::gzip) == "gzip");
    CHECK(to_string(content_coding::deflate) == "deflate");
    constexpr coding_set gzip_only{.gzip = true};
    static_assert(gzip_only.contains(content_coding::gzip));
    static_assert(!gzip_only.contains(content_coding::br));
    static_assert(!gzip_only.contains(content_coding::deflate));
    static_assert(!gzip_only.contains(content_coding::identity));  // always possible, never "offered"
    static_assert(coding_set{.deflate = true}.contains(content_coding::deflate));
}

TEST_CASE("qvalues: 0 to 1 with at most three decimals, in thousandths") {
    CHECK(detail::parse_qvalue("1") == 1000);
    CHECK(detail::parse_qvalue("1.") == 1000);
    CHECK(detail::parse_qvalue("1.000") == 1000);
    CHECK(detail::parse_qvalue("0") == 0);
    CHECK(detail::parse_qvalue("0.5") == 500);
    CHECK(detail::parse_qvalue("0.05") == 50);
    CHECK(detail::parse_qvalue("0.123") == 123);
    for (std::string_view bad : {"", "1.001", "1.5", "2", "0.1234", ".5", "0,5", "-0", "0.a", "q"}) {
        CAPTURE(bad);
        CHECK(detail::parse_qvalue(bad) == -1);
    }
}

TEST_CASE("Accept-Encoding: weights and ties decide, identity only when it is preferred") {
    CHECK(chosen("deflate;q=0.9, gzip;q=0.9, br;q=0.9") == content_coding::br);  // a tie at any weight: br first
    CHECK(chosen("deflate, gzip;q=0.999") == content_coding::deflate);
    CHECK(chosen("gzip;q=0.5, identity;q=0.5") == content_coding::gzip);  // identity must weigh more, not as much
    CHECK(chosen("gzip;q=0.5, identity;q=0.6") == content_coding::identity);
    CHECK(chosen("gzip, gzip;q=0") == content_coding::identity);  // the lowest weight a coding is listed with counts
    CHECK(chosen("gzip;q=0, *") == content_coding::br);           // "*" stands for codings not listed only
    CHECK(chosen("*", {.gzip = true}) == content_coding::gzip);
    CHECK(chosen("gzip;level=9;q=0.4, deflate;q=0.3") == content_coding::gzip);  // other parameters are ignored
    CHECK(chosen("gzip;q, deflate;q=0.1") == content_coding::deflate);  // a parameter without '=' spoils its element
    CHECK(chosen(", ,gzip , ") == content_coding::gzip);                // empty list elements are nothing
    CHECK(chosen("gzip", {}) == content_coding::identity);              // nothing on offer
    // Without any coding acceptable, identity refused too: the choice says so.
    auto f = accept("br, identity;q=0");
    auto none_left = choose_encoding(f, {.gzip = true});
    CHECK(none_left.coding == content_coding::identity);
    CHECK_FALSE(none_left.identity_acceptable);
    // Other fields are not read.
    std::vector<header_field> other{{"TE", "gzip"}, {"Content-Encoding", "gzip"}};
    CHECK(choose_encoding(other, {true, true, true}).coding == content_coding::identity);
}

TEST_CASE("choose_encoding works at compile time") {
    constexpr header_field field[] = {{"Accept-Encoding", "gzip;q=0.5, deflate"}};
    static_assert(choose_encoding(field, {.gzip = true, .deflate = true}).coding == content_coding::deflate);
    static_assert(is_compressible_type("application/problem+json"));
}

TEST_CASE("media types worth compressing: parameters and case do not matter") {
    for (std::string_view t :
         {"TEXT/CSS", "text/plain ; charset=utf-8", "application/problem+json", "application/vnd.api+json",
          "application/javascript", "image/bmp", "font/ttf", "font/otf", "image/vnd.microsoft.icon",
          "application/x-www-form-urlencoded", "application/yaml", "text/xml"}) {
        CAPTURE(t);
        CHECK(is_compressible_type(t));
    }
    for (std::string_view t : {"text/event-stream; charset=utf-8", "TEXT/EVENT-STREAM", "font/woff", "image/webp",
                               "audio/ogg", "application/pdf", "application/jsonx", "multipart/form-data"}) {
        CAPTURE(t);
        CHECK_FALSE(is_compressible_type(t));
    }
}
