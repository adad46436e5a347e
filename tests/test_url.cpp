#include <porthole/url.hpp>

#include <doctest/doctest.h>

#include <iterator>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

using namespace porthole;
using namespace std::string_view_literals;

namespace {
std::optional<std::string> component(std::string_view in) {
    std::string out;
    if (!url::decode_component(in, out)) return std::nullopt;
    return out;
}
std::optional<std::string> path(std::string_view in) {
    std::string out;
    if (!url::decode_path(in, out)) return std::nullopt;
    return out;
}
std::vector<std::string_view> split(std::string_view p) {
    std::vector<std::string_view> v;
    for (auto s : url::segments(p)) v.push_back(s);
    return v;
}
std::vector<std::string_view> vec(std::initializer_list<std::string_view> l) { return l; }
}  // namespace

// ---------------------------------------------------------------- decode_component

TEST_CASE("decode_component decodes escapes with hex digits of either case") {
    CHECK(component("a%20b") == "a b");
    CHECK(component("%41%4a%4A%6b") == "AJJk");
    CHECK(component("%e2%82%AC") == "\xe2\x82\xac");
    CHECK(component("") == "");
    CHECK(component("plain") == "plain");
    CHECK(component("%25") == "%");
}

TEST_CASE("decode_component decodes once: %2541 is %41, not A") { CHECK(component("%2541") == "%41"); }

TEST_CASE("decode_component rejects malformed escapes") {
    for (auto bad : {"%"sv, "%4"sv, "%zz"sv, "%4g"sv, "%g4"sv, "a%"sv, "a%2"sv, "%%41"sv, "% 41"sv}) {
        CAPTURE(bad);
        CHECK_FALSE(component(bad));
    }
}

TEST_CASE("decode_component leaves out unchanged when it fails") {
    std::string out = "kept";
    CHECK_FALSE(url::decode_component("abc%4", out));
    CHECK(out == "kept");
}

TEST_CASE("decode_component appends to what out holds") {
    std::string out = "x=";
    CHECK(url::decode_component("1%2B1", out));
    CHECK(out == "x=1+1");
}

TEST_CASE("'+' is a space in decode_form only") {
    CHECK(component("a+b") == "a+b");
    std::string out;
    url::decode_form("x+%2B+y", out);
    CHECK(out == "x + y");
}

TEST_CASE("decode_component passes %00 and raw bytes through") {
    auto r = component("a%00b");
    REQUIRE(r);
    CHECK(*r == std::string("a\0b", 3));
    CHECK(component("\xff") == "\xff");
}

// ---------------------------------------------------------------- decode_path

TEST_CASE("decode_path decodes every escape except %2F and %25") {
    CHECK(path("/a%20b/%41") == "/a b/A");
    CHECK(path("/files/a%2Fb") == "/files/a%2Fb");
    CHECK(path("/100%25") == "/100%25");
    CHECK(path("/%7e%3F%23") == "/~?#");
}

TEST_CASE("decode_path writes the kept escapes in upper case") {
    CHECK(path("/a%2fb") == "/a%2Fb");
    CHECK(path("/%2f%2F") == "/%2F%2F");
}

TEST_CASE("decode_path keeps %252F distinct from %2F") {
    CHECK(path("/a%252Fb") == "/a%252Fb");
    CHECK(path("/a%2Fb") == "/a%2Fb");
    // After splitting, each decodes to its own bytes: "a%2Fb" and "a/b".
    std::string one, two;
    REQUIRE(url::decode_segment(split(*path("/a%252Fb")).at(0), one));
    REQUIRE(url::decode_segment(split(*path("/a%2Fb")).at(0), two));
    CHECK(one == "a%2Fb");
    CHECK(two == "a/b");
}

TEST_CASE("an encoded slash never becomes a separator") {
    auto p = path("/files/a%2Fb/c");
    REQUIRE(p);
    CHECK(split(*p) == vec({"files", "a%2Fb", "c"}));
}

TEST_CASE("decode_path leaves '+' alone") { CHECK(path("/a+b") == "/a+b"); }

TEST_CASE("decode_path rejects encoded and raw control bytes: CR, LF, NUL, every C0 control and DEL") {
    for (auto bad :
         {"/a%0d%0aSet-Cookie:%20x", "/a%0D", "/a%0a", "/a%00", "/%09tab", "/%1f", "/%1F", "/x%7f", "/x%7F"}) {
        CAPTURE(bad);
        CHECK_FALSE(path(bad));
    }
    CHECK_FALSE(path(std::string_view("/a\rb", 4)));
    CHECK_FALSE(path("/a\x7f"));
    CHECK(path("/a%20b%7e%80%ff") == "/a b~\x80\xff");  // space, '~' and non-ASCII are data
    CHECK(path("/%5C") == "/\\");                       // an encoded backslash is data too
}

