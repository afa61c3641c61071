#include "conveyor/io/flush_schedule.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using Clock = FlushSchedule::Clock;

TEST(FlushSchedule, ZeroIntervalWritesEveryBatch) {
    const Clock::time_point t0{};
    FlushSchedule s(0ms, std::nullopt, t0);
    EXPECT_TRUE(s.flush_due(true, t0));
    EXPECT_FALSE(s.flush_due(false, t0)) << "nothing buffered, nothing to write";
    s.flushed(t0);
    EXPECT_FALSE(s.next(false).has_value()) << "no timer without buffered output";
    EXPECT_FALSE(s.sync_due(t0 + 1h)) << "no fsync outside append mode";
}

TEST(FlushSchedule, AnIntervalGathersWritesAndBoundsTheWait) {
    const Clock::time_point t0{};
    FlushSchedule s(100ms, std::nullopt, t0);
    EXPECT_FALSE(s.flush_due(true, t0 + 40ms));
    EXPECT_EQ(s.next(true), t0 + 100ms) << "the timer fires when the oldest output is due";
    EXPECT_TRUE(s.flush_due(true, t0 + 100ms));
    s.flushed(t0 + 130ms);
    EXPECT_EQ(s.next(true), t0 + 230ms);
    EXPECT_FALSE(s.next(false).has_value());
}

TEST(FlushSchedule, AppendModeSyncsWrittenDataOnceTheIntervalPassed) {
    const Clock::time_point t0{};
    FlushSchedule s(0ms, 1000ms, t0);
    EXPECT_FALSE(s.sync_due(t0 + 5s)) << "nothing written yet";
    s.flushed(t0 + 10ms);
    EXPECT_FALSE(s.sync_due(t0 + 500ms));
    EXPECT_EQ(s.next(false), t0 + 1000ms) << "a timer syncs even if no more input comes";
    EXPECT_TRUE(s.sync_due(t0 + 1000ms));
    s.synced(t0 + 1000ms);
    EXPECT_FALSE(s.sync_due(t0 + 3s)) << "nothing written since";
    EXPECT_FALSE(s.next(false).has_value());
}

} // namespace
} // namespace conveyor
