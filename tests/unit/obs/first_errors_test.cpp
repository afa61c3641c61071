#include "conveyor/obs/first_errors.hpp"

#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

namespace conveyor::obs {
namespace {

TEST(FirstErrors, KeepsTheFirstThreeDistinctMessagesWithTheFirstPositionAndExactCounts) {
    FirstErrors e;
    e.note("bad a", "in.csv:2");
    e.note("bad b", "in.csv:3");
    e.note("bad a", "in.csv:4"); // same text: counted, the first position stays
    e.note("bad c", "");
    e.note("bad d", "in.csv:9"); // a fourth distinct message: not kept
    e.note("bad c", "", 5);
    const auto kept = e.entries();
    ASSERT_EQ(kept.size(), 3u);
    EXPECT_EQ(kept[0].message, "bad a");
    EXPECT_EQ(kept[0].at, "in.csv:2");
    EXPECT_EQ(kept[0].count, 2u);
    EXPECT_EQ(kept[1].message, "bad b");
    EXPECT_EQ(kept[1].count, 1u);
    EXPECT_EQ(kept[2].message, "bad c");
    EXPECT_EQ(kept[2].at, "");
    EXPECT_EQ(kept[2].count, 6u);
}

TEST(FirstErrors, ManyThreadsNotingAtOnceKeepThreeAndLoseNoCount) {
    FirstErrors e;
    constexpr int kThreads = 4, kEach = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&e, t] {
            for (int i = 0; i < kEach; ++i)
                // Every thread starts with "same", repeats it and adds messages of its own.
                e.note(i % 2 == 0 ? "same" : "t" + std::to_string(t) + "-" + std::to_string(i), "");
        });
    for (std::thread& th : threads)
        th.join();
    const auto kept = e.entries();
    ASSERT_EQ(kept.size(), FirstErrors::kKept);
    bool same_kept = false;
    for (const auto& k : kept)
        if (k.message == "same") {
            same_kept = true;
            EXPECT_EQ(k.count, static_cast<std::uint64_t>(kThreads * kEach / 2));
        } else {
            EXPECT_EQ(k.count, 1u) << k.message;
        }
    // "same" is every thread's first message, so it is kept whatever the order.
    EXPECT_TRUE(same_kept);
}

} // namespace
} // namespace conveyor::obs