TEST_CASE("decode_path rejects malformed escapes and NUL bytes") {
    CHECK_FALSE(path("/a%"));
    CHECK_FALSE(path("/a%2"));
    CHECK_FALSE(path("/a%zz"));
    CHECK_FALSE(path("/a%00b"));
    CHECK_FALSE(path(std::string_view("/a\0b", 4)));
    std::string out = "kept";
    CHECK_FALSE(url::decode_path("/x%00", out));
    CHECK(out == "kept");
}

TEST_CASE("decode_path decodes encoded dots, so dot segments are visible") {
    auto p = path("/static/%2e%2E/secret");
    REQUIRE(p);
    CHECK(*p == "/static/../secret");
    CHECK(url::has_dot_segment(*p));
    CHECK(url::has_dot_segment("/a/./b"));
    CHECK_FALSE(url::has_dot_segment("/a/.../b"));
    CHECK_FALSE(url::has_dot_segment("/a/.b/c."));
}

TEST_CASE("is_dot_segment is true for . and .. only") {
    CHECK(url::is_dot_segment("."));
    CHECK(url::is_dot_segment(".."));
    CHECK_FALSE(url::is_dot_segment(""));
    CHECK_FALSE(url::is_dot_segment("..."));
    CHECK_FALSE(url::is_dot_segment(".a"));
    CHECK_FALSE(url::is_dot_segment("%2e"));  // raw, not yet decoded
}

// ---------------------------------------------------------------- segments

TEST_CASE("segments: a leading slash is dropped, each other slash separates") {
    CHECK(split("") == vec({}));
    CHECK(split("/") == vec({""}));
    CHECK(split("/a") == vec({"a"}));
    CHECK(split("/a/b") == vec({"a", "b"}));
    CHECK(split("a/b") == vec({"a", "b"}));
    CHECK(split("/a//b") == vec({"a", "", "b"}));
    CHECK(split("//") == vec({"", ""}));
}

TEST_CASE("segments: a trailing slash is a final empty segment") {
    CHECK(split("/index") == vec({"index"}));
    CHECK(split("/index/") == vec({"index", ""}));
    CHECK(split("/index/") != split("/index"));
}

TEST_CASE("segments are views into the path") {
    std::string_view p = "/ab/cd";
    auto it = url::segments(p).begin();
    CHECK(it->data() == p.data() + 1);
    ++it;
    CHECK(it->data() == p.data() + 4);
}

TEST_CASE("segments is a forward range") {
    static_assert(std::ranges::forward_range<url::segments>);
    url::segments s("/a/b/c");
    CHECK(std::ranges::distance(s) == 3);
    auto it = s.begin();
    auto copy = it++;
    CHECK(*copy == "a");
    CHECK(*it == "b");
}

TEST_CASE("decode_segment turns %2F and %25 into bytes and refuses other escapes") {
    std::string out;
    CHECK(url::decode_segment("a%2Fb%25c%2f", out));
    CHECK(out == "a/b%c/");
    out = "kept";
    CHECK_FALSE(url::decode_segment("a%41", out));
    CHECK(out == "kept");
    CHECK_FALSE(url::decode_segment("a%2", out));
    CHECK_FALSE(url::decode_segment("a%", out));
    CHECK(out == "kept");
}

// ---------------------------------------------------------------- query strings

namespace {
std::vector<std::pair<std::string_view, std::string_view>> pairs(std::string_view q) {
    std::vector<std::pair<std::string_view, std::string_view>> v;
    for (auto const& p : url::query_params(q)) v.emplace_back(p.name, p.value);
    return v;
}
using pv = std::vector<std::pair<std::string_view, std::string_view>>;
}  // namespace

TEST_CASE("query_params: empty pairs are skipped, a pair without '=' has an empty value") {
    CHECK(pairs("a=1&b=&c&&d=4") == pv{{"a", "1"}, {"b", ""}, {"c", ""}, {"d", "4"}});
    CHECK(pairs("") == pv{});
    CHECK(pairs("&&&") == pv{});
    CHECK(pairs("&a=1&") == pv{{"a", "1"}});
}

TEST_CASE("query_params: the first '=' splits, names may be empty") {
    CHECK(pairs("k=a=b") == pv{{"k", "a=b"}});
    CHECK(pairs("=v") == pv{{"", "v"}});
    CHECK(pairs("=") == pv{{"", ""}});
}

TEST_CASE("query_params: names and values stay encoded, duplicates all appear") {
    CHECK(pairs("a%20b=c+d&a%20b=2") == pv{{"a%20b", "c+d"}, {"a%20b", "2"}});
}

TEST_CASE("query_params: ';' is not a separator") { CHECK(pairs("a=1;b=2") == pv{{"a", "1;b=2"}}); }

TEST_CASE("query_params is a forward range") {
    static_assert(std::ranges::forward_range<url::query_params>);
    CHECK(std::ranges::distance(url::query_params("a&b&&c")) == 3);
}

