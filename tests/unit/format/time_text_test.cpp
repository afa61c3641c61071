#include "conveyor/format/time_text.hpp"

#include <cstdint>
#include <gtest/gtest.h>

namespace conveyor::timefmt {
namespace {

std::int64_t seconds(std::string_view text, std::string_view format = {}) {
    std::string why;
    auto t = parse(text, format, &why);
    EXPECT_TRUE(t.has_value()) << text << ": " << why;
    return t ? t->seconds : -1;
}

std::string why_not(std::string_view text, std::string_view format = {}) {
    std::string why;
    auto t = parse(text, format, &why);
    EXPECT_FALSE(t.has_value()) << text;
    return why;
}

TEST(TimeFormatTest, DaysFromCivilAcrossEras) {
    EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
    EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
    EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
    EXPECT_EQ(days_from_civil(1600, 1, 1), -135140);
    EXPECT_EQ(days_from_civil(9999, 12, 31), 2932896);
}

TEST(TimeFormatTest, IsoFormsAndOffsets) {
    EXPECT_EQ(seconds("2024-05-01"), 1714521600);
    EXPECT_EQ(seconds("2024-05-01T12:00"), 1714564800);
    EXPECT_EQ(seconds("2024-05-01 12:00:00Z"), 1714564800);
    EXPECT_EQ(seconds("2024-05-01T14:00:00+02:00"), 1714564800);
    EXPECT_EQ(seconds("2024-05-01T06:30:00-0530"), 1714564800);
    auto frac = parse_iso("2024-05-01T12:00:00.123456789Z");
    ASSERT_TRUE(frac.has_value());
    EXPECT_EQ(frac->nanos, 123456789);
    EXPECT_NE(why_not("2024-13-01"), "");
    EXPECT_NE(why_not("2024-02-30"), "");
    EXPECT_NE(why_not("2024-05-01T25:00"), "");
    EXPECT_NE(why_not("2024-05-01T12:00+25:00"), "");
    EXPECT_NE(why_not("2024-05-01x"), "");
}

TEST(TimeFormatTest, StrftimeDirectives) {
    EXPECT_EQ(seconds("01/05/24 12:00 PM", "%d/%m/%y %I:%M %p"), 1714564800);
    EXPECT_EQ(seconds("1 May 2024", "%e %B %Y"), 1714521600);
    EXPECT_EQ(seconds("May 1, 2024", "%b %d, %Y"), 1714521600);
    EXPECT_EQ(seconds("2024-122", "%Y-%j"), 1714521600);
    EXPECT_EQ(seconds("1714564800", "%s"), 1714564800);
    EXPECT_EQ(seconds("Wed, 01 May 2024 12:00:00 GMT", "%a, %d %b %Y %T %Z"), 1714564800);
    EXPECT_EQ(seconds("12:00:00 100%", "%T 100%%") % 86400, 43200);
    EXPECT_NE(why_not("2024-05-01", "%Y/%m/%d").find("expected '/'"), std::string::npos);
    EXPECT_NE(why_not("x", "%Q").find("unsupported directive %Q"), std::string::npos);
}

TEST(TimeFormatTest, SecondsBeforeTheFormatsOwnFractionSeparator) {
    // %S read ".123456" as its fraction, so the format's '.' found nothing left to match: text
    // that format() wrote with "%S.%f" did not read back.
    std::string why;
    auto t = parse("12:00:05.123456", "%H:%M:%S.%f", &why);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->seconds, 43205);
    EXPECT_EQ(t->nanos, 123456000);
    t = parse("1970-01-01 00:00:05,25", "%F %T,%f", &why); // through a composite directive
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->seconds, 5);
    EXPECT_EQ(t->nanos, 250000000);
    const std::string written = *format({1714564800, 123456000}, "%F %T.%f", 0);
    EXPECT_EQ(written, "2024-05-01 12:00:00.123456");
    t = parse(written, "%F %T.%f", &why);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->seconds, 1714564800);
    EXPECT_EQ(t->nanos, 123456000);
    // Without a separator in the format, %S still reads a fraction after it.
    t = parse("05.5", "%S", &why);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->nanos, 500000000);
    t = parse("05.5Z", "%S%z", &why);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->nanos, 500000000);
}

