// Spill runs (exec/spill.hpp): how many a merge opens within a memory budget, and merging them
// down in passes keeps every record, in order, stably.

#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/exec/spill.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <utility>
#include <vector>

namespace conveyor::spill {
namespace {

TEST(SpillFanIn, AsManyReadersAsFitHalfTheBudgetBetweenFourAndTheCap) {
    EXPECT_EQ(fan_in_for(0), 4u);
    EXPECT_EQ(fan_in_for(std::uint64_t{1} << 20), 4u) << "a tiny budget still merges 4 at once";
    EXPECT_EQ(fan_in_for(16 * kReaderBytes), 8u);
    EXPECT_EQ(fan_in_for(std::uint64_t{1} << 40), kMaxFanIn);
    for (std::uint64_t mib = 4; mib <= 1024; mib *= 2) {
        const std::uint64_t budget = mib << 20;
        EXPECT_LE(fan_in_for(budget) * kReaderBytes, budget / 2) << mib << " MiB";
    }
}

/// Runs of (key, label) records: run r holds keys r, r + runs, r + 2 * runs, ... and, last, the
/// key 0 again labelled with its run (equal keys, to see that the merge is stable).
std::vector<std::string> write_runs(Files& files, int runs, int per_run) {
    const SchemaRef schema = make_schema({"key", "label"});
    std::vector<std::string> paths;
    for (int r = 0; r < runs; ++r) {
        auto w = files.create();
        EXPECT_TRUE(w) << w.error().to_string();
        const Value zero[] = {Value::integer(0)};
        const std::string tie = "tie" + std::to_string(r);
        const Value tie_row[] = {Value::integer(0), Value::string(tie)};
        EXPECT_TRUE(w->add(zero, *schema, tie_row));
        for (int i = 0; i < per_run; ++i) {
            const std::int64_t k = 1 + r + static_cast<std::int64_t>(i) * runs;
            const Value key[] = {Value::integer(k)};
            const Value row[] = {Value::integer(k), Value::string("x")};
            EXPECT_TRUE(w->add(key, *schema, row));
        }
        EXPECT_TRUE(w->close());
        paths.push_back(w->path());
    }
    return paths;
}

TEST(SpillMergeDown, PassesLeaveAtMostFanInRunsHoldingEveryRecordInOrderStably) {
    test::TempDir dir;
    Files files(dir.file("spill"), "s", nullptr);
    constexpr int kRuns = 23;
    constexpr int kPerRun = 50;
    std::vector<std::string> runs = write_runs(files, kRuns, kPerRun);
    ASSERT_TRUE(merge_down(files, runs, 1, compare_sequence, 3));
    EXPECT_LE(runs.size(), 3u);
    // The merged-away runs are gone: what is left on disk is what `runs` names.
    std::size_t on_disk = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.file("spill")))
        ++on_disk;
    EXPECT_EQ(on_disk, runs.size());

    auto merger = Merger::open(runs, 1, compare_sequence);
    ASSERT_TRUE(merger) << merger.error().to_string();
    std::vector<std::pair<std::int64_t, std::string>> got;
    while (!(*merger)->done()) {
        const Value& rec = (*merger)->top().record();
        got.emplace_back(rec.find("key")->as_int(), std::string(rec.find("label")->as_string()));
        ASSERT_TRUE((*merger)->pop());
    }
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kRuns * (kPerRun + 1)));
    for (int r = 0; r < kRuns; ++r) // equal keys in the order of their runs
        EXPECT_EQ(got[static_cast<std::size_t>(r)],
                  std::make_pair(std::int64_t{0}, "tie" + std::to_string(r)));
    for (std::size_t i = kRuns; i < got.size(); ++i)
        EXPECT_EQ(got[i].first, static_cast<std::int64_t>(i - kRuns + 1));
}

} // namespace
} // namespace conveyor::spill
