// Run-time templates over arbitrary text and values. The parse covers the text exactly (literal
// bytes plus every marker's own length add up to it), each marker name is well formed and found
// by has_marker(), values render the same through a lookup and through a list, a missing value
// throws and leaves the output as it was, and HTML escaping matches a plain reference and
// round-trips.
//
// Input layout: a value length byte, the value, then the template text.
#include "fuzz_support.hpp"

#include <porthole/template.hpp>

#include <string>
#include <vector>

namespace fuzz_template {

using namespace porthole;

inline std::string reference_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
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
}

inline std::string unescape(std::string_view s) {
    std::string out;
    while (!s.empty()) {
        bool matched = false;
        for (char c : std::string_view("&<>\"'")) {
            auto entity = detail::html_entity(c);
            if (!entity.empty() && s.starts_with(entity)) {
                out += c;
                s.remove_prefix(entity.size());
                matched = true;
                break;
            }
        }
        if (!matched) {
            out += s.front();
            s.remove_prefix(1);
        }
    }
    return out;
}

inline void check_escaping(std::string_view value) {
    auto escaped = html_escape(value);
    FUZZ_CHECK(escaped == reference_escape(value));
    FUZZ_CHECK(detail::html_escaped_size(value) == escaped.size());
    FUZZ_CHECK(escaped.find_first_of("<>\"'") == std::string::npos);
    FUZZ_CHECK(unescape(escaped) == value);
    auto special = detail::find_html_special(value.data(), value.data() + value.size());
    FUZZ_CHECK(special == value.data() + std::min(value.find_first_of("&<>\"'"), value.size()));
}

inline bool is_marker_name(std::string_view n) {
    if (n.empty() || !detail::is_marker_name_start(n[0])) return false;
    for (char c : n)
        if (!detail::is_marker_name_char(c)) return false;
    return true;
}

inline void check_template(std::string_view text, std::string_view value) {
    page_template page{std::string(text)};
    FUZZ_CHECK(page.text() == text);

    std::vector<std::string> names;
    auto empty = page.render([&](std::string_view name) -> std::optional<template_value> {
        names.emplace_back(name);
        return template_value(std::string_view{});
    });
    for (auto const& n : names) {
        FUZZ_CHECK(is_marker_name(n));
        FUZZ_CHECK(page.has_marker(n));
        FUZZ_CHECK(text.find("@@" + n + "@@") != std::string_view::npos ||
                   text.find("@@!" + n + "@@") != std::string_view::npos);
    }
    // "<" renders as "&lt;" at an escaped marker and as itself at a raw one: the length tells
    // how many are raw, and then every byte of the text is accounted for.
    auto lt = page.render([](std::string_view) -> std::optional<template_value> { return template_value("<"); });
    auto grown = lt.view().size() - empty.view().size();
    FUZZ_CHECK(grown >= names.size() && grown <= 4 * names.size() && (4 * names.size() - grown) % 3 == 0);
    std::size_t raw = (4 * names.size() - grown) / 3;
    std::size_t marker_bytes = raw;
    for (auto const& n : names) marker_bytes += n.size() + 4;
    FUZZ_CHECK(empty.view().size() + marker_bytes == text.size());

    // The same values through a list and through a lookup.
    std::vector<named_value> list;
    for (auto const& n : names) list.push_back({n, template_value(value)});
    auto by_list = page.render(std::span<const named_value>(list));
    auto by_lookup =
        page.render([&](std::string_view) -> std::optional<template_value> { return template_value(value); });
    FUZZ_CHECK(by_list == by_lookup);
    if (raw == 0) {  // every marker escaped: the same as inserting the escaped text as markup
        auto escaped = html_escape(value);
        auto as_markup = page.render(
            [&](std::string_view) -> std::optional<template_value> { return template_value(html_view(escaped)); });
        FUZZ_CHECK(as_markup == by_lookup);
    }

    if (!names.empty()) {
        std::string out = "kept";
        bool threw = false;
        try {
            page.render_to(out, std::span<const named_value>{});
        } catch (template_error const&) {
            threw = true;
        }
        FUZZ_CHECK(threw);
        FUZZ_CHECK(out == "kept");
    } else {
        FUZZ_CHECK(empty.view() == text);
    }
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    fuzz_support::exact_buffer value(in.take(in.byte()));
    fuzz_support::exact_buffer text(in.rest());
    check_escaping(value.view());
    check_escaping(text.view());
    check_template(text.view(), value.view());
}

}  // namespace fuzz_template

PORTHOLE_FUZZ_ENTRY(fuzz_template)
