#include <porthole/response.hpp>
#include <porthole/template.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

using namespace porthole;
using namespace porthole::literals;

namespace {

// Renders a run-time template where every marker's value is its own name in brackets.
std::string render_names(std::string_view text) {
    page_template tpl{std::string(text)};
    std::deque<std::string> kept;  // stable addresses: values are views
    return tpl
        .render([&kept](std::string_view name) -> std::optional<template_value> {
            std::string& bracketed = kept.emplace_back();
            bracketed += '[';
            bracketed += name;
            bracketed += ']';
            return template_value(bracketed);
        })
        .str();
}

std::filesystem::path scratch_dir() {
    auto dir = std::filesystem::path(PORTHOLE_BUILD_DIR) / "test_template_files";
    std::filesystem::create_directories(dir);
    return dir;
}

void write_file(std::filesystem::path const& file, std::string_view text) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

struct money {
    long cents;
};
struct refused {};  // its formatter throws

}  // namespace

#if defined(PORTHOLE_WITH_FMT)
template <>
struct fmt::formatter<refused> : fmt::formatter<std::string_view> {
    auto format(refused const&, format_context& ctx) const -> decltype(ctx.out()) {
        throw std::runtime_error("refused to format");
    }
};
template <>
struct fmt::formatter<money> : fmt::formatter<std::string_view> {
    auto format(money const& m, format_context& ctx) const {
        return fmt::format_to(ctx.out(), "<{}.{:02}>", m.cents / 100, m.cents % 100);
    }
};
#endif

TEST_CASE("a marker is @@name@@ with name [A-Za-z_][A-Za-z0-9_.]*") {
    CHECK(render_names("@@a@@") == "[a]");
    CHECK(render_names("@@_x9@@") == "[_x9]");
    CHECK(render_names("@@Z_@@") == "[Z_]");
    CHECK(render_names("@@user.name@@") == "[user.name]");
    CHECK(render_names("@@a..b.@@") == "[a..b.]");
}

TEST_CASE("an @@ that does not form a marker stays as text") {
    CHECK(render_names("@@") == "@@");
    CHECK(render_names("@@@@") == "@@@@");
    CHECK(render_names("@@@@@") == "@@@@@");
    CHECK(render_names("@@1a@@") == "@@1a@@");
    CHECK(render_names("@@.a@@") == "@@.a@@");
    CHECK(render_names("@@a b@@") == "@@a b@@");
    CHECK(render_names("@@a-b@@") == "@@a-b@@");
    CHECK(render_names("x @@name") == "x @@name");
    CHECK(render_names("x @@name@") == "x @@name@");
    CHECK(render_names("@@!@@") == "@@!@@");
    CHECK(render_names("@@!1@@") == "@@!1@@");
    CHECK(render_names("@@ !a@@") == "@@ !a@@");
    CHECK(render_names("mail@@example.com") == "mail@@example.com");
}

TEST_CASE("markers are found left to right, next to each other and next to stray @") {
    CHECK(render_names("@@a@@@@b@@") == "[a][b]");
    CHECK(render_names("@@a@@ mid @@b@@") == "[a] mid [b]");
    CHECK(render_names("@@@a@@") == "@[a]");
    CHECK(render_names("@@a@@@") == "[a]@");
    CHECK(render_names("@@a@@b@@") == "[a]b@@");
    CHECK(render_names("@@1@@a@@") == "@@1[a]");
}

TEST_CASE("literal templates are parsed at compile time into literal and marker pieces") {
    constexpr auto page = make_template<"<p>@@name@@</p>">();
    static_assert(page.piece_count == 3);
    static_assert(page.marker_count == 1);
    static_assert(page.has_marker("name") && !page.has_marker("nam"));

    static_assert(make_template<"">().piece_count == 0);
    static_assert(make_template<"@@">().piece_count == 1);
    static_assert(make_template<"@@@@">().marker_count == 0);
    static_assert(make_template<"@@1a@@ @@a b@@ @@name">().marker_count == 0);
    static_assert(make_template<"@@a@@@@b@@">().piece_count == 2);
    static_assert(make_template<"@@a@@ @@!b@@ @@a@@">().piece_count == 5);
    static_assert("@@user.name@@"_tpl.has_marker("user.name"));
    CHECK(page.text() == "<p>@@name@@</p>");
}

