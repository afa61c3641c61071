#pragma once

// POSIX TZ rules ("CET-1CEST,M3.5.0,M10.5.0/3"): the footer of a TZif file, which gives the
// zone's times after its table of transitions, and a TZ environment variable that names no
// file. Private to lib/src/format.

#include "conveyor/format/time_zone.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace conveyor::timefmt {

struct PosixRule {
    /// When a change happens in a year: the day (one of three forms) and the local time of day.
    struct When {
        enum class Form : std::uint8_t {
            Julian1,      ///< Jn: day n (1..365) of the year, February 29th never counted
            Julian0,      ///< n: day n (0..365) of the year, February 29th counted
            MonthWeekDay, ///< Mm.w.d: weekday d (0 Sunday) of week w (5: the last) of month m
        } form = Form::MonthWeekDay;
        int day = 0;   ///< n for the Julian forms, d for MonthWeekDay
        int month = 0; ///< 1..12
        int week = 0;  ///< 1..5
        /// Seconds after local midnight, in the time in force before the change; -167h..167h.
        std::int32_t time = 7200;
    };

    std::string std_abbreviation;
    std::int32_t std_offset = 0; ///< seconds east of UTC (POSIX writes west as positive)
    bool has_dst = false;
    std::string dst_abbreviation;
    std::int32_t dst_offset = 0;
    When start; ///< into daylight saving time
    When end;   ///< back to standard time

    /// Reads a TZ rule; nullptr (and `why` set when given) when it is not one.
    static std::unique_ptr<PosixRule> parse(std::string_view text, std::string* why = nullptr);

    /// The offset in force at `utc_seconds`; the abbreviations point into this rule.
    [[nodiscard]] ZoneOffset at(std::int64_t utc_seconds) const noexcept;
};

} // namespace conveyor::timefmt