TEST(TimeFormatTest, FormatRefusesInstantsFarOutsideTheYears) {
    // The local time of an instant near the ends of int64 overflowed (undefined behaviour,
    // which the sanitizer build stops at) before the year was checked.
    std::string why;
    EXPECT_FALSE(format({INT64_MIN, 0}, "%Y", -32768, &why).has_value());
    EXPECT_EQ(why, "the year is outside 0..9999");
    EXPECT_FALSE(format({INT64_MAX, 0}, "", 3600).has_value());
    EXPECT_FALSE(format({INT64_MAX - 100, 0}, "%s", 0).has_value());
}

TEST(TimeFormatTest, FormatsIsoWithFractionsAndOffsets) {
    EXPECT_EQ(*format({0, 0}, "", 0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(*format({1714564800, 500000000}, "", 0), "2024-05-01T12:00:00.5Z");
    EXPECT_EQ(*format({1714564800, 0}, "", -5 * 3600 - 1800), "2024-05-01T06:30:00-05:30");
    EXPECT_EQ(*format({1714564800, 0}, "%A %B %e %H:%M:%S %z", 3600),
              "Wednesday May  1 13:00:00 +0100");
    EXPECT_FALSE(format({400000000000, 0}, "", 0).has_value()); // past year 9999
}

TEST(TimeFormatTest, FormatKnowsTheDirectivesParseKnowsAndRefusesOthers) {
    // %D and %R read and write the same text; before, format() wrote them as they are.
    EXPECT_EQ(*format({1714564800, 0}, "%D %R 100%%", 0), "05/01/24 12:00 100%");
    EXPECT_EQ(seconds("05/01/24 12:00", "%D %R"), 1714564800);
    // An unknown directive was copied into the output as it is ("2024-%V"): now an error.
    std::string why;
    EXPECT_FALSE(format({1714564800, 0}, "%Y-%k", 0, &why).has_value());
    EXPECT_NE(why.find("unsupported directive %k (supported: %Y"), std::string::npos) << why;
    EXPECT_EQ(unsupported_directive("%Y-%V %U"), "%V") << "parse_time cannot read week numbers";
    EXPECT_EQ(unsupported_directive("%Y-%V %U", TimeUse::Format), std::nullopt);
    EXPECT_EQ(unsupported_directive("%G-W%V-%u %k", TimeUse::Format), "%k");
    EXPECT_EQ(unsupported_directive("%F %T %D %R %a %A %j %s %% 50%"), std::nullopt);
}

TEST(TimeFormatTest, WeekdaysAndWeekNumbersAreWhatGnuDateWrites) {
    // date -u -d DAY '+%u %w %U %W %V %G %g', around the years' edges (ISO weeks 52 and 53 of
    // the year before, week 1 of the next).
    const std::pair<const char*, const char*> days[] = {
        {"2024-01-01", "1 1 00 01 01 2024 24"}, {"2023-01-01", "7 0 01 00 52 2022 22"},
        {"2021-01-03", "7 0 01 00 53 2020 20"}, {"2020-12-31", "4 4 52 52 53 2020 20"},
        {"2026-12-07", "1 1 49 49 50 2026 26"}, {"2027-01-01", "5 5 00 00 53 2026 26"},
        {"2024-12-30", "1 1 52 53 01 2025 25"}, {"2015-12-31", "4 4 52 52 53 2015 15"},
        {"2016-01-03", "7 0 01 00 53 2015 15"},
    };
    for (const auto& [day, want] : days) {
        const std::int64_t t = seconds(day, "%Y-%m-%d");
        EXPECT_EQ(format({t, 0}, "%u %w %U %W %V %G %g", 0), want) << day;
    }
    // At an offset, the local day counts: 2024-12-29 23:30 UTC is Monday in Tokyo.
    EXPECT_EQ(format({seconds("2024-12-29 23:30", "%Y-%m-%d %H:%M"), 0}, "%G-W%V-%u", 9 * 3600),
              "2025-W01-1");
}

TEST(TimeFormatTest, Offsets) {
    EXPECT_EQ(parse_offset("UTC"), 0);
    EXPECT_EQ(parse_offset("+02:00"), 7200);
    EXPECT_EQ(parse_offset("-0530"), -19800);
    EXPECT_EQ(parse_offset("+5"), 18000);
    EXPECT_FALSE(parse_offset("Europe/Paris").has_value());
    EXPECT_FALSE(parse_offset("+24:00").has_value());
}

} // namespace
} // namespace conveyor::timefmt
