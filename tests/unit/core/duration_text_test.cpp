// Durations written as text, as --jitter, --lease and the [global] options in seconds take them.

#include "conveyor/core/duration_text.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(DurationText, ANumberWithAUnitIsSeconds) {
    EXPECT_EQ(parse_duration_seconds("30"), 30.0);
    EXPECT_EQ(parse_duration_seconds("30s"), 30.0);
    EXPECT_EQ(parse_duration_seconds("1.5s"), 1.5);
    EXPECT_EQ(parse_duration_seconds("500ms"), 0.5);
    EXPECT_EQ(parse_duration_seconds("5m"), 300.0);
    EXPECT_EQ(parse_duration_seconds("5min"), 300.0);
    EXPECT_EQ(parse_duration_seconds("1h"), 3600.0);
    EXPECT_EQ(parse_duration_seconds("2d"), 172800.0);
    EXPECT_EQ(parse_duration_seconds("0s"), 0.0);
}

TEST(DurationText, AnythingElseIsNotADuration) {
    for (const char* text : {"", "s", "30 s", " 30s", "30sec", "2y", "-1s", "+1s", "1e999s", "nan",
                             "infs", "30s ", "1h30m"})
        EXPECT_FALSE(parse_duration_seconds(text).has_value()) << text;
}

} // namespace
} // namespace conveyor
