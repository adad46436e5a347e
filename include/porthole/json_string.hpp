// porthole/json_string.hpp: text as a JSON string (RFC 8259 section 7), the one escaper every
// JSON writer in porthole uses. Writing only: porthole parses no JSON (nlohmann/json does).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/utf8.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace porthole {

namespace detail {
// What a JSON text needs beyond RFC 8259 to be safe inside a <script>: the escape of the '<' or
// the U+2028 or U+2029 starting at text[i] (whose length in bytes goes to `length`), or
// nullptr for anything else.
inline char const* script_escape(std::string_view text, std::size_t i, std::size_t& length) noexcept {
    length = 1;
    if (text[i] == '<') return "\\u003c";
    if (text[i] != '\xe2' || i + 2 >= text.size() || text[i + 1] != '\x80') return nullptr;
    length = 3;
    if (text[i + 2] == '\xa8') return "\\u2028";
    if (text[i + 2] == '\xa9') return "\\u2029";
    return nullptr;
}
}  // namespace detail

// Appends `text` to `out` as a JSON string literal, quotes included: '"' and '\' escaped,
// control characters (U+0000..U+001F) as \n, \r, \t, \b, \f or \u00XX; '<' as \u003c (no
// "</script>" or "<!--" can close or open anything), and U+2028 and U+2029 as \u2028 and \u2029,
// so that the output is also safe inside a <script>. Other characters are copied as they are;
// bytes that are not UTF-8 become U+FFFD, one for each maximal ill-formed subpart (the WHATWG
// Encoding Standard's decoder), since JSON is UTF-8 (RFC 8259 section 8.1) and readers refuse
// a text with one invalid byte in it.
inline void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    auto ascii = [](std::string& o, char c) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            case '\b': o += "\\b"; break;
            case '\f': o += "\\f"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    o += "\\u00";
                    o += hex[(c >> 4) & 0xf];
                    o += hex[c & 0xf];
                } else if (std::size_t length = 0; auto escape = detail::script_escape({&c, 1}, 0, length)) {
                    o += escape;  // '<'
                } else {
                    o += c;
                }
        }
    };
    auto character = [](std::string& o, std::string_view bytes) {
        std::size_t length = 0;
        if (auto escape = detail::script_escape(bytes, 0, length)) o += escape;
        else o.append(bytes);
    };
    detail::utf8::append_well_formed(out, text, ascii, character);
    out += '"';
}

namespace detail {
// Makes a JSON text another writer made (nlohmann/json's) as safe inside a <script> as
// append_json_string's output: each '<', U+2028 and U+2029 escaped as it escapes them. Those
// bytes occur in JSON text only inside strings, so the value read back is the same.
inline void make_script_safe(std::string& json) {
    auto first = json.find_first_of("<\xe2");
    if (first == std::string::npos) return;
    std::string out;
    out.reserve(json.size() + 16);
    out.append(json, 0, first);
    for (std::size_t i = first; i < json.size(); ++i) {
        if (std::size_t length = 0; auto escape = detail::script_escape(json, i, length)) {
            out += escape;
            i += length - 1;
        } else {
            out += json[i];
        }
    }
    json = std::move(out);
}
}  // namespace detail

}  // namespace porthole
