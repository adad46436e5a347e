#include "parse_driver.hpp"

#include <porthole/parser.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <optional>
#include <string>

using namespace porthole;
using test_support::run;
using E = parse_error;

namespace {

E error_of(std::string const& raw, parser_limits const& limits = {}) { return run(raw, limits).error; }

std::string req(std::string const& head_lines, std::string const& body = {}) { return head_lines + "\r\n" + body; }

test_support::parsed_request only_request(std::string const& raw, parser_limits const& limits = {}) {
    auto o = run(raw, limits);
    REQUIRE(o.error == E::none);
    REQUIRE(o.requests.size() == 1);
    return o.requests[0];
}

}  // namespace

TEST_CASE("a simple GET parses into views of the buffer") {
    std::string raw = "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */* \r\n\r\n";
    basic_request_parser<16> p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    auto const& h = p.head();
    CHECK(h.method == method::get);
    CHECK(h.target == "/index.html?x=1");
    CHECK(h.version == http_1_1);
    CHECK(h.host == "example.com");
    CHECK(h.header("accept") == "*/*");
    CHECK(h.keep_alive);
    CHECK(p.body().empty());
    CHECK(p.consumed() == raw.size());
    // zero-copy: the views point into the caller's buffer
    CHECK(h.target.data() == raw.data() + 4);
    CHECK(h.headers[0].value.data() >= raw.data());
    CHECK(h.headers[0].value.data() < raw.data() + raw.size());
}

TEST_CASE("a head's header() is nullopt when absent, an empty view when sent empty") {
    std::string raw = "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Id: 7\r\n\r\n";
    basic_request_parser<16> p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    auto const& h = p.head();
    CHECK(h.header("x-empty") == "");
    CHECK(h.header("X-EMPTY").has_value());
    CHECK(h.header("x-id") == "7");
    CHECK(h.header("X-Missing") == std::nullopt);
}

// ---------------------------------------------------------------- request line

TEST_CASE("rule: the method is a case-sensitive token") {
    CHECK(only_request(req("PATCH / HTTP/1.1\r\nHost: a\r\n")).method == "PATCH");
    auto r = only_request(req("get / HTTP/1.1\r\nHost: a\r\n"));
    CHECK(r.method == "get");  // a valid token, but not GET
    basic_request_parser<8> p;
    std::string raw = req("get / HTTP/1.1\r\nHost: a\r\n");
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().method == method::other);
    CHECK(error_of(req("GE(T / HTTP/1.1\r\nHost: a\r\n")) == E::invalid_method);
    CHECK(error_of(req(" GET / HTTP/1.1\r\nHost: a\r\n")) == E::invalid_method);
    CHECK(error_of(req("GET\t/ HTTP/1.1\r\nHost: a\r\n")) == E::invalid_method);
}

