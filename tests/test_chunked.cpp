// The chunked transfer coding's rules (RFC 9112 7.1), checked through request_parser, which
// decodes every chunked body with chunked_decoder.
#include "parse_driver.hpp"

#include <porthole/chunked.hpp>
#include <porthole/parser.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace porthole;
using test_support::run;
using E = parse_error;

namespace {

E error_of(std::string const& raw, parser_limits const& limits = {}) { return run(raw, limits).error; }

}  // namespace

TEST_CASE("rule: chunk sizes are hex and overflow-safe") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(error_of(pre + "10000000000000005\r\nhello\r\n0\r\n\r\n") == E::chunk_size_overflow);
    CHECK(error_of(pre + "0x5\r\nhello\r\n0\r\n\r\n") == E::invalid_chunk_size);
    CHECK(error_of(pre + "\r\nhello\r\n0\r\n\r\n") == E::invalid_chunk_size);
    CHECK(error_of(pre + "-5\r\nhello\r\n0\r\n\r\n") == E::invalid_chunk_size);
    CHECK(run(pre + "00005\r\nhello\r\n0\r\n\r\n").requests.at(0).body == "hello");
}

TEST_CASE("rule: nothing but CRLF or ;ext after the chunk size") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(error_of(pre + "5 \r\nhello\r\n0\r\n\r\n") == E::invalid_chunk_size);
    CHECK(error_of(pre + "5z\r\nhello\r\n0\r\n\r\n") == E::invalid_chunk_size);
    CHECK(run(pre + "5 ;x\r\nhello\r\n0\r\n\r\n").requests.at(0).body == "hello");  // BWS before ';'
}

TEST_CASE("rule: chunk extensions follow their grammar (RFC 9112 7.1.1)") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    auto with_ext = [&](std::string const& ext) { return pre + "5" + ext + "\r\nhello\r\n0\r\n\r\n"; };
    for (auto ok : {";a", ";a=b", ";a=\"\"", ";a=\"q \\\" \\\\ \\z\\\t\"", " ; a = b ;c\t;\td=\"x\"", ";a=b;c=d;e",
                    ";name=\"caf\xc3\xa9\"", ";!#$%&'*+-.^_`|~=1"}) {
        CAPTURE(ok);
        CHECK(run(with_ext(ok)).requests.at(0).body == "hello");
    }
    struct bad_case {
        char const* ext;
        E error;
    };
    for (bad_case c : {
             bad_case{";", E::invalid_chunk_extension_name},  // a bare ';'
             bad_case{";;a", E::invalid_chunk_extension_name},
             bad_case{"; =b", E::invalid_chunk_extension_name},
             bad_case{";a=b;", E::invalid_chunk_extension_name},
             bad_case{";(a)", E::invalid_chunk_extension_name},
             bad_case{";\xc3\xa9", E::invalid_chunk_extension_name},
             bad_case{";a=", E::invalid_chunk_extension_value},
             bad_case{";a= ", E::invalid_chunk_extension_value},
             bad_case{";a=b c", E::invalid_chunk_extension},  // one value, then junk
             bad_case{";a=(b)", E::invalid_chunk_extension_value},
             bad_case{";a=\"b", E::unterminated_quoted_string},  // opened, never closed
             bad_case{";a=\"b\\", E::unterminated_quoted_string},
             bad_case{";a=\"b\"c", E::invalid_chunk_extension},
             bad_case{";a=\"b\x01\"", E::invalid_quoted_string},
             bad_case{";a=\"b\x7f\"", E::invalid_quoted_string},
             bad_case{";a=\"b\\\x01\"", E::invalid_quoted_string},
             bad_case{";a ", E::invalid_chunk_extension},  // BWS only before ';' or '='
             bad_case{";a=b\t", E::invalid_chunk_extension},
             bad_case{";a\x01"
                      "b",
                      E::invalid_chunk_extension},
             bad_case{"x;a", E::invalid_chunk_size},
         }) {
        // Named copies: clang 14 cannot capture structured bindings in CAPTURE's lambda.
        char const* ext = c.ext;
        E error = c.error;
        CAPTURE(ext);
        CHECK(error_of(with_ext(ext)) == error);
        CHECK(error_status(error) == status::bad_request);
    }
}

TEST_CASE("regression: a quoted extension left open is refused, not read to the next CRLF") {
    // A front end that keeps reading inside the quotes frames this differently: the trailing
    // GET must never become a second request.
    auto raw =
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1;ext=\"val\r\nX\r\n0\r\n\r\nGET /count HTTP/1.1\r\nHost: a\r\n\r\n";
    auto o = run(raw);
    CHECK(o.error == E::unterminated_quoted_string);
    CHECK(o.requests.empty());
    for (std::size_t cut = 1; cut < std::strlen(raw); ++cut) {
        CAPTURE(cut);
        CHECK(run(raw, std::vector<std::size_t>{cut}) == o);
    }
}

TEST_CASE("rule: bare LF and bare CR in chunk framing are rejected") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(error_of(pre + "5\nhello\r\n0\r\n\r\n") == E::bare_lf);
    CHECK(error_of(pre + "5;a\rb\r\nhello\r\n0\r\n\r\n") == E::bare_cr);
    CHECK(error_of(pre + "5;a\x01"
                         "b\r\nhello\r\n0\r\n\r\n") == E::invalid_chunk_extension);
    CHECK(error_of(pre + "5\r\nhello\n0\r\n\r\n") == E::missing_chunk_data_crlf);
    CHECK(error_of(pre + "5\r\nhello\r\n0\r\n\n") == E::bare_lf);
}