TEST_CASE("compile-time and run-time parsing agree") {
    constexpr std::string_view text = "@@@a@@x@@1@@@@b.c@@@@!d@@@";
    constexpr auto page = make_template<"@@@a@@x@@1@@@@b.c@@@@!d@@@">();
    static_assert(page.text() == text);
    page_template tpl{std::string(text)};
    CHECK(tpl.piece_count() == page.piece_count);
    CHECK(page.render(arg<"a">(1), arg<"b.c">(2), arg<"d">(3)) == tpl.render({{"a", 1}, {"b.c", 2}, {"d", 3}}));
    CHECK(tpl.render({{"a", 1}, {"b.c", 2}, {"d", 3}}).view() == "@1x@@1@@23@");
}

TEST_CASE("values are escaped by default and inserted raw with @@!name@@") {
    const std::string evil = "<script>alert('x & \"y\"')</script>";
    const std::string escaped = "&lt;script&gt;alert(&#39;x &amp; &quot;y&quot;&#39;)&lt;/script&gt;";
    constexpr auto page = make_template<"[@@v@@][@@!v@@]">();
    CHECK(page.render(arg<"v">(evil)).str() == "[" + escaped + "][" + evil + "]");
    page_template tpl{"[@@v@@][@@!v@@]"};
    CHECK(tpl.render({{"v", evil}}).str() == "[" + escaped + "][" + evil + "]");
    CHECK(page.render(arg<"v">('<')).view() == "[&lt;][<]");
    CHECK(tpl.render({{"v", '&'}}).view() == "[&amp;][&]");
}

TEST_CASE("a rendered template used as a value is not escaped twice") {
    constexpr auto item = make_template<"<li>@@name@@</li>">();
    constexpr auto list = make_template<"<ul>@@items@@</ul>">();
    const html inner = item.render(arg<"name">("Tom & Jerry"));
    CHECK(inner.view() == "<li>Tom &amp; Jerry</li>");
    CHECK(list.render(arg<"items">(inner)).view() == "<ul><li>Tom &amp; Jerry</li></ul>");

    page_template outer{"<ul>@@items@@</ul>"};
    CHECK(outer.render({{"items", inner}}).view() == "<ul><li>Tom &amp; Jerry</li></ul>");
    const html nested = outer.render({{"items", inner}});
    CHECK(list.render(arg<"items">(nested)).view() == "<ul><ul><li>Tom &amp; Jerry</li></ul></ul>");
}

TEST_CASE("trusted markup wrapped in html or html_view is inserted raw") {
    constexpr auto page = make_template<"<nav>@@nav@@</nav>">();
    CHECK(page.render(arg<"nav">(html("<a href=\"/\">home</a>"))).view() == "<nav><a href=\"/\">home</a></nav>");
    CHECK(page.render(arg<"nav">(html_view("<b>&amp;</b>"))).view() == "<nav><b>&amp;</b></nav>");
    page_template tpl{"<nav>@@nav@@</nav>"};
    CHECK(tpl.render({{"nav", html_view("<b>x</b>")}}).view() == "<nav><b>x</b></nav>");
}

TEST_CASE("numbers are formatted without locale, booleans as true/false") {
    constexpr auto page = make_template<"@@a@@|@@b@@|@@c@@|@@d@@|@@e@@|@@f@@|@@g@@|@@h@@">();
    CHECK(page.render(arg<"a">(0), arg<"b">(-42), arg<"c">(std::numeric_limits<std::int64_t>::min()),
                      arg<"d">(std::numeric_limits<std::uint64_t>::max()), arg<"e">(std::uint8_t{7}), arg<"f">(true),
                      arg<"g">(false), arg<"h">(short{-3}))
              .view() == "0|-42|-9223372036854775808|18446744073709551615|7|true|false|-3");

    constexpr auto floats = make_template<"@@a@@ @@b@@ @@c@@ @@d@@ @@e@@ @@f@@">();
    CHECK(floats.render(arg<"a">(0.1), arg<"b">(0.1f), arg<"c">(1e21), arg<"d">(-0.0), arg<"e">(1234.5), arg<"f">(2.5L))
              .view() == "0.1 0.1 1e+21 -0 1234.5 2.5");

    page_template tpl{"@@i@@ @@u@@ @@f@@ @@d@@ @@l@@ @@b@@ @@c@@"};
    CHECK(tpl.render({{"i", -7}, {"u", 7u}, {"f", 0.1f}, {"d", 1.5e-7}, {"l", 2.5L}, {"b", true}, {"c", 'x'}}).view() ==
          "-7 7 0.1 1.5e-07 2.5 true x");
}

