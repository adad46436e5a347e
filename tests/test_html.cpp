// HTML text (html.hpp): the escaper every writer of HTML uses, and trusted markup.
#include <porthole/html.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

using namespace porthole;

TEST_CASE("html_escape replaces each of & < > \" ' and appends to the output") {
    CHECK(html_escape("&") == "&amp;");
    CHECK(html_escape("<") == "&lt;");
    CHECK(html_escape(">") == "&gt;");
    CHECK(html_escape("\"") == "&quot;");
    CHECK(html_escape("'") == "&#39;");
    CHECK(html_escape("plain text, no change") == "plain text, no change");
    CHECK(html_escape("") == "");
    CHECK(html_escape("<a href=\"x\">Tom & Jerry's</a>") ==
          "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    std::string out = "kept:";
    html_escape("a<b", out);
    CHECK(out == "kept:a&lt;b");
}

TEST_CASE("html_escape escapes exactly the five characters, at any position in long text") {
    auto reference = [](std::string_view text) {
        std::string out;
        for (char c : text) {
            switch (c) {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&quot;"; break;
                case '\'': out += "&#39;"; break;
                default: out += c;
            }
        }
        return out;
    };
    // Every byte value, in every position of texts long enough for the word-at-a-time scan,
    // after plain text and after a special character.
    for (std::size_t length : {1u, 7u, 8u, 9u, 17u, 33u}) {
        for (std::size_t at = 0; at < length; ++at) {
            for (int byte = 0; byte < 256; ++byte) {
                std::string text(length, 'a');
                text[at] = static_cast<char>(byte);
                if (at + 1 < length) text[at + 1] = '<';
                const std::string expected = reference(text);
                if (html_escape(text) != expected) FAIL_CHECK("byte " << byte << " at " << at);
                if (detail::html_escaped_size(text) != expected.size()) FAIL_CHECK("size");
            }
        }
    }
}

TEST_CASE("html_escape leaves bytes it does not replace alone, invalid UTF-8 and NUL included") {
    // Only the five are replaced: the bytes are not checked as UTF-8, nor repaired.
    std::string odd("\xff\xc3<\0\xe2\x80", 6);
    CHECK(html_escape(odd) == std::string("\xff\xc3&lt;\0\xe2\x80", 9));
    CHECK(html_escape("\xc3\xa9t\xc3\xa9 & co") == "\xc3\xa9t\xc3\xa9 &amp; co");
    // Entities already written are escaped again: the escaper knows text, not markup.
    CHECK(html_escape("&amp;") == "&amp;amp;");
}

TEST_CASE("html owns trusted markup as given; html_view views it") {
    html page("<p>Tom &amp; Jerry</p>");
    CHECK(page.view() == "<p>Tom &amp; Jerry</p>");  // never escaped
    CHECK(page.str() == "<p>Tom &amp; Jerry</p>");
    CHECK(page == html("<p>Tom &amp; Jerry</p>"));
    CHECK_FALSE(page == html("<p>other</p>"));
    CHECK(html().view().empty());

    html_view v = page;  // implicit from html, on purpose
    CHECK(v.view().data() == page.view().data());
    constexpr html_view literal("<b>x</b>");
    static_assert(literal.view() == "<b>x</b>");

    std::string taken = std::move(page).str();  // an rvalue hands its text over
    CHECK(taken == "<p>Tom &amp; Jerry</p>");
    // Text becomes markup only when asked: no implicit conversion from a string.
    static_assert(!std::is_convertible_v<std::string, html>);
    static_assert(!std::is_convertible_v<std::string_view, html_view>);
}