TEST_CASE("rule: origin-form targets start with a slash and carry no fragment or controls") {
    CHECK(only_request(req("GET /a/b?c=d&e HTTP/1.1\r\nHost: a\r\n")).target == "/a/b?c=d&e");
    CHECK(error_of(req("GET /a#frag HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_of(req("GET /a\x01 HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_of(req("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_of(req("GET  / HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_of(req("GET a/b HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_of(req("GET /a b HTTP/1.1\r\nHost: a\r\n")) == E::invalid_version);
}

TEST_CASE("rule: a backslash in the path is 400; in the query it is data") {
    CHECK(error_of(req("GET /a\\b HTTP/1.1\r\nHost: a\r\n")) == E::backslash_in_path);
    CHECK(error_of(req("GET /\\evil.example/ HTTP/1.1\r\nHost: a\r\n")) == E::backslash_in_path);
    CHECK(error_of(req("GET /..\\..\\secret HTTP/1.1\r\nHost: a\r\n")) == E::backslash_in_path);
    CHECK(error_of(req("GET http://h/a\\b HTTP/1.1\r\nHost: a\r\n")) == E::backslash_in_path);
    CHECK(error_of(req("GET http://h\\@evil/ HTTP/1.1\r\nHost: a\r\n")) == E::backslash_in_path);
    CHECK(error_status(E::backslash_in_path) == status::bad_request);
    CHECK(only_request(req("GET /a?b=c\\d HTTP/1.1\r\nHost: a\r\n")).target == "/a?b=c\\d");
    CHECK(only_request(req("GET /a%5Cb HTTP/1.1\r\nHost: a\r\n")).target == "/a%5Cb");  // encoded: data
    CHECK(error_of(req("GET /a?b#c HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
}

TEST_CASE("rule: absolute-form is accepted for any method") {
    basic_request_parser<8> p;
    std::string raw = req("GET http://example.com/x?y HTTP/1.1\r\nHost: other\r\n");
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().form == target_form::absolute);
    CHECK(p.head().target == "http://example.com/x?y");
    CHECK(error_of(req("GET 1http://x/ HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_of(req("GET http:/x HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1)
    CHECK(only_request(req("GET a1+b-c.d://h/ HTTP/1.1\r\nHost: a\r\n")).target == "a1+b-c.d://h/");
    for (auto bad : {"h_p://h/", "x/y://h/", "://h/", "-a://h/"}) {
        CAPTURE(bad);
        CHECK(error_of(req(std::string("GET ") + bad + " HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    }
    // the authority is a valid, non-empty host without userinfo
    for (auto bad : {"http:///x", "http://", "http://:80/x", "http://user@host/", "http://h<st/", "http://[]/"}) {
        CAPTURE(bad);
        CHECK(error_of(req(std::string("GET ") + bad + " HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    }
    CHECK(only_request(req("GET http://[::1]:8080?q HTTP/1.1\r\nHost: a\r\n")).target == "http://[::1]:8080?q");
}

TEST_CASE("rule: authority-form only with CONNECT") {
    basic_request_parser<8> p;
    std::string raw = req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n");
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().form == target_form::authority);
    CHECK(error_of(req("CONNECT /x HTTP/1.1\r\nHost: a\r\n")) == E::target_form_mismatch);
    CHECK(error_of(req("CONNECT example.com HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_of(req("GET example.com:443 HTTP/1.1\r\nHost: a\r\n")) == E::invalid_target);
}

TEST_CASE("rule: asterisk-form only with OPTIONS") {
    basic_request_parser<8> p;
    std::string raw = req("OPTIONS * HTTP/1.1\r\nHost: a\r\n");
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().form == target_form::asterisk);
    CHECK(error_of(req("GET * HTTP/1.1\r\nHost: a\r\n")) == E::target_form_mismatch);
}

TEST_CASE("rule: HTTP/1.0 and HTTP/1.1 are accepted, other well-formed majors get 505") {
    CHECK(only_request(req("GET / HTTP/1.0\r\n")).minor == 0);
    CHECK(only_request(req("GET / HTTP/1.1\r\nHost: a\r\n")).minor == 1);
    CHECK(error_of(req("GET / HTTP/2.0\r\nHost: a\r\n")) == E::unsupported_version);
    CHECK(error_of(req("GET / HTTP/0.9\r\nHost: a\r\n")) == E::unsupported_version);
    CHECK(error_status(E::unsupported_version) == status::http_version_not_supported);
}

TEST_CASE("rule: a higher minor version of HTTP/1 is read as HTTP/1.1 (RFC 9110 2.5)") {
    for (char const* v : {"1.2", "1.9"}) {
        INFO(v);
        std::string raw = req(std::string("GET / HTTP/") + v + "\r\nHost: a\r\n");
        basic_request_parser<8> p;
        REQUIRE(p.parse(raw) == parse_status::complete);
        CHECK(p.head().version == http_1_1);
        CHECK(p.head().keep_alive);  // as 1.1: open unless asked to close
        CHECK(error_of(req(std::string("GET / HTTP/") + v + "\r\n")) == E::missing_host);
    }
}

TEST_CASE("rule: malformed versions are 400") {
    CHECK(error_of(req("GET / HTTP/3\r\nHost: a\r\n")) == E::invalid_version);
    CHECK(error_of(req("GET / http/1.1\r\nHost: a\r\n")) == E::invalid_version);
    CHECK(error_of(req("GET / HTTP/1.1 \r\nHost: a\r\n")) == E::invalid_version);
    CHECK(error_of(req("GET / HTTP/1.10\r\nHost: a\r\n")) == E::invalid_version);
    CHECK(error_of(req("GET / HTTP/1.x\r\nHost: a\r\n")) == E::invalid_version);
    CHECK(error_of(req("GET /\r\nHost: a\r\n")) == E::invalid_target);
    CHECK(error_status(E::invalid_version) == status::bad_request);
}

TEST_CASE("rule: empty lines before the request line are ignored") {
    CHECK(only_request("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").target == "/");
}

// ---------------------------------------------------------------- line endings

TEST_CASE("rule: a bare CR anywhere is 400") {
    CHECK(error_of("GET / HTTP/1.1\rHost: a\r\n\r\n") == E::bare_cr);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") == E::bare_cr);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: y\r \r\n\r\n") == E::bare_cr);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n\rX") == E::bare_cr);
    CHECK(error_of("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n") == E::bare_cr);
}

TEST_CASE("rule: a bare LF as line end is rejected by default") {
    CHECK(error_of("GET / HTTP/1.1\nHost: a\r\n\r\n") == E::bare_lf);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\n\r\n") == E::bare_lf);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n\n") == E::bare_lf);
    parser_limits lenient;
    lenient.allow_bare_lf = true;
    auto r = only_request("GET / HTTP/1.1\nHost: a\nX: 1\n\n", lenient);
    CHECK(r.headers.size() == 2);
}

// ---------------------------------------------------------------- field lines

TEST_CASE("rule: header names are tokens") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nBad(Name: x\r\n")) == E::invalid_header_name);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nN\xc3\xa4me: x\r\n")) == E::invalid_header_name);
}

TEST_CASE("rule: whitespace between name and colon is 400") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nX-A : x\r\n")) == E::whitespace_before_colon);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost\t: a\r\n")) == E::whitespace_before_colon);
}

TEST_CASE("rule: an empty header name is 400") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n")) == E::empty_header_name);
}

TEST_CASE("rule: a field line without a colon is 400") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n")) == E::missing_colon);
}

TEST_CASE("rule: whitespace before the first header line is 400") {
    CHECK(error_of(req("GET / HTTP/1.1\r\n Host: a\r\n")) == E::whitespace_before_first_header);
    CHECK(error_of(req("GET / HTTP/1.1\r\n\tHost: a\r\n")) == E::whitespace_before_first_header);
}

TEST_CASE("rule: obs-fold is 400") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n")) == E::obs_fold);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n\ttwo\r\n")) == E::obs_fold);
}

TEST_CASE("rule: NUL and control characters other than HTAB in values are 400") {
    CHECK(error_of(req(std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n", 33))) == E::invalid_header_value);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"
                       "b\r\n")) == E::invalid_header_value);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f"
                       "b\r\n")) == E::invalid_header_value);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef\x0b"
                       "0123456789\r\n")) == E::invalid_header_value);
    auto r =
        only_request(req("GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\xff"
                         "c 0123456789abcdefgh\r\n"));
    CHECK(r.headers[1].second ==
          "a\tb\xff"
          "c 0123456789abcdefgh");
}

