#include <porthole/http_date.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <time.h>  // gmtime_r, as an independent oracle

using namespace porthole;
using namespace std::string_view_literals;

namespace {
// 2025-06-01T00:00:00Z: the "now" against which two-digit years are read.
constexpr std::time_t now_2025 = 1748736000;

// The C library's own reading of a time. Windows' gmtime_s covers 1970 to 3000 only.
#if defined(_WIN32)
constexpr std::int64_t oracle_from = 0, oracle_to = 32503680000;
#else
constexpr std::int64_t oracle_from = -2208988800, oracle_to = 10413792000;
#endif
std::string oracle(std::time_t t) {
    std::tm tm{};
#if defined(_WIN32)
    gmtime_s(&tm, &t);
#else
    gmtime_r(&t, &tm);
#endif
    char buf[64];
    auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buf, n);
}
}  // namespace

TEST_CASE("format_http_date writes IMF-fixdate") {
    CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(format_http_date(2147483648) == "Tue, 19 Jan 2038 03:14:08 GMT");
    CHECK(format_http_date(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
    CHECK(format_http_date(-2208988800) == "Mon, 01 Jan 1900 00:00:00 GMT");
}

TEST_CASE("format_http_date fills a caller's 29-byte buffer and is constexpr") {
    char buf[http_date_size];
    auto v = format_http_date(784111777, buf);
    CHECK(v.data() == buf);
    CHECK(v.size() == 29);
    static_assert([] {
        char b[http_date_size]{};
        return format_http_date(784111777, b) == "Sun, 06 Nov 1994 08:49:37 GMT";
    }());
}

TEST_CASE("format_http_date clamps to years 0000..9999") {
    CHECK(format_http_date(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
    CHECK(format_http_date(253402300800) == "Fri, 31 Dec 9999 23:59:59 GMT");
    CHECK(format_http_date(-62167219200) == "Sat, 01 Jan 0000 00:00:00 GMT");
    CHECK(format_http_date(-62167219201) == "Sat, 01 Jan 0000 00:00:00 GMT");
}

TEST_CASE("format_http_date agrees with the C library's gmtime across centuries") {
    // A stride prime to 86400 so every time of day and weekday is visited.
    for (std::int64_t t = oracle_from; t < oracle_to; t += 7777777) {
        CAPTURE(t);
        REQUIRE(format_http_date(static_cast<std::time_t>(t)) == oracle(static_cast<std::time_t>(t)));
    }
}

TEST_CASE("parse_http_date reads all three forms of RFC 9110 5.6.7") {
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", now_2025) == 784111777);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now_2025) == 784111777);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994", now_2025) == 784111777);
    CHECK(parse_http_date("Sun Nov 06 08:49:37 1994", now_2025) == 784111777);
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
}

TEST_CASE("parse_http_date reads every day name of each form") {
    CHECK(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", now_2025) == 0);
    CHECK(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT", 0) == 0);
    CHECK(parse_http_date("Wednesday, 31-Dec-69 23:59:59 GMT", 0) == -1);
    CHECK(parse_http_date("Wed Dec 31 23:59:59 1969", now_2025) == -1);
    for (auto name : {"Monday"sv, "Tuesday"sv, "Wednesday"sv, "Thursday"sv, "Friday"sv, "Saturday"sv, "Sunday"sv}) {
        std::string d = std::string(name) + ", 06-Nov-94 08:49:37 GMT";
        CAPTURE(d);
        CHECK(parse_http_date(d, now_2025) == 784111777);  // weekday not checked against the date
    }
}

TEST_CASE("parse_http_date inverts format_http_date") {
    for (std::int64_t t = -2208988800; t < 10413792000; t += 7777777) {
        char buf[http_date_size];
        auto s = format_http_date(static_cast<std::time_t>(t), buf);
        CAPTURE(s);
        REQUIRE(parse_http_date(s, now_2025) == t);
    }
}

TEST_CASE("an RFC 850 two-digit year is never more than 50 years in the future") {
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now_2025) == 784111777);
    CHECK(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT", now_2025) == 946684800);
    // 2025 + 50 = 2075: "75" is 2075, "76" would be 51 years ahead, so 1976.
    CHECK(parse_http_date("Sunday, 06-Nov-70 08:49:37 GMT", now_2025) == 3182489377);
    CHECK(parse_http_date("Tuesday, 01-Jan-80 00:00:00 GMT", now_2025) == 315532800);
    auto y2075 = parse_http_date("Tuesday, 01-Jan-75 00:00:00 GMT", now_2025);
    auto y1976 = parse_http_date("Thursday, 01-Jan-76 00:00:00 GMT", now_2025);
    REQUIRE(y2075);
    REQUIRE(y1976);
    CHECK(format_http_date(*y2075).substr(12, 4) == "2075");
    CHECK(format_http_date(*y1976).substr(12, 4) == "1976");
    // In 2075 itself, the instant 50 years from now decides, to the second (RFC 9110 5.6.7).
    auto year_of = [](std::string_view date, std::time_t now) {
        auto t = parse_http_date(date, now);
        return t ? std::string(format_http_date(*t).substr(12, 4)) : std::string("none");
    };
    CHECK(year_of("Wednesday, 31-Dec-75 23:59:59 GMT", now_2025) == "1975");
    CHECK(year_of("Saturday, 01-Jun-75 00:00:00 GMT", now_2025) == "2075");  // exactly 50 years
    CHECK(year_of("Saturday, 01-Jun-75 00:00:01 GMT", now_2025) == "1975");  // a second more
    CHECK(year_of("Friday, 31-May-75 23:59:59 GMT", now_2025) == "2075");
    CHECK(year_of("Sunday, 02-Jun-75 00:00:00 GMT", now_2025) == "1975");
    CHECK(year_of("Wednesday, 01-May-75 12:00:00 GMT", now_2025) == "2075");
    CHECK(year_of("Sunday, 01-Jul-75 00:00:00 GMT", now_2025) == "1975");
    std::time_t const noon_2025 = now_2025 + 12 * 3600;
    CHECK(year_of("Saturday, 01-Jun-75 12:00:00 GMT", noon_2025) == "2075");
    CHECK(year_of("Saturday, 01-Jun-75 12:00:01 GMT", noon_2025) == "1975");
}

TEST_CASE("parse_http_date ignores surrounding whitespace only") {
    CHECK(parse_http_date(" \tSun, 06 Nov 1994 08:49:37 GMT \t", now_2025) == 784111777);
    CHECK_FALSE(parse_http_date("Sun,  06 Nov 1994 08:49:37 GMT", now_2025));
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994  08:49:37 GMT", now_2025));
}

TEST_CASE("parse_http_date rejects what the grammar does not allow") {
    for (auto bad : {
             ""sv,
             "Sun"sv,
             "Sun, 06 Nov 1994 08:49:37"sv,
             "Sun, 06 Nov 1994 08:49:37 UTC"sv,
             "Sun, 06 Nov 1994 08:49:37 gmt"sv,
             "sun, 06 Nov 1994 08:49:37 GMT"sv,
             "Sun, 06 nov 1994 08:49:37 GMT"sv,
             "Sun, 6 Nov 1994 08:49:37 GMT"sv,
             "Sun, 06 Nov 94 08:49:37 GMT"sv,
             "Sun, 06 Nov 1994 8:49:37 GMT"sv,
             "Sun, 06 Nov 1994 08:49:37 GMTx"sv,
             "Sun, 06 Nov 1994 08:49:37 GMT,"sv,
             "Sun, 06-Nov-94 08:49:37 GMT"sv,
             "Sunday, 06 Nov 1994 08:49:37 GMT"sv,
             "Sunday, 06-Nov-1994 08:49:37 GMT"sv,
             "Sundays, 06-Nov-94 08:49:37 GMT"sv,
             "Sun Nov 6 08:49:37 1994"sv,
             "Sun Nov  6 08:49:37 94"sv,
             "Sun Nov  6 08:49:37 1994 GMT"sv,
             "Sun, 06 Nov 1994 08:49:37 GMT\r\n"sv,
             "Xyz, 06 Nov 1994 08:49:37 GMT"sv,
             "Sun, 0x Nov 1994 08:49:37 GMT"sv,
             "Sun, 06 Nov 1994 08-49-37 GMT"sv,
             "Sun, 06 Nov 199\0 08:49:37 GMT"sv,
         }) {
        CAPTURE(bad);
        CHECK_FALSE(parse_http_date(bad, now_2025));
    }
}

TEST_CASE("parse_http_date rejects impossible dates and times") {
    CHECK_FALSE(parse_http_date("Sun, 00 Nov 1994 08:49:37 GMT", now_2025));
    CHECK_FALSE(parse_http_date("Sun, 31 Nov 1994 08:49:37 GMT", now_2025));
    CHECK_FALSE(parse_http_date("Sun, 30 Feb 2000 08:49:37 GMT", now_2025));
    CHECK_FALSE(parse_http_date("Sun, 29 Feb 1900 08:49:37 GMT", now_2025));
    CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT", now_2025) == 951782400);
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT", now_2025));
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:60:00 GMT", now_2025));
    CHECK_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:61 GMT", now_2025));
}

TEST_CASE("a leap second is accepted and counts as the next second") {
    CHECK(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", now_2025) == 1483228800);
}
