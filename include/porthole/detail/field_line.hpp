// porthole/detail/field_line.hpp: one field line (RFC 9112 5), scanned in place; the header
// section and the trailer section of a chunked body have the same grammar.
#pragma once

#include <porthole/http.hpp>
#include <porthole/parse_error.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace porthole::detail {

enum class line_result : std::uint8_t { need_more, field, section_end, error };

// Any byte < 0x20 or == 0x7f among 8: such bytes need a closer look (HTAB is fine, the rest end
// the value or are errors). Bytes >= 0x80 (obs-text) pass.
inline bool has_ctl_or_del(std::uint64_t x) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    std::uint64_t below_space = (x - ones * 0x20) & ~x & highs;
    std::uint64_t y = x ^ (ones * 0x7f);
    std::uint64_t del = (y - ones) & ~y & highs;
    return (below_space | del) != 0;
}

// Scans one field line (or the empty line ending the section) starting at p, reading no further
// than end. On field: out is filled and next is the start of the following line. Used for header
// and trailer sections alike.
inline line_result scan_field_line(char const* p, char const* end, bool first, bool allow_bare_lf, header_field& out,
                                   char const*& next, parse_error& err) noexcept {
    if (p == end) return line_result::need_more;
    if (*p == '\r') {
        if (p + 1 == end) return line_result::need_more;
        if (p[1] != '\n') return err = parse_error::bare_cr, line_result::error;
        next = p + 2;
        return line_result::section_end;
    }
    if (*p == '\n') {
        if (!allow_bare_lf) return err = parse_error::bare_lf, line_result::error;
        next = p + 1;
        return line_result::section_end;
    }
    if (*p == ' ' || *p == '\t') {
        err = first ? parse_error::whitespace_before_first_header : parse_error::obs_fold;
        return line_result::error;
    }
    char const* name = p;
    while (p != end && is_tchar(*p)) ++p;
    if (p == end) return line_result::need_more;
    if (*p != ':') {
        if (*p == ' ' || *p == '\t') err = parse_error::whitespace_before_colon;
        else if (*p == '\r' || *p == '\n') err = parse_error::missing_colon;
        else err = parse_error::invalid_header_name;
        return line_result::error;
    }
    if (p == name) return err = parse_error::empty_header_name, line_result::error;
    out.name = std::string_view(name, static_cast<std::size_t>(p - name));
    ++p;
    while (p != end && (*p == ' ' || *p == '\t')) ++p;
    char const* value = p;
    for (;;) {
        while (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if (has_ctl_or_del(word)) break;
            p += 8;
        }
        if (p == end) return line_result::need_more;
        if (!is_field_char(*p)) break;
        ++p;
    }
    char const* value_end = p;
    if (*p == '\r') {
        if (p + 1 == end) return line_result::need_more;
        if (p[1] != '\n') return err = parse_error::bare_cr, line_result::error;
        next = p + 2;
    } else if (*p == '\n') {
        if (!allow_bare_lf) return err = parse_error::bare_lf, line_result::error;
        next = p + 1;
    } else {
        return err = parse_error::invalid_header_value, line_result::error;
    }
    while (value_end != value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
    out.value = std::string_view(value, static_cast<std::size_t>(value_end - value));
    return line_result::field;
}

}  // namespace porthole::detail