TEST_CASE("string-like values are written directly") {
    const std::string s = "string";
    const std::string_view sv = "view";
    char const* cp = "pointer";
    constexpr auto page = make_template<"@@a@@ @@b@@ @@c@@ @@d@@ @@e@@">();
    CHECK(page.render(arg<"a">(s), arg<"b">(sv), arg<"c">(cp), arg<"d">("array"), arg<"e">(std::string("temporary")))
              .view() == "string view pointer array temporary");
    page_template tpl{"@@a@@ @@b@@ @@c@@ @@d@@ @@e@@"};
    CHECK(tpl.render({{"a", s}, {"b", sv}, {"c", cp}, {"d", "array"}, {"e", std::string("temp")}}).view() ==
          "string view pointer array temp");
}

TEST_CASE("a null C string is empty text") {
    char const* const null_text = nullptr;
    char* const null_mutable_text = nullptr;
    constexpr auto page = make_template<"[@@a@@][@@!a@@][@@b@@]">();
    CHECK(page.render(arg<"a">(null_text), "b"_v = null_mutable_text).view() == "[][][]");
    page_template tpl{"[@@a@@][@@!a@@][@@b@@]"};
    CHECK(tpl.render({{"a", null_text}, {"b", null_mutable_text}}).view() == "[][][]");
    CHECK(tpl.render({{"a", static_cast<char const*>(nullptr)}, {"b", ""}}).view() == "[][][]");
    // nullptr itself does not compile (tests/compile_fail/template_null_value.cpp).
    static_assert(!detail::writable<std::nullptr_t>);
}

TEST_CASE("literal templates take values by compile-time name, in any order, once per name") {
    constexpr auto page = make_template<"@@b@@-@@a@@-@@b@@">();
    CHECK(page.render(arg<"a">(1), arg<"b">(2)).view() == "2-1-2");
    CHECK(page.render("b"_v = "x", "a"_v = "y").view() == "x-y-x");
    CHECK("<i>@@t@@</i>"_tpl.render("t"_v = 5).view() == "<i>5</i>");
    CHECK(make_template<"no markers">().render().view() == "no markers");
}

TEST_CASE("render_to appends and reuses the output's capacity") {
    constexpr auto page = make_template<"<b>@@v@@</b>">();
    std::string out = "start:";
    page.render_to(out, arg<"v">(1));
    CHECK(out == "start:<b>1</b>");
    out.clear();
    page.render_to(out, arg<"v">("&"));
    CHECK(out == "<b>&amp;</b>");

    page_template tpl{"<b>@@v@@</b>"};
    tpl.render_to(out, {{"v", 2}});
    CHECK(out == "<b>&amp;</b><b>2</b>");
}

TEST_CASE("render_to copes with a value that views the output itself") {
    static constexpr auto item = make_template<"<li>@@x@@ @@!x@@</li>">();
    page_template tpl{"<li>@@x@@ @@!x@@</li>"};
    // Short (kept inside the string object) and long (on the heap, moved by the reserve).
    for (std::string const& start : {std::string("a&b"), std::string(300, '&') + "<z>"}) {
        CAPTURE(start.size());
        std::string const expected = start + "<li>" + html_escape(start) + " " + start + "</li>";
        // A new string each time: its capacity is the text's, so rendering has to move it.
        auto rendered_into_itself = [&start](auto render) {
            std::string out = start;
            render(out);
            return out;
        };
        CHECK(rendered_into_itself([](std::string& out) { item.render_to(out, arg<"x">(out)); }) == expected);
        CHECK(rendered_into_itself([](std::string& out) { item.render_to(out, "x"_v = std::string_view(out)); }) ==
              expected);
        CHECK(rendered_into_itself([](std::string& out) { item.render_to(out, arg<"x">(out.c_str())); }) == expected);
        CHECK(rendered_into_itself([](std::string& out) { item.render_to(out, arg<"x">(html_view(out))); }) ==
              start + "<li>" + start + " " + start + "</li>");
        CHECK(rendered_into_itself([&tpl](std::string& out) { tpl.render_to(out, {{"x", out}}); }) == expected);
        CHECK(rendered_into_itself([&tpl](std::string& out) {
                  tpl.render_to(out, {{"x", std::string_view(out).substr(1)}});
              }) == start + "<li>" + html_escape(start.substr(1)) + " " + start.substr(1) + "</li>");
        // A lookup is asked as each marker is written: its value is the output so far.
        std::string const before_raw = start + "<li>" + html_escape(start + "<li>") + " ";
        CHECK(rendered_into_itself([&tpl](std::string& out) {
                  tpl.render_to(out, [&out](std::string_view) -> std::optional<template_value> { return out; });
              }) == before_raw + before_raw + "</li>");
    }
}