TEST_CASE("query_value decodes form-style and returns the first match") {
    CHECK(url::query_value("q=hello+world%21", "q") == "hello world!");
    CHECK(url::query_value("x=1&q=a%26b%3Dc&q=2", "q") == "a&b=c");
}

TEST_CASE("query_value compares names after decoding") {
    CHECK(url::query_value("first+name=Ada&x=1", "first name") == "Ada");
    CHECK(url::query_value("first%20name=Ada", "first name") == "Ada");
    CHECK(url::query_value("%61=1", "a") == "1");
    CHECK_FALSE(url::query_value("first+name=Ada", "first+name"));
}

TEST_CASE("query_value: duplicates give the first, absent names nothing") {
    CHECK(url::query_value("a=1&a=2", "a") == "1");
    CHECK(url::query_value("a&a=2", "a") == "");
    CHECK_FALSE(url::query_value("a=1", "b"));
    CHECK_FALSE(url::query_value("ab=1", "a"));
    CHECK_FALSE(url::query_value("a=1", "ab"));
    CHECK_FALSE(url::query_value("", ""));
    CHECK(url::query_value("=x", "") == "x");
}

TEST_CASE("query_value reads a '%' without two hex digits as itself, so the first pair of a name is the one found") {
    CHECK(url::query_value("a=%zz&a=ok", "a") == "%zz");
    CHECK(url::query_value("a%=1&a=2", "a") == "2");
    CHECK(url::query_value("a%=1&a=2", "a%") == "1");
    CHECK(url::query_value("a=%4", "a") == "%4");
    CHECK(url::query_value("value=100%&x=1", "value") == "100%");
    CHECK(url::query_value("%zz+1=v", "%zz 1") == "v");
}

// ---------------------------------------------------------------- encoding

TEST_CASE("encode_component keeps the unreserved characters and escapes the rest") {
    std::string out;
    url::encode_component("AZaz09-._~", out);
    CHECK(out == "AZaz09-._~");
    out.clear();
    url::encode_component("a b/c?d=e&f%\r\n\"<\xff", out);
    CHECK(out == "a%20b%2Fc%3Fd%3De%26f%25%0D%0A%22%3C%FF");
}

TEST_CASE("encode_path keeps slashes") {
    std::string out = "Location: ";
    url::encode_path("/files/a b/100%", out);
    CHECK(out == "Location: /files/a%20b/100%25");
}

TEST_CASE("encode_as_target keeps what a URI's path and query may hold, escapes too, and encodes the rest") {
    std::string out = "Location: ";
    url::encode_as_target("/a\"b<c>{d}|^`?q=|&r=%20 \\\x7f\xc3\xa9#[]", out);
    CHECK(out == "Location: /a%22b%3Cc%3E%7Bd%7D%7C%5E%60?q=%7C&r=%20%20%5C%7F%C3%A9%23%5B%5D");
    // A '%' that begins no escape is one byte a URI may not hold: "%25", the same to decode_form.
    out.clear();
    url::encode_as_target("q=100%&r=%zz&s=%4&t=%", out);
    CHECK(out == "q=100%25&r=%25zz&s=%254&t=%25");
    std::string once, twice;
    url::decode_form("100%", once);
    url::decode_form("100%25", twice);
    CHECK(once == twice);
    // Byte by byte: kept exactly when RFC 3986 3.3/3.4 allow it (pchar, '/', '?'); a lone '%' encoded.
    constexpr std::string_view allowed =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?";
    for (int c = 0; c < 256; ++c) {
        CAPTURE(c);
        std::string one;
        url::encode_as_target(std::string(1, static_cast<char>(c)), one);
        if (allowed.find(static_cast<char>(c)) != std::string_view::npos) {
            CHECK(one == std::string(1, static_cast<char>(c)));
        } else {
            std::string expected;
            url::encode_component(std::string(1, static_cast<char>(c)), expected);
            CHECK(one == expected);
        }
    }
}

TEST_CASE("append_local_path writes a path on this host: leading slashes and backslashes become one '/'") {
    auto local = [](std::string_view raw) {
        std::string out;
        url::append_local_path(raw, out);
        return out;
    };
    CHECK(local("/docs/a b<") == "/docs/a%20b%3C");
    CHECK(local("//evil.example/x") == "/evil.example/x");
    CHECK(local("/\\/\\evil.example") == "/evil.example");
    CHECK(local("/a//b\\c") == "/a//b%5Cc");  // only the leading run
    CHECK(local("") == "/");
    CHECK(local("evil.example") == "/evil.example");
}

TEST_CASE("encoding then decoding gives back every byte") {
    std::string all;
    for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
    std::string enc, dec;
    url::encode_component(all, enc);
    REQUIRE(url::decode_component(enc, dec));
    CHECK(dec == all);
    for (char c : enc) CHECK((url::detail::is_unreserved(c) || c == '%'));
}
