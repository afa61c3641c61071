#include "conveyor/net/token_bucket.hpp"

#include <gtest/gtest.h>

namespace conveyor::net {
namespace {

using namespace std::chrono;
using TP = steady_clock::time_point;

TEST(TokenBucket, StartsFullThenQueuesAtTheRate) {
    const TP t0{};
    TokenBucket b(10.0, 10.0, t0);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(b.reserve(t0), nanoseconds{0}) << i;
    // Empty: each further caller waits one more interval (100 ms at 10/s).
    EXPECT_EQ(b.reserve(t0), milliseconds{100});
    EXPECT_EQ(b.reserve(t0), milliseconds{200});
    EXPECT_EQ(b.reserve(t0), milliseconds{300});
}

TEST(TokenBucket, RefillsWithTimeButNeverBeyondTheBurst) {
    const TP t0{};
    TokenBucket b(5.0, 5.0, t0);
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(b.reserve(t0), nanoseconds{0});
    EXPECT_EQ(b.reserve(t0 + milliseconds{200}), nanoseconds{0}); // one token accrued
    EXPECT_EQ(b.reserve(t0 + milliseconds{200}), milliseconds{200});
    // After a long pause the bucket holds at most `burst` tokens.
    const TP later = t0 + seconds{100};
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(b.reserve(later), nanoseconds{0}) << i;
    EXPECT_GT(b.reserve(later), nanoseconds{0});
}

TEST(TokenBucket, UsageInAnyWindowStaysWithinBurstPlusRate) {
    // Simulate callers that use their token exactly when told to.
    const TP t0{};
    TokenBucket b(20.0, 20.0, t0);
    std::vector<TP> used;
    TP now = t0;
    for (int i = 0; i < 200; ++i) {
        used.push_back(now + b.reserve(now));
        now += milliseconds{1}; // callers arrive faster than the rate
    }
    for (std::size_t i = 0; i < used.size(); ++i) {
        std::size_t in_window = 0;
        for (std::size_t j = i; j < used.size() && used[j] < used[i] + seconds{1}; ++j)
            ++in_window;
        EXPECT_LE(in_window, 40u) << "window starting at request " << i;
    }
    // 200 requests at 20/s with a burst of 20 need at least (200 - 20) / 20 = 9 s.
    EXPECT_GE(used.back() - used.front(), milliseconds{8950});
}

TEST(TokenBucket, SlowRatesStillAllowOneRequest) {
    const TP t0{};
    TokenBucket b(0.5, 0.5, t0);
    EXPECT_EQ(b.burst(), 1.0);
    EXPECT_EQ(b.reserve(t0), nanoseconds{0});
    EXPECT_EQ(b.reserve(t0), seconds{2});
}

} // namespace
} // namespace conveyor::net
