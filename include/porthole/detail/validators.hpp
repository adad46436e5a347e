// porthole/detail/validators.hpp: what static_files reads from a request's preconditions and
// ranges: entity-tag lists of If-Match / If-None-Match (RFC 9110 13.1) and a single byte range
// (RFC 9110 14.1), and the hex digits its ETags are written with.
#pragma once

#include <porthole/detail/decimal.hpp>
#include <porthole/http.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace porthole::detail {

// The entity-tags of an If-Match / If-None-Match value, one at a time. `f(opaque, weak)`
// returns true to stop. Returns false when the value is malformed.
template <class F>
constexpr bool for_each_entity_tag(std::string_view v, F&& f) {
    std::size_t i = 0;
    for (;;) {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
        if (i == v.size()) return true;
        bool weak = false;
        if (v.substr(i, 2) == "W/") {
            weak = true;
            i += 2;
        }
        if (i == v.size() || v[i] != '"') return false;
        auto close = v.find('"', i + 1);
        if (close == std::string_view::npos) return false;
        if (f(v.substr(i, close - i + 1), weak)) return true;
        i = close + 1;
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
        if (i < v.size() && v[i] != ',') return false;
    }
}

// Whether the field lines named `name` ("*" or a list of entity-tags) match `etag` (ours,
// strong; `strong`: a weak tag does not match). The lines are one list (RFC 9110 5.3): a list
// malformed anywhere, after a match or on another line too, matches nothing, and "*" is the
// whole value or malformed.
inline bool etag_fields_match(std::span<header_field const> fields, std::string_view name, std::string_view etag,
                              bool strong) {
    bool found = false, any = false;
    int lines = 0;
    for (auto const& f : fields) {
        if (!iequals(f.name, name)) continue;
        ++lines;
        auto value = trim_ows(f.value);
        if (value == "*") {
            any = true;
            continue;
        }
        bool well_formed = for_each_entity_tag(value, [&](std::string_view tag, bool weak) {
            found = found || (tag == etag && !(strong && weak));
            return false;  // read on: the rest must be well formed too
        });
        if (!well_formed) return false;
    }
    return any ? lines == 1 : found;
}

// A non-negative decimal number, saturating at UINT64_MAX (a last-byte-pos past any file means
// its end); nullopt if not all digits.
constexpr std::optional<std::uint64_t> parse_range_number(std::string_view s) noexcept {
    std::uint64_t v = 0;
    if (parse_decimal(s, v)) return v;
    if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return UINT64_MAX;
}

// Whether the digits `a` are a smaller number than the digits `b`, at any length (the numbers
// parse_range_number saturates compare as written).
constexpr bool decimal_less(std::string_view a, std::string_view b) noexcept {
    a.remove_prefix(std::min(a.find_first_not_of('0'), a.size()));
    b.remove_prefix(std::min(b.find_first_not_of('0'), b.size()));
    return a.size() != b.size() ? a.size() < b.size() : a < b;
}

struct byte_range {
    enum kind_t { none, satisfiable, unsatisfiable } kind = none;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

// A Range header value against a representation of `size` bytes. `none`: no range applies
// (another unit, bad syntax, or several ranges, answered whole).
constexpr byte_range parse_byte_range(std::string_view value, std::uint64_t size) noexcept {
    value = trim_ows(value);
    if (value.size() < 6 || !iequals(value.substr(0, 6), "bytes=")) return {};
    value.remove_prefix(6);
    std::string_view spec;
    int count = 0;
    for_each_list_item(value, [&](std::string_view item) {
        spec = item;
        ++count;
    });
    if (count != 1) return {};
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return {};
    auto first_text = trim_ows(spec.substr(0, dash));
    auto last_text = trim_ows(spec.substr(dash + 1));
    if (first_text.empty()) {  // suffix: the last N bytes
        auto n = parse_range_number(last_text);
        if (!n) return {};
        if (*n == 0) return {byte_range::unsatisfiable};
        if (size == 0) return {};  // satisfiable (RFC 9110 14.1.1), but no range of nothing: the whole, empty
        auto len = std::min(*n, size);
        return {byte_range::satisfiable, size - len, size - 1};
    }
    auto first = parse_range_number(first_text);
    if (!first) return {};
    std::uint64_t last = UINT64_MAX;
    if (!last_text.empty()) {
        auto l = parse_range_number(last_text);
        if (!l || decimal_less(last_text, first_text)) return {};
        last = *l;
    }
    if (*first >= size) return {byte_range::unsatisfiable};
    return {byte_range::satisfiable, *first, std::min(last, size - 1)};
}

inline void append_hex(std::string& out, std::uint64_t v) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
    out.append(buf, r.ptr);
}

}  // namespace porthole::detail
