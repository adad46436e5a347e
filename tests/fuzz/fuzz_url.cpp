// The url helpers over arbitrary bytes: decoding never grows the input and leaves the output
// untouched on failure; decode_form is decode_component with '+' and lone '%' spelled out; encoding then decoding gives
// the input back; decode_path agrees with decode_component and its segments decode with decode_segment; segments() and
// query_params() cover their input exactly; query_value() finds the first pair of each name.
#include "fuzz_support.hpp"

#include <porthole/url.hpp>

#include <algorithm>
#include <map>
#include <string>

namespace fuzz_url {

using namespace porthole;

inline bool only(std::string_view s, bool (*ok)(char)) {
    for (char c : s)
        if (!ok(c)) return false;
    return true;
}

// A failed decode leaves what was in `out` as it was; a successful one only appends.
template <class Decode>
std::optional<std::string> decode_checked(std::string_view in, Decode decode) {
    std::string out = "prefix";
    bool ok = decode(in, out);
    FUZZ_CHECK(out.starts_with("prefix"));
    if (!ok) {
        FUZZ_CHECK(out == "prefix");
        return std::nullopt;
    }
    out.erase(0, 6);
    return out;
}

inline void check_components(std::string_view in) {
    auto plain = decode_checked(in, [](std::string_view s, std::string& o) { return url::decode_component(s, o); });
    if (plain) {
        FUZZ_CHECK(plain->size() <= in.size());
    } else {  // a malformed escape is the only failure
        bool bad_escape = false;
        for (std::size_t i = 0; i < in.size(); ++i)
            if (in[i] == '%' && url::detail::escaped_byte(in, i) < 0) bad_escape = true;
        FUZZ_CHECK(bad_escape);
    }
    // decode_form never fails: it reads as decode_component does the input with each '+' written
    // %20 and each '%' that begins no escape written %25.
    std::string form = "prefix";
    url::decode_form(in, form);
    FUZZ_CHECK(form.starts_with("prefix"));
    form.erase(0, 6);
    FUZZ_CHECK(form.size() <= in.size());
    std::string spelled_out, expected;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') spelled_out += "%20";
        else if (in[i] == '%' && url::detail::escaped_byte(in, i) < 0) spelled_out += "%25";
        else spelled_out += in[i];
    }
    FUZZ_CHECK(url::decode_component(spelled_out, expected));
    FUZZ_CHECK(form == expected);
    FUZZ_CHECK(url::detail::form_decoded_equals(in, form));
    FUZZ_CHECK(!url::detail::form_decoded_equals(in, form + "x"));
    if (!form.empty()) FUZZ_CHECK(!url::detail::form_decoded_equals(in, std::string_view(form).substr(1)));

    std::string enc;
    url::encode_component(in, enc);
    FUZZ_CHECK(enc.size() >= in.size());
    for (std::size_t i = 0; i < enc.size(); ++i) {
        if (enc[i] == '%') {
            FUZZ_CHECK(url::detail::escaped_byte(enc, i) >= 0);
            i += 2;
        } else {
            FUZZ_CHECK(url::detail::is_unreserved(enc[i]));
        }
    }
    std::string back;
    FUZZ_CHECK(url::decode_component(enc, back));
    FUZZ_CHECK(back == in);
    back.clear();
    url::decode_form(enc, back);  // no '+' survives encoding
    FUZZ_CHECK(back == in);

    std::string enc_path;
    url::encode_path(in, enc_path);
    back.clear();
    FUZZ_CHECK(url::decode_component(enc_path, back));
    FUZZ_CHECK(back == in);
}

inline void check_path(std::string_view in) {
    auto path = decode_checked(in, [](std::string_view s, std::string& o) { return url::decode_path(s, o); });
    std::string plain;
    bool plain_ok = url::decode_component(in, plain);
    if (!path) {
        // Fails on what decode_component refuses, and on a control byte, raw or escaped.
        FUZZ_CHECK(!plain_ok || std::any_of(plain.begin(), plain.end(), url::detail::is_control));
        return;
    }
    FUZZ_CHECK(plain_ok);
    FUZZ_CHECK(std::none_of(path->begin(), path->end(), url::detail::is_control));
    // Only %2F and %25 stay encoded: undoing them gives the fully decoded path.
    for (std::size_t i = 0; i < path->size(); ++i)
        if ((*path)[i] == '%') FUZZ_CHECK(path->compare(i, 3, "%2F") == 0 || path->compare(i, 3, "%25") == 0);
    std::string whole;
    FUZZ_CHECK(url::decode_segment(*path, whole));
    FUZZ_CHECK(whole == plain);

    // Each segment decodes on its own, and the decoded segments hold no '/' but encoded ones.
    std::size_t slashes_in_segments = 0;
    bool dot = false;
    for (auto seg : url::segments(*path)) {
        std::string bytes;
        FUZZ_CHECK(url::decode_segment(seg, bytes));
        for (char c : bytes) slashes_in_segments += c == '/';
        dot |= url::is_dot_segment(seg);
    }
    FUZZ_CHECK(dot == url::has_dot_segment(*path));
    std::size_t encoded_slashes = 0;
    for (char c : plain) encoded_slashes += c == '/';
    std::size_t raw_slashes = 0;
    for (char c : *path) raw_slashes += c == '/';
    FUZZ_CHECK(slashes_in_segments + raw_slashes == encoded_slashes);
}

inline void check_segments(std::string_view path) {
    std::string joined;
    std::size_t count = 0;
    for (auto seg : url::segments(path)) {
        FUZZ_CHECK(fuzz_support::within(seg, path.data(), path.size()));
        FUZZ_CHECK(seg.find('/') == std::string_view::npos);
        if (count++ != 0 || path.starts_with('/')) joined += '/';
        joined += seg;
    }
    FUZZ_CHECK(joined == path);
    std::size_t slashes = 0;
    for (char c : path) slashes += c == '/';
    FUZZ_CHECK(count == (path.empty() ? 0 : slashes + (path.starts_with('/') ? 0 : 1)));
}

inline void check_query(std::string_view query) {
    std::size_t count = 0, covered = 0;
    std::map<std::string, std::string> first;  // decoded name -> its first value
    for (auto const& p : url::query_params(query)) {
        FUZZ_CHECK(fuzz_support::within(p.name, query.data(), query.size()));
        FUZZ_CHECK(fuzz_support::within(p.value, query.data(), query.size()));
        FUZZ_CHECK(p.name.find_first_of("&=") == std::string_view::npos);
        FUZZ_CHECK(p.value.find('&') == std::string_view::npos);
        covered += p.name.size() + p.value.size();
        if (++count > 64) continue;
        std::string name, value;
        url::decode_form(p.name, name);
        if (first.count(name)) continue;
        url::decode_form(p.value, value);
        first[name] = value;
        FUZZ_CHECK(url::query_value(query, name) == value);
    }
    FUZZ_CHECK(covered <= query.size());
    std::size_t amps = 0;
    for (char c : query) amps += c == '&';
    FUZZ_CHECK(count <= amps + 1);
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    std::string_view in(reinterpret_cast<char const*>(data), size);
    fuzz_support::exact_buffer buf(in);  // the sanitizer sees any read past the end
    check_components(buf.view());
    check_path(buf.view());
    check_segments(buf.view());
    check_query(buf.view());
}

}  // namespace fuzz_url

PORTHOLE_FUZZ_ENTRY(fuzz_url)
