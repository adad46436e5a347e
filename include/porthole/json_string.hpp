// porthole/json_string.hpp: text as a JSON string (RFC 8259 section 7), the one escaper every
// JSON writer in porthole uses. Writing only: porthole parses no JSON (nlohmann/json does).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <string>
#include <string_view>

namespace porthole {

// Appends `text` to `out` as a JSON string literal, quotes included: '"' and '\' escaped,
// control characters (U+0000..U+001F) as \n, \r, \t, \b, \f or \u00XX; '<' as \u003c (no
// "</script>" or "<!--" can close or open anything), and U+2028 and U+2029 as \u2028 and \u2029,
// so that the output is also safe inside a <script>. Other bytes are copied: UTF-8 stays UTF-8
// (invalid UTF-8 is not repaired).
inline void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '<': out += "\\u003c"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += "\\u00";
                    out += hex[(c >> 4) & 0xf];
                    out += hex[c & 0xf];
                } else if (c == '\xe2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
                           (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')) {
                    out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
                    i += 2;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

}  // namespace porthole
