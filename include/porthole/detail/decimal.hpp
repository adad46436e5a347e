// porthole/detail/decimal.hpp: the one reader of decimal numbers, for every grammar that has
// one: Content-Length (1*DIGIT, RFC 9110 section 8.6), Range positions, {:int} and {:uint}
// route segments, ports and command-line values.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace porthole::detail {

// 1*DIGIT as an unsigned 64-bit number: no sign, no space, any number of leading zeros ("007"
// is 7). False, leaving `out` alone, for anything else or a value beyond 2^64 - 1.
constexpr bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept {
    if (s.empty()) return false;
    while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
    if (s.size() > 20) return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {  // 19 digits at most: no overflow yet
        auto d = static_cast<unsigned>(s[i]) - unsigned{'0'};
        if (d > 9) return false;
        v = v * 10 + d;
    }
    auto d = static_cast<unsigned>(s.back()) - unsigned{'0'};
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    if (d > 9 || v > max / 10 || (v == max / 10 && d > max % 10)) return false;
    out = v * 10 + d;
    return true;
}

// An optional '-', then as above, within -2^63 .. 2^63 - 1.
constexpr bool parse_decimal(std::string_view s, std::int64_t& out) noexcept {
    bool negative = !s.empty() && s[0] == '-';
    if (negative) s.remove_prefix(1);
    std::uint64_t u = 0;
    constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!parse_decimal(s, u) || u > limit + negative) return false;
    out = negative ? static_cast<std::int64_t>(0 - u) : static_cast<std::int64_t>(u);
    return true;
}

}  // namespace porthole::detail
