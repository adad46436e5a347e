// Text as a JSON string (json_string.hpp): what is escaped, how, what is copied as it is and what
// is replaced.
#include <porthole/detail/utf8.hpp>
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

TEST_CASE("every other character is copied: DEL and UTF-8; bytes that are not UTF-8 become U+FFFD") {
    for (int c = 0x20; c < 0x80; ++c) {
        if (c == '"' || c == '\\' || c == '<') continue;
        CAPTURE(c);
        std::string one(1, static_cast<char>(c));
        CHECK(json(one) == "\"" + one + "\"");
    }
    std::string const fffd = "\xef\xbf\xbd";
    for (int c = 0x80; c < 0x100; ++c) {  // no byte from 0x80 up is a character alone
        CAPTURE(c);
        CHECK(json(std::string(1, static_cast<char>(c))) == "\"" + fffd + "\"");
    }
    CHECK(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK(json("\xe2\x80\xaa") == "\"\xe2\x80\xaa\"");  // U+202A, the next one after U+2029, is not escaped
    CHECK(json("\xe2\x80\xa8\xe2\x80\xa8") == "\"\\u2028\\u2028\"");
    // One U+FFFD for each maximal ill-formed subpart, as the WHATWG decoder (and Python's
    // bytes.decode("utf-8", "replace")) reads them.
    auto replaced = [&](std::string_view text, std::string_view expected) {
        CAPTURE(text);
        std::string want = "\"";
        for (char c : expected) want += c == '?' ? fffd : std::string(1, c);
        CHECK(json(text) == want + "\"");
    };
    replaced("\xff\xfe\xc3", "???");  // not UTF-8 at all; a lead byte cut short by the end
    replaced("\xe2\x80", "?");        // U+2028 cut short at the end: one subpart
    replaced("\xe0\x80", "??");       // an overlong form: its second byte cannot follow E0
    replaced(
        "\xf0\x90\x80"
        "A",
        "?A");                             // three of four bytes, then ASCII
    replaced("\xed\xa0\x80", "???");       // a surrogate
    replaced("\xf4\x90\x80\x80", "????");  // above U+10FFFF
    replaced("\xc0\xaf", "??");            // C0 never begins a character
    replaced("a\xf0\x9f\x98", "a?");       // an emoji cut short at the end
    replaced("\x80<\xe2\x80\xa8", "?\\u003c\\u2028");
}

TEST_CASE("whatever the bytes, the output is UTF-8, and UTF-8 without characters to escape comes out as it was") {
    auto check = [](std::string const& text) {
        auto out = json(text);
        if (!porthole::detail::valid_utf8(out)) FAIL_CHECK("not UTF-8 for bytes " << text.size());
        bool plain = porthole::detail::valid_utf8(text) && text.find_first_of("\"\\<\xe2") == std::string::npos;
        for (char c : text) plain = plain && static_cast<unsigned char>(c) >= 0x20;
        if (plain && out != "\"" + text + "\"") FAIL_CHECK("changed");
    };
    std::string two(2, '\0');
    for (int a = 0x80; a < 0x100; ++a)  // every pair with a byte from 0x80 up first
        for (int b = 0; b < 0x100; ++b) {
            two[0] = static_cast<char>(a);
            two[1] = static_cast<char>(b);
            check(two);
        }
    std::string three(3, '\0');
    for (int a = 0xe0; a < 0xf8; ++a)  // three bytes behind every lead of three or four
        for (int b = 0x70; b < 0xd0; ++b)
            for (int c = 0x70; c < 0xd0; ++c) {
                three[0] = static_cast<char>(a);
                three[1] = static_cast<char>(b);
                three[2] = static_cast<char>(c);
                check(three);
                check(three + "\x80z");
            }
}

TEST_CASE("the string is appended: what the output held stays") {
    std::string out = "{\"k\":";
    append_json_string(out, "v\t");
    out += '}';
    CHECK(out == "{\"k\":\"v\\t\"}");
}