TEST_CASE("run-time templates ignore values that have no marker") {
    page_template tpl{"Hello @@name@@"};
    CHECK(tpl.render({{"unused", 1}, {"name", "Ann"}}).view() == "Hello Ann");
    CHECK(tpl.has_marker("name"));
    CHECK(!tpl.has_marker("unused"));
}

TEST_CASE("a run-time marker without a value throws template_error and leaves the output as it was") {
    page_template tpl{"<p>@@a@@ @@user.name@@</p>"};
    CHECK_THROWS_WITH_AS(tpl.render({{"a", 1}}), "no value given for marker @@user.name@@", template_error);
    std::string out = "before";
    CHECK_THROWS_AS(tpl.render_to(out, {{"a", 1}}), template_error);
    CHECK(out == "before");
    auto lookup = [](std::string_view name) -> std::optional<template_value> {
        if (name == "a") return template_value(1);
        return std::nullopt;
    };
    CHECK_THROWS_WITH_AS(tpl.render(lookup), "no value given for marker @@user.name@@", template_error);
}

TEST_CASE("a run-time template given two values for one name uses one of them at every occurrence") {
    page_template tpl{"@@a@@ @@a@@ @@a@@"};
    CHECK(tpl.render({{"a", "1"}, {"a", "2"}}).view() == "1 1 1");  // gave 2 1 2
    CHECK(tpl.render({{"a", "1"}, {"a", "2"}, {"a", "3"}}).view() == "1 1 1");
    // Any order, any repeats: every occurrence of a name gets the same value, one given for it.
    std::uint32_t seed = 12345;
    auto next_random = [&seed](std::uint32_t n) { return ((seed = seed * 1664525u + 1013904223u) >> 16) % n; };
    static constexpr std::string_view names[] = {"a", "b", "c", "d"};
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        std::vector<std::size_t> marker_names;
        for (std::uint32_t n = next_random(40) + 1; n > 0; --n) {
            marker_names.push_back(next_random(4));
            text += "@@" + std::string(names[marker_names.back()]) + "@@,";
        }
        std::vector<named_value> values;
        for (int i = 0; i < 8; ++i) values.push_back({names[next_random(4)], i});
        bool all_given = true;
        for (auto n : marker_names)
            all_given &=
                std::any_of(values.begin(), values.end(), [&](named_value const& v) { return v.name == names[n]; });
        if (!all_given) continue;
        CAPTURE(text);
        std::string out = "kept:";
        page_template{text}.render_to(out, values);
        REQUIRE(out.starts_with("kept:"));
        std::vector<std::string> got;
        for (std::size_t at = 5, comma; (comma = out.find(',', at)) != std::string::npos; at = comma + 1)
            got.push_back(out.substr(at, comma - at));
        REQUIRE(got.size() == marker_names.size());
        std::string used[4];
        for (std::size_t i = 0; i < got.size(); ++i) {
            auto n = marker_names[i];
            if (used[n].empty()) used[n] = got[i];
            CHECK(got[i] == used[n]);  // the same at every occurrence
            auto index = static_cast<std::size_t>(std::stoi(got[i]));
            REQUIRE(index < values.size());
            CHECK(values[index].name == names[n]);  // a value given for this name
        }
    }
    std::string out = "kept:";  // sized and written with the same values
    page_template mixed{"@@b@@ @@a@@ @@b@@ @@c@@ @@a@@"};
    mixed.render_to(out, {{"a", "<<<<<<<<"}, {"b", "&"}, {"a", "<<<<<<<<"}, {"c", ""}, {"b", "&"}});
    CHECK(out == "kept:&amp; &lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt; &amp;  &lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;");
    std::string many;  // more names repeating than render_to keeps on its stack (16)
    std::vector<std::string> many_names;
    std::vector<named_value> many_values;
    for (int i = 0; i < 40; ++i) many_names.push_back("n" + std::to_string(i));
    for (int i = 0; i < 40; ++i) many += "@@" + many_names[static_cast<std::size_t>(i)] + "@@,";
    for (int i = 39; i >= 0; --i) many += "@@" + many_names[static_cast<std::size_t>(i)] + "@@,";
    for (int i = 0; i < 40; ++i) many_values.push_back({many_names[static_cast<std::size_t>(i)], i});
    for (int i = 0; i < 40; ++i) many_values.push_back({many_names[static_cast<std::size_t>(i)], 100 + i});
    auto rendered = page_template{many}.render(many_values).str();
    std::string expected;
    for (int i = 0; i < 40; ++i) expected += std::to_string(i) + ",";
    for (int i = 39; i >= 0; --i) expected += std::to_string(i) + ",";
    CHECK(rendered == expected);
}