TEST_CASE("rule: chunk extensions are bounded") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    parser_limits limits;
    limits.max_chunk_extension = 32;
    CHECK(error_of(pre + "5;" + std::string(40, 'x') + "\r\nhello\r\n0\r\n\r\n", limits) ==
          E::chunk_extension_too_long);
    CHECK(run(pre + "5;" + std::string(20, 'x') + "\r\nhello\r\n0\r\n\r\n", limits).requests.size() == 1);
    CHECK(run(pre + "5;" + std::string(31, 'x') + "\r\nhello\r\n0\r\n\r\n", limits).requests.size() == 1);
    CHECK(error_of(pre + "5;" + std::string(32, 'x') + "\r\nhello\r\n0\r\n\r\n", limits) ==
          E::chunk_extension_too_long);
    // an endless size line is refused, not buffered
    CHECK(error_of(pre + "5;" + std::string(5000, 'x'), limits) == E::chunk_extension_too_long);
    CHECK(error_of(pre + std::string(5000, '0'), limits) == E::invalid_chunk_size);
    // size and BWS take at most 64 bytes: leading zeros beyond are refused
    CHECK(run(pre + std::string(63, '0') + "5\r\nhello\r\n0\r\n\r\n").requests.at(0).body == "hello");
    CHECK(error_of(pre + std::string(64, '0') + "5\r\nhello\r\n0\r\n\r\n") == E::invalid_chunk_size);
}

TEST_CASE("rule: chunk framing out of proportion to its data is 400") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    // 1-byte chunks each carrying a 1000-byte extension: refused after about 16 of them.
    std::string body;
    for (int i = 0; i < 40000; ++i) body += "1;" + std::string(1000, 'x') + "\r\nA\r\n";
    auto o = run(pre + body + "0\r\n\r\n");
    CHECK(o.error == E::chunk_overhead_too_large);
    CHECK(error_status(E::chunk_overhead_too_large) == status::bad_request);
    // Plain 1-byte chunks, and extensions as large as the data they come with, are fine.
    std::string small, proportionate;
    for (int i = 0; i < 20000; ++i) small += "1\r\nA\r\n";
    for (int i = 0; i < 200; ++i)
        proportionate += "3e8;" + std::string(990, 'x') + "\r\n" + std::string(1000, 'B') + "\r\n";
    CHECK(run(pre + small + "0\r\n\r\n").requests.at(0).body.size() == 20000);
    CHECK(run(pre + proportionate + "0\r\n\r\n").requests.at(0).body.size() == 200000);
    // Data pays back earlier excess: bursts of heavy framing between data are fine.
    parser_limits limits;
    limits.max_chunk_overhead = 4096;
    std::string bursts;
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 3; ++i) bursts += "1;" + std::string(1000, 'x') + "\r\nA\r\n";
        bursts += "1000\r\n" + std::string(4096, 'B') + "\r\n";
    }
    CHECK(run(pre + bursts + "0\r\n\r\n", limits).requests.at(0).body.size() == 50 * (3 + 4096));
    std::string no_payback;
    for (int i = 0; i < 6; ++i) no_payback += "1;" + std::string(1000, 'x') + "\r\nA\r\n";
    CHECK(error_of(pre + no_payback + "0\r\n\r\n", limits) == E::chunk_overhead_too_large);
}

TEST_CASE("rule: the CRLF after each chunk's data is checked") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(error_of(pre + "3\r\nhello\r\n0\r\n\r\n") == E::missing_chunk_data_crlf);
}

TEST_CASE("rule: trailers are parsed and bounded") {
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(run(pre + "0\r\nA: 1\r\nB: 2\r\n\r\n").requests.size() == 1);
    // The trailer section has the header section's field grammar, with the same errors.
    CHECK(error_of(pre + "0\r\nnot a trailer\r\n\r\n") == E::whitespace_before_colon);
    CHECK(error_of(pre + "0\r\nNoColon\r\n\r\n") == E::missing_colon);
    CHECK(error_of(pre + "0\r\n: v\r\n\r\n") == E::empty_header_name);
    CHECK(error_of(pre + "0\r\nBad(Name: v\r\n\r\n") == E::invalid_header_name);
    CHECK(error_of(pre + "0\r\nA: \x01\r\n\r\n") == E::invalid_header_value);
    CHECK(error_of(pre + "0\r\nA: 1\r\n folded\r\n\r\n") == E::obs_fold);
    CHECK(error_of(pre + "0\r\nA: 1\r\n\n") == E::bare_lf);
    CHECK(error_of(pre + "0\r\nA: 1\rB: 2\r\n\r\n") == E::bare_cr);
    parser_limits limits;
    limits.max_trailer_bytes = 64;
    CHECK(error_of(pre + "0\r\nA: " + std::string(100, 'x') + "\r\n\r\n", limits) == E::trailers_too_large);
    CHECK(error_status(E::trailers_too_large) == status::request_header_fields_too_large);
}
