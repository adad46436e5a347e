// request_parser over arbitrary bytes, given whole: pipelined messages are parsed one after the
// other until an error or an incomplete message. Every view the parser hands out must lie in the
// buffer, every count must fit it, and an error must map to a 4xx or 5xx status. An accepted
// message obeys the rules the parser enforces beyond the grammar's shape: a non-empty Host where
// the target has no authority, no backslash in a path, no leading zero in Content-Length, and a
// chunked body whose wire bytes (chunks and trailer section) are walked on their own. Each input is
// parsed under the default limits and under small ones, with and without bare LF.
#include "fuzz_support.hpp"
#include "limits.hpp"

#include <porthole/parser.hpp>

#include <algorithm>
#include <array>

namespace fuzz_parser {

using namespace porthole;
using fuzz_support::within;

inline bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!detail::is_tchar(c)) return false;
    return true;
}

// The wire bytes of an accepted chunked body, walked on their own: chunks of their stated size,
// then a trailer section whose every line is a field line (token ":" field-value, no fold, no
// bare CR), ending exactly where the message does.
inline std::string_view wire_line(std::string_view& rest, bool bare_lf) {
    auto lf = rest.find('\n');
    FUZZ_CHECK(lf != std::string_view::npos);
    auto line = rest.substr(0, lf);
    rest.remove_prefix(lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    else FUZZ_CHECK(bare_lf);
    return line;
}

inline void check_chunked_wire(std::string_view raw, bool bare_lf) {
    for (;;) {
        auto size_line = wire_line(raw, bare_lf);
        std::uint64_t size = 0;
        std::size_t digits = 0;
        while (digits < size_line.size() && detail::hex_value(size_line[digits]) >= 0) {
            size = std::min<std::uint64_t>(size * 16 + static_cast<unsigned>(detail::hex_value(size_line[digits])),
                                           1ull << 48);
            ++digits;
        }
        FUZZ_CHECK(digits > 0);
        if (size == 0) break;
        FUZZ_CHECK(raw.size() >= size);
        raw.remove_prefix(static_cast<std::size_t>(size));
        FUZZ_CHECK(wire_line(raw, bare_lf).empty());
    }
    for (;;) {
        auto line = wire_line(raw, bare_lf);
        if (line.empty()) break;
        FUZZ_CHECK(line.front() != ' ' && line.front() != '\t');
        auto colon = line.find(':');
        FUZZ_CHECK(colon != std::string_view::npos);
        FUZZ_CHECK(is_token(line.substr(0, colon)));
        for (char c : line.substr(colon + 1)) FUZZ_CHECK(detail::is_field_char(c) || c == ' ' || c == '\t');
    }
    FUZZ_CHECK(raw.empty());
}

// `wire`: the message's bytes as they came in (the parser decodes a chunked body in place).
inline void check_message(request_parser const& p, char const* data, std::size_t size, parser_limits const& limits,
                          std::string_view wire) {
    auto const& h = p.head();
    FUZZ_CHECK(p.error() == parse_error::none);
    FUZZ_CHECK(p.head_complete());
    FUZZ_CHECK(p.consumed() > 0);
    FUZZ_CHECK(p.consumed() <= size);
    FUZZ_CHECK(p.head_size() <= p.consumed());

    FUZZ_CHECK(within(h.method_name, data, p.head_size()));
    FUZZ_CHECK(within(h.target, data, p.head_size()));
    FUZZ_CHECK(within(h.host, data, p.head_size()));
    FUZZ_CHECK(is_token(h.method_name));
    FUZZ_CHECK(method_from_string(h.method_name) == h.method);
    FUZZ_CHECK(!h.target.empty());
    for (char c : h.target) FUZZ_CHECK(detail::is_target_char(c));
    // A backslash is not a URI character: never in a path (a query may carry one as data).
    FUZZ_CHECK(h.target.substr(0, h.target.find('?')).find('\\') == std::string_view::npos);
    FUZZ_CHECK(h.version.major == 1 && h.version.minor <= 1);
    // The request line, with the empty lines before it, ends within the limit: target, " HTTP/1.x"
    // and at least an LF.
    FUZZ_CHECK(static_cast<std::size_t>(h.target.data() + h.target.size() - data) + 10 <= limits.max_request_line);

    FUZZ_CHECK(h.headers.size() <= limits.max_header_count);
    std::size_t host_fields = 0;
    for (auto const& f : h.headers) {
        FUZZ_CHECK(within(f.name, data, p.head_size()));
        FUZZ_CHECK(within(f.value, data, p.head_size()));
        FUZZ_CHECK(is_token(f.name));
        FUZZ_CHECK(f.name.size() + f.value.size() + 1 <= limits.max_header_line);
        for (char c : f.value) FUZZ_CHECK(detail::is_field_char(c));
        if (!f.value.empty()) {
            FUZZ_CHECK(f.value.front() != ' ' && f.value.front() != '\t');
            FUZZ_CHECK(f.value.back() != ' ' && f.value.back() != '\t');
        }
        if (iequals(f.name, "Host")) {
            ++host_fields;
            FUZZ_CHECK(f.value == h.host);
            // Without an authority in the target, Host is the authority: never empty.
            // A port alone (":80") names no host either.
            if (h.form == target_form::origin || h.form == target_form::asterisk)
                FUZZ_CHECK(!f.value.empty() && f.value.front() != ':');
        }
        if (iequals(f.name, "Content-Length")) {  // every list member: digits, no leading zero
            std::string_view rest = f.value;
            while (!rest.empty()) {
                auto comma = std::min(rest.find(','), rest.size());
                auto item = detail::trim_ows(rest.substr(0, comma));
                rest.remove_prefix(std::min(comma + 1, rest.size()));
                if (item.empty()) continue;  // an empty list element is ignored (RFC 9110 5.6.1)
                for (char c : item) FUZZ_CHECK(c >= '0' && c <= '9');
                FUZZ_CHECK(item.size() == 1 || item[0] != '0');
            }
        }
    }
    FUZZ_CHECK(host_fields <= 1);
    if (h.version.minor == 1) FUZZ_CHECK(host_fields == 1);
    FUZZ_CHECK(h.find("Host") == nullptr || h.header("Host") == h.host);

    auto body = p.body();
    FUZZ_CHECK(body.size() <= limits.max_body);
    if (!body.empty()) {
        FUZZ_CHECK(within(body, data, p.consumed()));
        FUZZ_CHECK(body.data() >= data + p.head_size());
    }
    switch (h.framing) {
        case body_framing::none:
            FUZZ_CHECK(body.empty());
            FUZZ_CHECK(p.consumed() == p.head_size());
            break;
        case body_framing::content_length:
            FUZZ_CHECK(body.size() == h.content_length);
            FUZZ_CHECK(p.consumed() == p.head_size() + body.size());
            FUZZ_CHECK(h.find("Transfer-Encoding") == nullptr);
            break;
        case body_framing::chunked:
            // at least "0\r\n\r\n", or "0\n\n" with bare LF
            FUZZ_CHECK(p.consumed() >= p.head_size() + body.size() + (limits.allow_bare_lf ? 3 : 5));
            FUZZ_CHECK(h.version.minor == 1);
            FUZZ_CHECK(h.find("Content-Length") == nullptr);
            check_chunked_wire(wire.substr(p.head_size(), p.consumed() - p.head_size()), limits.allow_bare_lf);
            break;
    }
    if (h.connection_close) FUZZ_CHECK(!h.keep_alive);
    if (h.expect_continue || h.expect_unsupported) FUZZ_CHECK(h.find("Expect") != nullptr);
    if (h.upgrade || h.connection_close) FUZZ_CHECK(h.find("Connection") != nullptr);
}

inline void parse_all(std::string_view input, parser_limits const& limits) {
    fuzz_support::exact_buffer buf(input);
    std::array<header_field, 128> storage{};
    request_parser parser(storage, limits);
    char* data = buf.data();
    std::size_t left = buf.size();
    while (left > 0) {
        auto st = parser.parse(data, left);
        if (st == parse_status::incomplete) return;
        if (st == parse_status::error) {
            FUZZ_CHECK(parser.error() != parse_error::none);
            auto code = to_int(error_status(parser.error()));
            FUZZ_CHECK(code >= 400 && code <= 599);
            FUZZ_CHECK(to_string(parser.error()) != "unknown");
            FUZZ_CHECK(parser.parse(data, left) == parse_status::error);  // a failed parser stays failed
            return;
        }
        check_message(parser, data, left, limits, input.substr(static_cast<std::size_t>(data - buf.data()), left));
        auto consumed = parser.consumed();
        FUZZ_CHECK(parser.parse(data, left) == parse_status::complete);  // and a finished one finished
        FUZZ_CHECK(parser.consumed() == consumed);
        data += consumed;
        left -= consumed;
        parser.reset();
        FUZZ_CHECK(!parser.head_complete());
    }
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    std::string_view input(reinterpret_cast<char const*>(data), size);
    for (std::uint8_t bits = 0; bits < 4; ++bits) parse_all(input, fuzz_support::limits_from(bits));
}

}  // namespace fuzz_parser

PORTHOLE_FUZZ_ENTRY(fuzz_parser)
