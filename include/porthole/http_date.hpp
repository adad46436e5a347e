// porthole/http_date.hpp: HTTP dates (RFC 9110 5.6.7), as Date, Last-Modified, Expires and
// If-Modified-Since carry them. Formatting writes IMF-fixdate; parsing also accepts the two
// obsolete forms recipients must understand. Both are plain calendar arithmetic on UTC:
// no locale, no time zone, no gmtime and its shared static state. A date_source keeps the Date
// value a server sends, formatted once a second.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace porthole {

// Length of an IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr std::size_t http_date_size = 29;

namespace detail {
inline constexpr char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
inline constexpr std::string_view long_day_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
inline constexpr char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Seconds from the epoch to 0000-01-01T00:00:00Z and to 9999-12-31T23:59:59Z: the
// instants an IMF-fixdate's four-digit year can show.
inline constexpr std::int64_t http_date_min = -62167219200;
inline constexpr std::int64_t http_date_max = 253402300799;

struct civil_date {
    std::int64_t year;
    unsigned month;  // 1..12
    unsigned day;    // 1..31
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    auto yoe = static_cast<unsigned>(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr civil_date civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    auto doe = static_cast<unsigned>(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

constexpr bool is_leap_year(std::int64_t y) noexcept { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    constexpr unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// A small cursor for the fixed-layout date grammars.
struct date_reader {
    std::string_view s;
    std::size_t i = 0;

    constexpr bool literal(std::string_view lit) noexcept {
        if (s.substr(i, lit.size()) != lit) return false;
        i += lit.size();
        return true;
    }
    constexpr bool digits(std::size_t n, unsigned& v) noexcept {
        if (s.size() - i < n) return false;
        v = 0;
        for (std::size_t k = 0; k < n; ++k) {
            char c = s[i + k];
            if (c < '0' || c > '9') return false;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        i += n;
        return true;
    }
    constexpr bool month(unsigned& m) noexcept {
        for (unsigned k = 0; k < 12; ++k)
            if (literal(month_names[k])) {
                m = k + 1;
                return true;
            }
        return false;
    }
    // hour ":" minute ":" second; a leap second (60) is accepted and counts as the next one.
    constexpr bool time_of_day(unsigned& h, unsigned& mi, unsigned& sec) noexcept {
        return digits(2, h) && literal(":") && digits(2, mi) && literal(":") && digits(2, sec) && h <= 23 && mi <= 59 &&
               sec <= 60;
    }
    constexpr bool at_end() const noexcept { return i == s.size(); }
};
}  // namespace detail

// Writes `t` (seconds since the epoch, UTC) into `out` as an IMF-fixdate, e.g.
// "Sun, 06 Nov 1994 08:49:37 GMT", and returns a view of it. Instants outside years
// 0000..9999 are clamped to them.
constexpr std::string_view format_http_date(std::time_t t, std::span<char, http_date_size> out) noexcept {
    auto secs = static_cast<std::int64_t>(t);
    if (secs < detail::http_date_min) secs = detail::http_date_min;
    if (secs > detail::http_date_max) secs = detail::http_date_max;
    std::int64_t days = detail::floor_div(secs, 86400);
    auto in_day = static_cast<unsigned>(secs - days * 86400);
    auto date = detail::civil_from_days(days);
    auto weekday = static_cast<unsigned>(days - detail::floor_div(days + 4, 7) * 7 + 4) % 7;
    auto year = static_cast<unsigned>(date.year);

    char* p = out.data();
    auto put3 = [&](char const* s) {
        *p++ = s[0];
        *p++ = s[1];
        *p++ = s[2];
    };
    auto put2 = [&](unsigned v) {
        *p++ = static_cast<char>('0' + v / 10);
        *p++ = static_cast<char>('0' + v % 10);
    };
    put3(detail::day_names[weekday]);
    *p++ = ',';
    *p++ = ' ';
    put2(date.day);
    *p++ = ' ';
    put3(detail::month_names[date.month - 1]);
    *p++ = ' ';
    put2(year / 100);
    put2(year % 100);
    *p++ = ' ';
    put2(in_day / 3600);
    *p++ = ':';
    put2(in_day / 60 % 60);
    *p++ = ':';
    put2(in_day % 60);
    put3(" GM");
    *p++ = 'T';
    return {out.data(), http_date_size};
}

inline std::string format_http_date(std::time_t t) {
    char buf[http_date_size];
    return std::string(format_http_date(t, buf));
}

// Parses an HTTP date in any of the three forms of RFC 9110 5.6.7:
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
//   asctime      "Sun Nov  6 08:49:37 1994"
// Names are case-sensitive as the grammar says; the day name must be a valid one but is
// not checked against the date. Surrounding spaces or tabs are ignored. An RFC 850
// two-digit year is read as the latest year with those last digits that puts the date no more
// than 50 years after `now` (RFC 9110 5.6.7).
// Returns nullopt for anything else, including impossible dates such as Feb 30.
constexpr std::optional<std::time_t> parse_http_date(std::string_view s, std::time_t now) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);

    detail::date_reader r{s};
    unsigned day = 0, month = 0, year = 0, h = 0, mi = 0, sec = 0;
    std::int64_t full_year = 0;
    bool long_name = false;  // tried first: "Sunday" starts with "Sun"
    for (auto name : detail::long_day_names)
        if (r.literal(name)) {
            long_name = true;
            break;
        }
    bool short_name = false;
    if (!long_name)
        for (auto name : detail::day_names)
            if (r.literal(name)) {
                short_name = true;
                break;
            }
    if (long_name) {  // RFC 850
        if (!(r.literal(", ") && r.digits(2, day) && r.literal("-") && r.month(month) && r.literal("-") &&
              r.digits(2, year) && r.literal(" ") && r.time_of_day(h, mi, sec) && r.literal(" GMT") && r.at_end()))
            return std::nullopt;
        // A `now` beyond the years a date can show is taken at their edge, so the arithmetic
        // below cannot overflow.
        auto now_secs = static_cast<std::int64_t>(now);
        if (now_secs < detail::http_date_min) now_secs = detail::http_date_min;
        if (now_secs > detail::http_date_max) now_secs = detail::http_date_max;
        std::int64_t now_days = detail::floor_div(now_secs, 86400);
        auto today = detail::civil_from_days(now_days);
        std::int64_t base = today.year - 49;
        std::int64_t offset = (static_cast<std::int64_t>(year) - base) % 100;
        full_year = base + (offset < 0 ? offset + 100 : offset);
        // In the 50th year ahead, past the instant 50 years from now: a century earlier.
        auto now_in_day = now_secs - now_days * 86400, in_day = std::int64_t{h} * 3600 + mi * 60 + sec;
        if (full_year == today.year + 50 &&
            (month != today.month ? month > today.month : (day != today.day ? day > today.day : in_day > now_in_day)))
            full_year -= 100;
    } else if (short_name && r.literal(", ")) {  // IMF-fixdate
        if (!(r.digits(2, day) && r.literal(" ") && r.month(month) && r.literal(" ") && r.digits(4, year) &&
              r.literal(" ") && r.time_of_day(h, mi, sec) && r.literal(" GMT") && r.at_end()))
            return std::nullopt;
        full_year = year;
    } else if (short_name && r.literal(" ")) {  // asctime: the day is "06" or " 6"
        if (!(r.month(month) && r.literal(" "))) return std::nullopt;
        if (!(r.literal(" ") ? r.digits(1, day) : r.digits(2, day))) return std::nullopt;
        if (!(r.literal(" ") && r.time_of_day(h, mi, sec) && r.literal(" ") && r.digits(4, year) && r.at_end()))
            return std::nullopt;
        full_year = year;
    } else {
        return std::nullopt;
    }

    if (day < 1 || day > detail::days_in_month(full_year, month)) return std::nullopt;
    std::int64_t t = detail::days_from_civil(full_year, month, day) * 86400 + h * 3600 + mi * 60 + sec;
    if (t < static_cast<std::int64_t>(std::numeric_limits<std::time_t>::min()) ||
        t > static_cast<std::int64_t>(std::numeric_limits<std::time_t>::max()))
        return std::nullopt;
    return static_cast<std::time_t>(t);
}

// parse_http_date against the current time, which only the RFC 850 form needs.
inline std::optional<std::time_t> parse_http_date(std::string_view s) noexcept {
    return parse_http_date(s, std::time(nullptr));
}

// The Date header value, formatted at most once per second. The driver owns the clock and calls
// update(); a connection without one sends no Date.
class date_source {
public:
    void update(std::time_t now) noexcept {
        if (now == last_) return;
        last_ = now;
        len_ = format_http_date(now, std::span<char, http_date_size>(buf_)).size();
    }
    std::string_view value() const noexcept { return {buf_.data(), len_}; }

private:
    std::time_t last_ = -1;
    std::array<char, http_date_size> buf_{};
    std::size_t len_ = 0;
};

}  // namespace porthole
