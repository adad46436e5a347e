// detail/decimal.hpp: the one decimal reader, at its edges.
#include <porthole/detail/decimal.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

using porthole::detail::parse_decimal;

namespace {
template <class T>
bool reads(std::string const& s, T expected) {
    T v{};
    return parse_decimal(s, v) && v == expected;
}
template <class T>
bool refuses(std::string const& s) {
    T v = 42;
    return !parse_decimal(s, v) && v == 42;  // and leaves the output alone
}
}  // namespace

TEST_CASE("unsigned: digits only, leading zeros, up to 2^64 - 1") {
    CHECK(reads<std::uint64_t>("0", 0));
    CHECK(reads<std::uint64_t>("007", 7));
    CHECK(reads<std::uint64_t>(std::string(40, '0') + "12", 12));
    CHECK(reads<std::uint64_t>("18446744073709551615", std::numeric_limits<std::uint64_t>::max()));
    CHECK(reads<std::uint64_t>("0018446744073709551615", std::numeric_limits<std::uint64_t>::max()));
    for (char const* bad : {"", "18446744073709551616", "18446744073709551620", "99999999999999999999",
                            "100000000000000000000", "+1", "-1", " 1", "1 ", "1a", "0x10", "1.0", "1,2"})
        CHECK_MESSAGE(refuses<std::uint64_t>(bad), bad);
}

TEST_CASE("signed: an optional minus, from -2^63 to 2^63 - 1") {
    CHECK(reads<std::int64_t>("-0", 0));
    CHECK(reads<std::int64_t>("-12", -12));
    CHECK(reads<std::int64_t>("9223372036854775807", std::numeric_limits<std::int64_t>::max()));
    CHECK(reads<std::int64_t>("-9223372036854775808", std::numeric_limits<std::int64_t>::min()));
    for (char const* bad : {"", "-", "--1", "+1", "9223372036854775808", "-9223372036854775809", "1-"})
        CHECK_MESSAGE(refuses<std::int64_t>(bad), bad);
}

static_assert([] {
    std::uint64_t v = 0;
    return parse_decimal("65535", v) && v == 65535;
}());
