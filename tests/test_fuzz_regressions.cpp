// Every input saved under tests/fuzz/regressions/<target>/ (each one a crash or a failed check
// a fuzzer once found) goes again through that target's checks. Add a file there and it is
// replayed here; see docs/fuzzing.md.
#define PORTHOLE_FUZZ_REPLAY
#include "fuzz/fuzz_chunked.cpp"
#include "fuzz/fuzz_connection.cpp"
#include "fuzz/fuzz_cookie_form_multipart.cpp"
#include "fuzz/fuzz_parser.cpp"
#include "fuzz/fuzz_parser_split.cpp"
#include "fuzz/fuzz_router.cpp"
#include "fuzz/fuzz_template.cpp"
#include "fuzz/fuzz_url.cpp"
#include "fuzz/fuzz_websocket.cpp"
#if defined(PORTHOLE_WITH_ZLIB) && defined(PORTHOLE_WITH_BROTLI) && __has_include(<brotli/decode.h>)
#include "fuzz/fuzz_kit.cpp"
#define PORTHOLE_REPLAY_KIT 1
#endif

#include <doctest/doctest.h>

#include <porthole/testing.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace {

using one_input_fn = void (*)(std::uint8_t const*, std::size_t);

// The saved inputs of one target, in name order; none is fine.
std::vector<std::filesystem::path> saved_inputs(std::string const& target) {
    std::filesystem::path dir = std::filesystem::path(PORTHOLE_SOURCE_DIR) / "tests" / "fuzz" / "regressions" / target;
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(dir))
        for (auto const& e : std::filesystem::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::size_t replay(std::string const& target, one_input_fn one_input) {
    auto files = saved_inputs(target);
    for (auto const& f : files) {
        CAPTURE(f.string());
        std::ifstream in(f, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK_NOTHROW(one_input(reinterpret_cast<std::uint8_t const*>(bytes.data()), bytes.size()));
    }
    return files.size();
}

}  // namespace

TEST_CASE("fuzz regressions: saved parser inputs pass the parser's invariants") {
    replay("fuzz_parser", fuzz_parser::one_input);
}
TEST_CASE("fuzz regressions: saved split inputs parse the same whole and in pieces") {
    replay("fuzz_parser_split", fuzz_parser_split::one_input);
}
TEST_CASE("fuzz regressions: saved chunked inputs decode the same whole and in pieces") {
    replay("fuzz_chunked", fuzz_chunked::one_input);
}
TEST_CASE("fuzz regressions: saved connection inputs give well-framed responses") {
    CHECK(replay("fuzz_connection", fuzz_connection::one_input) >= 2);
}
TEST_CASE("fuzz regressions: saved url inputs keep the url round trips") { replay("fuzz_url", fuzz_url::one_input); }
TEST_CASE("fuzz regressions: saved cookie, multipart and date inputs keep their invariants") {
    replay("fuzz_cookie_form_multipart", fuzz_cookie_form_multipart::one_input);
}
TEST_CASE("fuzz regressions: saved template inputs render consistently") {
    replay("fuzz_template", fuzz_template::one_input);
}
TEST_CASE("fuzz regressions: saved router inputs dispatch as the reference does") {
    replay("fuzz_router", fuzz_router::one_input);
}
TEST_CASE("fuzz regressions: saved WebSocket inputs give the same events whole and in pieces") {
    replay("fuzz_websocket", fuzz_websocket::one_input);
}

// The rules behind the saved inputs above, stated so that they fail without a sanitizer too.

TEST_CASE("fuzz regressions: empty lines before the request line count toward its limit") {
    std::string input;
    for (int i = 0; i < 40; ++i) input += "\r\n";
    input += "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    auto limits = fuzz_support::small_limits();  // 64-byte request line
    porthole::basic_request_parser<> parser(limits);
    CHECK(parser.parse(input) == porthole::parse_status::error);
    CHECK(parser.error() == porthole::parse_error::too_many_empty_lines);
    // Only empty lines so far, more than the limit: refused without reading past them.
    std::string lines(200, '\n');
    limits.allow_bare_lf = true;
    porthole::basic_request_parser<> bare(limits);
    CHECK(bare.parse(lines) == porthole::parse_status::error);
    CHECK(bare.error() == porthole::parse_error::too_many_empty_lines);
}

TEST_CASE("fuzz regressions: a streamed response keeps its last chunk when the connection closes after it") {
    auto app = [](porthole::request const&) {
        auto left = std::make_shared<int>(2);
        return porthole::response::stream([left]() -> std::optional<std::string> {
            if ((*left)-- == 0) return std::nullopt;
            return std::string("piece");
        });
    };
    porthole::testing::client<decltype(app)> c(app);
    c.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    CHECK(c.output().ends_with("5\r\npiece\r\n5\r\npiece\r\n0\r\n\r\n"));
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].complete);
    CHECK(rs[0].body == "piecepiece");
    CHECK(c.closed());
}

TEST_CASE("fuzz regressions: an RFC 850 date read against an extreme now does not overflow") {
    auto min = std::numeric_limits<std::time_t>::min(), max = std::numeric_limits<std::time_t>::max();
    auto early = porthole::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", min);
    auto late = porthole::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", max);
    REQUIRE(early.has_value());
    REQUIRE(late.has_value());
    // A now beyond years 0000-9999 is taken at their edge: "94" is then read within 49 years
    // before year 0 to 50 after it (year -6), or within 9950-10049 (9994).
    auto seconds = 8 * 3600 + 49 * 60 + 37;
    CHECK(*early == porthole::detail::days_from_civil(-6, 11, 6) * 86400 + seconds);
    CHECK(porthole::format_http_date(*late) == "Sun, 06 Nov 9994 08:49:37 GMT");
}

TEST_CASE("fuzz regressions: an unsupported expectation gets 417 whether or not the body came with the head") {
    auto app = [](porthole::request const&) { return "ok"; };
    std::string head = "BREW /pot HTTP/1.1\r\nHost: a\r\nExpect: tea\r\nContent-Length: 3\r\n\r\n";
    std::string input = head + "abcGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    porthole::testing::client<decltype(app)> whole(app), split(app);
    whole.send(input);
    split.send_split(input, {head.size()});
    for (auto* c : {&whole, &split}) {
        auto rs = c->responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == 417);
        CHECK(c->closed());
    }
}
#if defined(PORTHOLE_REPLAY_KIT)
TEST_CASE("fuzz regressions: saved kit inputs pass the layers' checks") { replay("fuzz_kit", fuzz_kit::one_input); }
#endif
