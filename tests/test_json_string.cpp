// Text as a JSON string (json_string.hpp): what is escaped, how, and what is copied as it is.
#include <porthole/json_string.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <string_view>

using porthole::append_json_string;

namespace {

std::string json(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

}  // namespace

TEST_CASE("quotes, backslashes and control characters are escaped, U+2028 and U+2029 too") {
    CHECK(json("a\"b\\c\n\x01\xe2\x80\xa8z") == "\"a\\\"b\\\\c\\n\\u0001\\u2028z\"");
    CHECK(json("") == "\"\"");
    CHECK(json("plain / text") == "\"plain / text\"");  // '/' needs no escape
    CHECK(json("\"") == "\"\\\"\"");
    CHECK(json("\\") == "\"\\\\\"");
    CHECK(json("\xe2\x80\xa9") == "\"\\u2029\"");
}

TEST_CASE("'<' is \\u003c, so the string closes no <script> it is written into") {
    CHECK(json("</script><!--x-->") == "\"\\u003c/script>\\u003c!--x-->\"");
    CHECK(json("a<b>c") == "\"a\\u003cb>c\"");
}

TEST_CASE("each of U+0000..U+001F has its short escape or \\u00XX in lower-case hex") {
    for (int c = 0; c < 0x20; ++c) {
        CAPTURE(c);
        std::string expected;
        switch (c) {
            case '\b': expected = "\\b"; break;
            case '\t': expected = "\\t"; break;
            case '\n': expected = "\\n"; break;
            case '\f': expected = "\\f"; break;
            case '\r': expected = "\\r"; break;
            default: {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                expected = buf;
            }
        }
        CHECK(json(std::string(1, static_cast<char>(c))) == "\"" + expected + "\"");
    }
    CHECK(json(std::string_view("a\0b", 3)) == "\"a\\u0000b\"");  // NUL inside the text is kept as an escape
}

TEST_CASE("every other byte is copied: DEL, UTF-8, and invalid UTF-8 unrepaired") {
    for (int c = 0x20; c < 0x100; ++c) {
        if (c == '"' || c == '\\' || c == '<') continue;
        CAPTURE(c);
        std::string one(1, static_cast<char>(c));
        CHECK(json(one) == "\"" + one + "\"");
    }
    CHECK(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK(json("\xff\xfe\xc3") == "\"\xff\xfe\xc3\"");  // not UTF-8 at all; a truncated sequence
    CHECK(json("\xe2\x80") == "\"\xe2\x80\"");          // U+2028 cut short at the end is copied
    CHECK(json("\xe2\x80\xaa") == "\"\xe2\x80\xaa\"");  // U+202A, the next one, is not escaped
    CHECK(json("\xe2\x80\xa8\xe2\x80\xa8") == "\"\\u2028\\u2028\"");
}

TEST_CASE("the string is appended: what the output held stays") {
    std::string out = "{\"k\":";
    append_json_string(out, "v\t");
    out += '}';
    CHECK(out == "{\"k\":\"v\\t\"}");
}
