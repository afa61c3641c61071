#pragma once

// What reading (time_text.cpp) and writing (time_format.cpp) time text share: month and
// weekday names and the proleptic Gregorian calendar. Private to lib/src/format.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace conveyor::timefmt::detail {

constexpr std::array<std::string_view, 12> kMonths = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};
constexpr std::array<std::string_view, 7> kWeekdays = {
    "Thursday", "Friday",  "Saturday", "Sunday",
    "Monday",   "Tuesday", "Wednesday"}; // 1970-01-01 was a Thursday

constexpr std::int64_t kSecondsPerDay = 86400;

/// What a composite directive stands for (%F is %Y-%m-%d), read and written through it.
inline std::optional<std::string_view> composite_directive(char d) noexcept {
    switch (d) {
    case 'F':
        return "%Y-%m-%d";
    case 'T':
        return "%H:%M:%S";
    case 'D':
        return "%m/%d/%y";
    case 'R':
        return "%H:%M";
    default:
        return std::nullopt;
    }
}

inline bool is_leap(std::int64_t y) noexcept {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

inline unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

struct Civil {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

/// The inverse of days_from_civil: eras of 400 years (146097 days) starting on March 1st, so
/// that the leap day is the last day of a year of the era.
inline Civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

} // namespace conveyor::timefmt::detail