TEST_CASE("rule: OWS around field values is not part of the value") {
    auto r = only_request(req("GET / HTTP/1.1\r\nHost: a\r\nX: \t v a l \t \r\nY:\r\n"));
    CHECK(r.headers[1].second == "v a l");
    CHECK(r.headers[2].second == "");
}

TEST_CASE("rule: HTTP/1.1 needs exactly one Host") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nAccept: */*\r\n")) == E::missing_host);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n")) == E::multiple_host);
    CHECK(error_of(req("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n")) == E::multiple_host);
    CHECK(only_request(req("GET / HTTP/1.0\r\n")).minor == 0);  // optional in 1.0
}

TEST_CASE("rule: at most one Authorization, whatever the case of its name") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic YTpi\r\nauthorization: Basic Yzpk\r\n")) ==
          E::multiple_authorization);
    CHECK(error_status(E::multiple_authorization) == status::bad_request);
    CHECK(only_request(req("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n")).headers.size() == 2);
}

TEST_CASE("rule: at most one Content-Type, whatever the case of its name") {
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-type: text/plain\r\n")) ==
          E::multiple_content_type);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=A\r\n"
                       "X: y\r\ncontent-type: multipart/form-data; boundary=B\r\n")) == E::multiple_content_type);
    CHECK(error_status(E::multiple_content_type) == status::bad_request);
    auto r = only_request(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Types: x\r\n"));
    CHECK(r.headers[1].second == "text/plain");
}

TEST_CASE("rule: an empty Host is 400 unless the target brings its own authority") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost:\r\n")) == E::empty_host);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: \t \r\n")) == E::empty_host);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: :8080\r\n")) == E::empty_host);
    CHECK(error_of(req("GET / HTTP/1.0\r\nHost:\r\n")) == E::empty_host);  // optional in 1.0, not empty
    CHECK(error_of(req("OPTIONS * HTTP/1.1\r\nHost:\r\n")) == E::empty_host);
    CHECK(error_status(E::empty_host) == status::bad_request);
    // absolute-form carries the authority; Host is ignored and may be empty (RFC 9112 3.2.2)
    CHECK(only_request(req("GET http://example.com/ HTTP/1.1\r\nHost:\r\n")).target == "http://example.com/");
}

TEST_CASE("rule: an invalid Host value is 400") {
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: exa mple.com\r\n")) == E::invalid_host);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: example.com/path\r\n")) == E::invalid_host);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: user@example.com\r\n")) == E::invalid_host);
    CHECK(error_of(req("GET / HTTP/1.1\r\nHost: example.com:8x\r\n")) == E::invalid_host);
    CHECK(only_request(req("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n")).target == "/");
    CHECK(only_request(req("GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n")).target == "/");
}

// ---------------------------------------------------------------- body framing

TEST_CASE("rule: no Content-Length and no Transfer-Encoding means an empty body") {
    auto o = run(req("POST / HTTP/1.1\r\nHost: a\r\n") + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE(o.requests.size() == 2);
    CHECK(o.requests[0].body.empty());
    CHECK(o.requests[1].method == "GET");
}

TEST_CASE("rule: Content-Length frames the body") {
    auto o = run(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n", "helloGET"));
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].body == "hello");
    CHECK(o.leftover == 3);
}

TEST_CASE("rule: Content-Length is 1*DIGIT only") {
    for (auto v : {"-5", "+5", "5a", "1 0", "0x10", "", "5.0"}) {
        CAPTURE(v);
        CHECK(error_of(req(std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + v + "\r\n")) ==
              E::invalid_content_length);
    }
}

TEST_CASE("rule: Content-Length with a leading zero is 400") {
    for (auto v : {"005", "00", "01", "0, 00", "5, 05"}) {
        CAPTURE(v);
        CHECK(error_of(req(std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + v + "\r\n")) ==
              E::content_length_leading_zero);
    }
    CHECK(error_status(E::content_length_leading_zero) == status::bad_request);
    CHECK(only_request(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n")).body.empty());
    CHECK(only_request(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n", "0123456789")).body.size() == 10);
}

TEST_CASE("rule: Content-Length overflow is detected") {
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551621\r\n")) ==
          E::invalid_content_length);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n")) ==
          E::invalid_content_length);
}

TEST_CASE("rule: repeated identical Content-Length values collapse, differing ones are 400") {
    auto o = run(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n", "abc"));
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].body == "abc");
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n")) == E::conflicting_content_length);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n")) ==
          E::conflicting_content_length);
}

TEST_CASE("rule: a Content-Length list with an empty member is 400, not a list of identical values") {
    for (char const* v : {"3,", ",3", "3,,3", "3, ,3", "3 ,", ","}) {
        INFO(v);
        CHECK(error_of(req(std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + v + "\r\n", "abc")) ==
              E::invalid_content_length);
    }
    auto o = run(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 , 3,3\r\n", "abc"));
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].body == "abc");
}

TEST_CASE("rule: Transfer-Encoding with Content-Length is 400") {
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n",
                       "0\r\n\r\nG")) == E::content_length_with_transfer_encoding);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n")) ==
          E::content_length_with_transfer_encoding);
}

TEST_CASE("rule: Transfer-Encoding in an HTTP/1.0 request is 400") {
    CHECK(error_of(req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")) ==
          E::transfer_encoding_in_http10);
}

TEST_CASE("rule: Transfer-Encoding whose final coding is not chunked is 400") {
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n")) ==
          E::chunked_not_final);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n")) == E::chunked_not_final);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) ==
          E::chunked_not_final);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n")) ==
          E::invalid_transfer_encoding);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n")) == E::invalid_transfer_encoding);
}

TEST_CASE("rule: an unknown transfer coding is 501") {
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n")) ==
          E::unsupported_transfer_coding);
    CHECK(error_status(E::unsupported_transfer_coding) == status::not_implemented);
}

TEST_CASE("rule: chunked bodies are decoded, with case-insensitive coding names and OWS") {
    auto o = run(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tChunked \r\n",
                     "5\r\nhello\r\n1;a=b;c=\"d e\"\r\n \r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nGET"));
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0].body == "hello 0123456789");
    CHECK(o.requests[0].framing == body_framing::chunked);
    CHECK(o.leftover == 3);
}

TEST_CASE("discard_framing: an unfinished chunked body is held in about its decoded size") {
    std::string raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    auto head = raw.size();
    basic_request_parser<8> p;
    std::size_t largest = 0;
    for (int i = 0; i < 5000; ++i) {
        raw += "1;" + std::string(20, 'x') + "\r\n" + char('a' + i % 26) + "\r\n";
        REQUIRE(p.parse(raw) == parse_status::incomplete);
        raw.resize(p.discard_framing(raw.data(), raw.size()));
        largest = std::max(largest, raw.size());
    }
    CHECK(largest == head + 5000);  // the framing of 5000 chunks, about 130 KB, is gone
    raw += "2\r\n!!\r\n0\r\nT: 1\r\n\r\nGET";
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.body().size() == 5002);
    CHECK(p.body().substr(0, 3) == "abc");
    CHECK(p.body().substr(4998) == "gh!!");
    CHECK(raw.substr(p.consumed()) == "GET");
    // Nothing to drop outside a chunked body.
    std::string plain = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc";
    basic_request_parser<8> q;
    REQUIRE(q.parse(plain) == parse_status::incomplete);
    CHECK(q.discard_framing(plain.data(), plain.size()) == plain.size());
}

// ---------------------------------------------------------------- limits

TEST_CASE("rule: a request line over the limit is 414, refused before it is all buffered") {
    parser_limits limits;
    limits.max_request_line = 64;
    std::string raw = "GET /" + std::string(100, 'a');  // no line end yet
    CHECK(error_of(raw, limits) == E::request_line_too_long);
    CHECK(error_status(E::request_line_too_long) == status::uri_too_long);
    // a target that fills the line leaves no room for the version: still the target's fault
    CHECK(error_of("GET /" + std::string(55, 'a') + " HTTP/1.1\r\n", limits) == E::request_line_too_long);
    CHECK(only_request(req("GET /" + std::string(30, 'a') + " HTTP/1.1\r\nHost: a\r\n"), limits).target.size() == 31);
}

TEST_CASE("rule: a header section over the byte limit is 431, refused before it is all buffered") {
    parser_limits limits;
    limits.max_header_bytes = 100;
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(200, 'v'), limits) == E::headers_too_large);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n" + std::string(200, 'N'), limits) == E::headers_too_large);
}

TEST_CASE("rule: one field line over the line limit is 431") {
    parser_limits limits;
    limits.max_header_line = 50;
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n" + std::string(60, 'N') + ": v\r\n\r\n", limits) ==
          E::headers_too_large);
    CHECK(only_request("GET / HTTP/1.1\r\nHost: a\r\n" + std::string(40, 'N') + ": v\r\n\r\n", limits).headers.size() ==
          2);
}

TEST_CASE("rule: more header fields than the limit is 431") {
    parser_limits limits;
    limits.max_header_count = 5;
    std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 4; ++i) raw += "X: 1\r\n";
    CHECK(only_request(raw + "\r\n", limits).headers.size() == 5);
    CHECK(error_of(raw + "X: 1\r\n\r\n", limits) == E::too_many_headers);
}

TEST_CASE("rule: the caller's header capacity is a limit too") {
    std::array<header_field, 2> storage{};
    request_parser p(storage);
    std::string raw = req("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n");
    CHECK(p.parse(raw) == parse_status::error);
    CHECK(p.error() == E::too_many_headers);
}

TEST_CASE("rule: a body over the limit is 413, known from Content-Length before it arrives") {
    parser_limits limits;
    limits.max_body = 10;
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"), limits) == E::body_too_large);
    CHECK(error_of(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10737418240\r\n")) == E::body_too_large);
    auto pre = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(error_of(pre + "6\r\nhello \r\n6\r\n", limits) == E::body_too_large);
    CHECK(error_of(pre + "80000000\r\n") == E::body_too_large);  // 2 GiB: refused at once
}

TEST_CASE("a head parsed whole stays described when its body fails; a head that fails by its request line") {
    parser_limits limits;
    limits.max_body = 10;
    basic_request_parser<> p(limits);
    std::string big = req("POST /up?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n");
    CHECK(p.parse(big) == parse_status::error);
    CHECK_FALSE(p.head_complete());
    CHECK(p.head_parsed());
    CHECK(p.head().method_name == "POST");
    CHECK(p.head().target == "/up?x=1");
    p.reset();
    CHECK_FALSE(p.head_parsed());
    std::string chunk = req("PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n") + "zz\r\n";
    CHECK(p.parse(chunk) == parse_status::error);
    CHECK(p.head_parsed());
    CHECK(p.head().target == "/c");
    p.reset();
    std::string no_host = req("GET /h HTTP/1.1\r\n");  // the head itself is refused
    CHECK(p.parse(no_host) == parse_status::error);
    CHECK(p.error() == E::missing_host);
    CHECK_FALSE(p.head_parsed());
    CHECK(p.request_line_parsed());  // but its request line names it
    CHECK(p.head().method_name == "GET");
    CHECK(p.head().target == "/h");
    p.reset();
    CHECK_FALSE(p.request_line_parsed());
    std::string bad_field = req("HEAD /f HTTP/1.0\r\nBad Field: x\r\n");
    CHECK(p.parse(bad_field) == parse_status::error);
    CHECK(p.request_line_parsed());
    CHECK(p.head().method == method::head);
    CHECK(p.head().version.minor == 0);
    p.reset();
    std::string bad_line = req("GET /l HTTP/9.9\r\nHost: a\r\n");  // the request line itself is refused
    CHECK(p.parse(bad_line) == parse_status::error);
    CHECK_FALSE(p.request_line_parsed());
    p.reset();
    std::string half = "GET /half HTTP/1.1\r\nHo";  // its fields still to come
    CHECK(p.parse(half) == parse_status::incomplete);
    CHECK(p.request_line_parsed());
    CHECK(p.head().target == "/half");
    p.reset();
    std::string line = "GET /ha";
    CHECK(p.parse(line) == parse_status::incomplete);
    CHECK_FALSE(p.request_line_parsed());
}

// ---------------------------------------------------------------- helpers

TEST_CASE("helper: Connection tokens decide keep-alive per version") {
    CHECK(only_request(req("GET / HTTP/1.1\r\nHost: a\r\n")).keep_alive);
    CHECK(!only_request(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n")).keep_alive);
    CHECK(!only_request(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n")).keep_alive);
    CHECK(!only_request(req("GET / HTTP/1.0\r\n")).keep_alive);
    CHECK(only_request(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n")).keep_alive);
    basic_request_parser<8> p;
    std::string raw = req("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n");
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().upgrade);
}

TEST_CASE("helper: Expect 100-continue is reported once the head is complete") {
    std::string raw = req("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n");
    basic_request_parser<8> p;
    CHECK(p.parse(raw) == parse_status::incomplete);
    CHECK(p.head_complete());
    CHECK(p.head().expect_continue);
    raw += "abc";
    CHECK(p.parse(raw) == parse_status::complete);
    CHECK(p.body() == "abc");
    std::string other = req("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: fancy\r\n");
    basic_request_parser<8> q;
    CHECK(q.parse(other) == parse_status::incomplete);
    CHECK(q.head().expect_unsupported);
}

TEST_CASE("rule: Expect is a list: each member 100-continue, or the request is 417; empty members are none") {
    auto expectations = [](std::string const& fields) {
        std::string raw = req("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n" + fields);
        basic_request_parser<8> p;
        CHECK(p.parse(raw) == parse_status::incomplete);
        return std::pair{p.head().expect_continue, p.head().expect_unsupported};
    };
    CHECK(expectations("Expect: 100-continue, 100-continue\r\n") == std::pair{true, false});
    CHECK(expectations("Expect: ,100-continue,\r\n") == std::pair{true, false});
    CHECK(expectations("Expect: 100-continue\r\nExpect: 100-CONTINUE\r\n") == std::pair{true, false});
    CHECK(expectations("Expect: \r\n") == std::pair{false, false});
    CHECK(expectations("Expect: , \r\n") == std::pair{false, false});
    CHECK(expectations("Expect: 100-continue, fancy\r\n").second);
    CHECK(expectations("Expect: 100-continue;x=1\r\n").second);
}

TEST_CASE("helper: header lookup is case-insensitive") {
    std::string raw = req("GET / HTTP/1.1\r\nhOsT: a\r\nX-Thing: 1\r\n");
    basic_request_parser<8> p;
    REQUIRE(p.parse(raw) == parse_status::complete);
    CHECK(p.head().header("x-thing") == "1");
    CHECK(p.head().header("HOST") == "a");
    CHECK(p.head().find("missing") == nullptr);
}

// ---------------------------------------------------------------- incremental parsing

TEST_CASE("incremental: every split of a pipelined sequence gives the same requests") {
    std::string raw = req("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n",
                          "5;x=y\r\nhello\r\n3\r\n!!!\r\n0\r\nT: 1\r\n\r\n") +
                      req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n", "data") + req("GET /c HTTP/1.0\r\n");
    auto whole = run(raw);
    REQUIRE(whole.requests.size() == 3);
    CHECK(whole.requests[0].body == "hello!!!");
    for (std::size_t cut = 1; cut < raw.size(); ++cut) {
        CAPTURE(cut);
        CHECK(run(raw, std::vector<std::size_t>{cut}) == whole);
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < raw.size(); ++i) every.push_back(i);
    CHECK(run(raw, every) == whole);  // one byte at a time
}

TEST_CASE("incremental: a head parsed to its body follows its bytes into another buffer") {
    // A connection keeps an unfinished head in its own buffer, which moves as it grows: the
    // views parsed from the first piece must move with it, whichever of parse() and
    // parse_to_body() reads the rest (the old buffer is overwritten to show a stale view).
    std::string raw =
        req("POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Who: alice\r\nContent-Length: 3\r\n", "abc");
    for (std::size_t cut = 1; cut < raw.size() - 3; ++cut) {
        CAPTURE(cut);
        basic_request_parser<8> p;
        std::string first = raw.substr(0, cut);
        CHECK(p.parse_to_body(first.data(), first.size()) == parse_status::incomplete);
        std::string whole = raw;  // another buffer holding the bytes so far and the rest
        std::fill(first.begin(), first.end(), 'Z');
        REQUIRE(p.parse_to_body(whole.data(), whole.size()) == parse_status::complete);
        CHECK(p.head().method_name == "POST");
        CHECK(p.head().target == "/upload?x=1");
        CHECK(p.head().host == "example.com");
        CHECK(p.head().header("X-Who") == "alice");
        REQUIRE(p.parse(whole.data(), whole.size()) == parse_status::complete);
        CHECK(p.body() == "abc");
    }
}

TEST_CASE("incremental: a trickled over-long line gets the same error as the whole one") {
    parser_limits limits;
    limits.max_header_bytes = 64;
    std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100, 'v') + "\r\n\r\n";
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < raw.size(); ++i) every.push_back(i);
    CHECK(run(raw, limits).error == E::headers_too_large);
    CHECK(run(raw, every, limits).error == E::headers_too_large);
    std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nX: v\x01" + std::string(100, 'v') + "\r\n\r\n";
    CHECK(run(bad, limits).error == E::invalid_header_value);
    CHECK(run(bad, every, limits).error == E::invalid_header_value);
}

TEST_CASE("rule: empty lines before the request line count toward its limit") {
    parser_limits limits;
    limits.max_request_line = 16;
    std::string many;
    for (int i = 0; i < 20; ++i) many += "\r\n";
    CHECK(error_of(many + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", limits) == E::too_many_empty_lines);
    CHECK(error_of(std::string(17, '\n'), [&] {
              auto l = limits;
              l.allow_bare_lf = true;
              return l;
          }()) == E::too_many_empty_lines);
    CHECK(error_status(E::too_many_empty_lines) == status::bad_request);
}

TEST_CASE("rule: each limit's status names what ran over") {
    parser_limits limits;
    limits.max_request_line = 64;
    limits.max_header_line = 64;
    limits.max_header_bytes = 128;
    limits.max_header_count = 4;
    // A method as long as the line: no request at all, 400 and never 414.
    CHECK(error_of(std::string(100, 'G'), limits) == E::method_too_long);
    CHECK(error_of(std::string(100, 'G') + " / HTTP/1.1\r\nHost: a\r\n\r\n", limits) == E::method_too_long);
    CHECK(error_status(E::method_too_long) == status::bad_request);
    // Every split of it gets the same answer.
    std::string raw = std::string(70, 'P') + " / HTTP/1.1\r\n";
    for (std::size_t cut = 1; cut < raw.size(); ++cut) {
        CAPTURE(cut);
        CHECK(run(raw, std::vector<std::size_t>{cut}, limits).error == E::method_too_long);
    }
    // The version is 8 bytes; a "version" that runs on past the line limit is malformed: 400,
    // whole or fed in pieces, and never 414 (the target was short).
    for (auto const& line :
         {"GET / HTTP/1.1" + std::string(100, '1') + "\r\n", "GET / HTTP/" + std::string(100, '1') + "\r\n",
          "GET / HTTP/1.1 " + std::string(100, 'x') + "\r\nHost: a\r\n\r\n"}) {
        CAPTURE(line);
        CHECK(error_of(line, limits) == E::invalid_version);
        for (std::size_t cut = 1; cut < line.size(); cut += 7)
            CHECK(run(line, std::vector<std::size_t>{cut}, limits).error == E::invalid_version);
    }
    CHECK(error_status(E::invalid_version) == status::bad_request);
    // The target: 414. A field name, a field value, the field count and the whole section: 431.
    CHECK(error_of("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n", limits) == E::request_line_too_long);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n" + std::string(70, 'N') + ": v\r\n\r\n", limits) ==
          E::headers_too_large);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nN: " + std::string(70, 'v') + "\r\n\r\n", limits) ==
          E::headers_too_large);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits) == E::too_many_headers);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nA: " + std::string(50, 'v') + "\r\nB: " + std::string(50, 'v') +
                       "\r\nC: " + std::string(50, 'v') + "\r\n\r\n",
                   limits) == E::headers_too_large);
    for (auto e : {E::headers_too_large, E::too_many_headers, E::trailers_too_large})
        CHECK(error_status(e) == status::request_header_fields_too_large);
    CHECK(error_status(E::chunk_extension_too_long) == status::bad_request);
    CHECK(error_status(E::body_too_large) == status::content_too_large);
}