TEST_CASE("a lookup callback is asked once per marker, in order") {
    page_template tpl{"@@b@@ @@a@@ @@!b@@"};
    std::vector<std::string> asked;
    auto out = tpl.render([&](std::string_view name) -> std::optional<template_value> {
        asked.emplace_back(name);
        return template_value(name == "a" ? "<a>" : "<b>");
    });
    CHECK(out.view() == "&lt;b&gt; &lt;a&gt; <b>");
    CHECK(asked == std::vector<std::string>{"b", "a", "b"});
}

TEST_CASE("run-time templates take values from a span, e.g. a vector built at run time") {
    page_template tpl{"@@x@@+@@y@@"};
    std::vector<named_value> values{{"x", 1}, {"y", 2}};
    CHECK(tpl.render(values).view() == "1+2");
}

TEST_CASE("load_template parses a file; a missing file throws template_error naming it") {
    auto const file = scratch_dir() / "load.html";
    write_file(file, "<h1>@@title@@</h1>\n");
    auto tpl = load_template(file);
    CHECK(tpl.render({{"title", "A & B"}}).view() == "<h1>A &amp; B</h1>\n");

    auto const missing = scratch_dir() / "no-such-template.html";
    CHECK_THROWS_AS(load_template(missing), template_error);
    try {
        (void)load_template(missing);
    } catch (template_error const& e) {
        CHECK(std::string_view(e.what()).find("no-such-template.html") != std::string_view::npos);
        CHECK(std::string_view(e.what()).find("No such file") != std::string_view::npos);
    }
    CHECK_THROWS_AS(load_template(scratch_dir()), template_error);  // a directory
}

#if defined(PORTHOLE_WITH_FMT)
TEST_CASE("with fmt, any type with a fmt::formatter is a value, escaped unless raw") {
    constexpr auto page = make_template<"@@m@@ @@!m@@">();
    CHECK(page.render(arg<"m">(money{1234})).view() == "&lt;12.34&gt; <12.34>");
    page_template tpl{"@@m@@ @@!m@@"};
    const money m{5};
    CHECK(tpl.render({{"m", m}}).view() == "&lt;0.05&gt; <0.05>");
}

TEST_CASE("with fmt, a formatter that throws leaves render_to's output as it was") {
    constexpr auto page = make_template<"<p>@@a@@ @@m@@</p>">();
    page_template tpl{"<p>@@a@@ @@m@@</p>"};
    const refused r;
    std::string out = "before";
    CHECK_THROWS_AS(page.render_to(out, arg<"a">("A"), arg<"m">(r)), std::runtime_error);
    CHECK(out == "before");
    CHECK_THROWS_AS(tpl.render_to(out, {{"a", "A"}, {"m", r}}), std::runtime_error);
    CHECK(out == "before");
}
#endif

TEST_CASE("a rendered page is a response as it is: response::html takes html, escaped once") {
    static constexpr auto page = make_template<"<p>@@who@@</p>">();
    auto res = response::html(page.render(arg<"who">("<b>Ada</b>")), status::accepted);
    CHECK(res.status() == status::accepted);
    CHECK(res.content_type() == "text/html; charset=utf-8");
    CHECK(res.body_view() == "<p>&lt;b&gt;Ada&lt;/b&gt;</p>");
    CHECK(response::html("<i>as given</i>").body_view() == "<i>as given</i>");
}
