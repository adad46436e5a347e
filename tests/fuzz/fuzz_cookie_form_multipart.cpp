// Cookie headers, multipart bodies and HTTP dates over arbitrary bytes.
//   cookies_view / find_cookie: pairs are views of the header with token names; find_cookie
//     gives the first pair of a name.
//   boundary_from_content_type: a boundary found is 1-70 bchars, not ending in a space.
//   multipart::parse: parts are views of the body; a body built around arbitrary content with
//     a valid boundary parses back to that content unless the content holds the delimiter;
//     multipart::stream_parser, fed the body in pieces of 1, 7 or all bytes, gives the same.
//   parse_http_date / format_http_date: a parsed date formats and parses back to itself; any
//     instant formats to an IMF-fixdate that parses back (clamped to years 0000-9999).
//
// Input layout: a boundary length byte (0-71), the boundary, 8 bytes of an instant (also the
// "now" for RFC 850 dates), then the text every function is given.
#include "fuzz_support.hpp"

#include <porthole/cookie.hpp>
#include <porthole/http_date.hpp>
#include <porthole/multipart.hpp>

#include <map>
#include <string>
#include <vector>

namespace fuzz_cookie_form_multipart {

using namespace porthole;
using fuzz_support::within;

inline void check_cookies(std::string_view header) {
    std::map<std::string_view, std::string_view> first;
    std::size_t n = 0;
    for (auto const& c : cookies_view(header)) {
        FUZZ_CHECK(within(c.name, header.data(), header.size()));
        FUZZ_CHECK(within(c.value, header.data(), header.size()));
        FUZZ_CHECK(detail::is_token(c.name));
        FUZZ_CHECK(c.value.find(';') == std::string_view::npos);
        if (++n <= 64 && !first.count(c.name)) {
            first[c.name] = c.value;
            auto found = find_cookie(header, c.name);
            FUZZ_CHECK(found && found->data() == c.value.data() && found->size() == c.value.size());
        }
    }
}

// multipart::stream_parser over the body cut into pieces of `step` bytes gives what parse()
// gives: the same parts, headers and data, or a refusal (the body being far below max_head).
inline void check_streamed(std::string_view body, std::string_view boundary, bool ok,
                           std::vector<multipart::part> const& parts, std::size_t step) {
    struct collect {
        std::vector<std::string> heads, data;
        int open = 0;
        void part(multipart::part const& p) {
            heads.emplace_back(std::string(p.name) + '\0' + std::string(p.filename) + '\0' +
                               std::string(p.content_type) + '\0' + std::string(p.headers));
            data.emplace_back();
            ++open;
        }
        void data_piece(std::string_view piece) { data.back().append(piece); }
        void part_end() { --open; }
    } got;
    struct relay {
        collect& c;
        void part(multipart::part const& p) { c.part(p); }
        void data(std::string_view piece) {
            FUZZ_CHECK(c.open == 1);
            c.data_piece(piece);
        }
        void part_end() { c.part_end(); }
    } on{got};
    multipart::stream_parser sp(boundary, 16);
    bool fed = true;
    for (std::size_t i = 0; i < body.size() && fed; i += step) fed = sp.feed(body.substr(i, step), on);
    bool streamed_ok = fed && sp.done();
    FUZZ_CHECK(streamed_ok == ok);
    if (!ok || !streamed_ok) return;
    FUZZ_CHECK(got.open == 0);
    FUZZ_CHECK(got.heads.size() == parts.size());
    for (std::size_t i = 0; i < parts.size() && i < got.heads.size(); ++i) {
        auto const& p = parts[i];
        FUZZ_CHECK(got.heads[i] == std::string(p.name) + '\0' + std::string(p.filename) + '\0' +
                                       std::string(p.content_type) + '\0' + std::string(p.headers));
        FUZZ_CHECK(got.data[i] == p.data);
    }
}

inline void check_parts(std::string_view body, std::string_view boundary) {
    std::vector<multipart::part> parts;
    bool ok = multipart::parse(body, boundary, parts, 16);
    if (body.size() < 8 * 1024)
        for (std::size_t step : {std::size_t(1), std::size_t(7), body.size() + 1})
            check_streamed(body, boundary, ok, parts, step);
    if (!ok) {
        FUZZ_CHECK(parts.empty());
        return;
    }
    FUZZ_CHECK(parts.size() <= 16);
    for (auto const& p : parts) {
        for (auto v : {p.name, p.filename, p.content_type, p.headers, p.data})
            FUZZ_CHECK(within(v, body.data(), body.size()));
        FUZZ_CHECK(p.header("Content-Disposition").has_value());
        auto found = multipart::find_part(parts, p.name);
        FUZZ_CHECK(found != nullptr && found->name == p.name && found <= &p);
        std::string unquoted;
        multipart::unquote(p.name, unquoted);
        FUZZ_CHECK(unquoted.size() <= p.name.size());
    }
}

// A one-part body around `content`; it parses back unless the content holds the delimiter.
inline void check_round_trip(std::string_view boundary, std::string_view content) {
    for (char c : boundary)
        if (!multipart::detail::is_bchar(c)) return;
    std::string ct = "multipart/form-data; boundary=\"" + std::string(boundary) + "\"";
    auto parsed_boundary = multipart::boundary_from_content_type(ct);
    if (!parsed_boundary) return;
    FUZZ_CHECK(*parsed_boundary == boundary);
    std::string delimiter = "\r\n--" + std::string(boundary);
    // The blank line's CRLF comes right before the content, so it counts toward a delimiter.
    if (("\r\n" + std::string(content)).find(delimiter) != std::string::npos) return;
    std::string body = "--" + std::string(boundary) + "\r\n" +
                       "Content-Disposition: form-data; name=\"field\"; filename=\"f.bin\"\r\n" +
                       "Content-Type: application/octet-stream\r\n\r\n" + std::string(content) + delimiter + "--\r\n";
    std::vector<multipart::part> parts;
    FUZZ_CHECK(multipart::parse(body, boundary, parts));
    FUZZ_CHECK(parts.size() == 1);
    FUZZ_CHECK(parts[0].name == "field");
    FUZZ_CHECK(parts[0].has_filename && parts[0].filename == "f.bin");
    FUZZ_CHECK(parts[0].content_type == "application/octet-stream");
    FUZZ_CHECK(parts[0].data == content);
}

inline void check_boundary(std::string_view content_type) {
    auto b = multipart::boundary_from_content_type(content_type);
    if (!b) return;
    FUZZ_CHECK(within(*b, content_type.data(), content_type.size()));
    FUZZ_CHECK(!b->empty() && b->size() <= 70 && b->back() != ' ');
    for (char c : *b) FUZZ_CHECK(multipart::detail::is_bchar(c));
}

inline void check_dates(std::string_view text, std::time_t instant) {
    if (auto t = parse_http_date(text, instant)) {
        char buf[http_date_size];
        auto formatted = format_http_date(*t, buf);
        auto again = parse_http_date(formatted, instant);
        FUZZ_CHECK(again.has_value());
        // Formatting clamps to years 0000-9999: 9999-12-31 23:59:60, or an RFC 850 year read
        // against a `now` thousands of years away, can fall outside.
        if (*t >= detail::http_date_min && *t <= detail::http_date_max) FUZZ_CHECK(*again == *t);
    }
    char buf[http_date_size];
    auto formatted = format_http_date(instant, buf);
    FUZZ_CHECK(formatted.size() == http_date_size && formatted.ends_with(" GMT"));
    auto back = parse_http_date(formatted, 0);
    FUZZ_CHECK(back.has_value());
    auto clamped =
        std::min<std::int64_t>(std::max<std::int64_t>(instant, detail::http_date_min), detail::http_date_max);
    FUZZ_CHECK(*back == clamped);
    FUZZ_CHECK(format_http_date(*back) == formatted);
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    auto boundary = in.take(in.byte() % 72);
    auto instant = static_cast<std::time_t>(in.u64());
    fuzz_support::exact_buffer text(in.rest());  // the sanitizer sees any read past the end

    check_cookies(text.view());
    check_boundary(text.view());
    check_parts(text.view(), boundary);
    check_round_trip(boundary, text.view());
    check_dates(text.view(), instant);
}

}  // namespace fuzz_cookie_form_multipart

PORTHOLE_FUZZ_ENTRY(fuzz_cookie_form_multipart)
