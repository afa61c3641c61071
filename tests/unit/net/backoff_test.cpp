#include "conveyor/net/backoff.hpp"

#include <gtest/gtest.h>
#include <vector>

namespace conveyor::net {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, CeilingDoublesUpToTheMaximum) {
    BackoffPolicy p{milliseconds{100}, milliseconds{1000}};
    EXPECT_EQ(p.ceiling(0), milliseconds{100});
    EXPECT_EQ(p.ceiling(1), milliseconds{200});
    EXPECT_EQ(p.ceiling(2), milliseconds{400});
    EXPECT_EQ(p.ceiling(3), milliseconds{800});
    EXPECT_EQ(p.ceiling(4), milliseconds{1000});
    EXPECT_EQ(p.ceiling(200), milliseconds{1000}); // no overflow
    EXPECT_EQ((BackoffPolicy{milliseconds{0}, milliseconds{1000}}.ceiling(5)), milliseconds{0});
}

TEST(Backoff, FullJitterDrawsUniformlyFromZeroToTheCeiling) {
    BackoffPolicy p{milliseconds{100}, milliseconds{1000}};
    std::vector<std::uint64_t> asked;
    // A fixed source: always the top of the range, then always zero, then the middle.
    UniformRandom top = [&](std::uint64_t max) {
        asked.push_back(max);
        return max;
    };
    EXPECT_EQ(p.delay(0, top), milliseconds{100});
    EXPECT_EQ(p.delay(3, top), milliseconds{800});
    EXPECT_EQ(p.delay(9, top), milliseconds{1000});
    EXPECT_EQ(asked, (std::vector<std::uint64_t>{100, 800, 1000}));
    UniformRandom zero = [](std::uint64_t) { return std::uint64_t{0}; };
    EXPECT_EQ(p.delay(5, zero), milliseconds{0});
    UniformRandom half = [](std::uint64_t max) { return max / 2; };
    EXPECT_EQ(p.delay(2, half), milliseconds{200});
    // An out-of-range random value is clamped, never exceeding the ceiling.
    UniformRandom wild = [](std::uint64_t) { return std::uint64_t{1} << 40; };
    EXPECT_EQ(p.delay(1, wild), milliseconds{200});
}

TEST(Backoff, DefaultRandomStaysInRange) {
    UniformRandom r = default_random();
    for (int i = 0; i < 1000; ++i)
        EXPECT_LE(r(37), 37u);
    EXPECT_EQ(r(0), 0u);
}

TEST(RetryAfter, ParsesDeltaSeconds) {
    const auto now = std::chrono::system_clock::now();
    EXPECT_EQ(parse_retry_after("120", now), milliseconds{120000});
    EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds{0});
    EXPECT_FALSE(parse_retry_after("-5", now));
    EXPECT_FALSE(parse_retry_after("1.5", now));
    EXPECT_FALSE(parse_retry_after("", now));
    EXPECT_FALSE(parse_retry_after("soon", now));
}

TEST(RetryAfter, ParsesTheThreeHttpDateForms) {
    using namespace std::chrono;
    const sys_seconds when =
        sys_days{year{1994} / November / 6} + hours{8} + minutes{49} + seconds{37};
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), when);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), when);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), when);
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"));
    EXPECT_FALSE(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));

    const auto now = when - seconds{30};
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), milliseconds{30000});
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", when + hours{1}), milliseconds{0});
}

} // namespace
} // namespace conveyor::net
