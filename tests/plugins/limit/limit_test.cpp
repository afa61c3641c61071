#include "conveyor/obs/metrics.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <map>
#include <random>

namespace conveyor {
namespace {

/// Pushes `batches` batches of `per_batch` records {"i": n} through limit.apply until it is
/// satisfied; returns the ids passed on, and how many batches it took.
struct Outcome {
    std::vector<std::int64_t> ids;
    std::size_t pushed = 0;
    std::uint64_t filtered = 0;
};

Outcome run_limit(std::int64_t count, std::int64_t offset, int batches, int per_batch) {
    auto built = test::build_stage(
        "limit.apply", {{"count", OptionValue(count)}, {"offset", OptionValue(offset)}});
    EXPECT_TRUE(built.stage) << built.errors();
    Outcome o;
    if (!built.stage) return o;
    StageMetrics metrics("l");
    OpenContext ctx;
    ctx.stage_id = "l";
    ctx.metrics = &metrics;
    auto opened = built.stage->open(ctx);
    EXPECT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    int n = 0;
    for (int b = 0; b < batches && !op->satisfied(); ++b) {
        std::vector<std::string> records;
        for (int r = 0; r < per_batch; ++r)
            records.push_back("{\"i\":" + std::to_string(n++) + "}");
        CollectingEmitter out;
        EXPECT_TRUE(op->push(0, test::batch_from_json(records), out));
        ++o.pushed;
        for (Batch& batch : out.take())
            for (std::size_t r = 0; r < batch.rows(); ++r)
                o.ids.push_back(batch.at(r, 0).as_int());
    }
    o.filtered = metrics.records_filtered.load();
    return o;
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t n) {
    std::vector<std::int64_t> v;
    for (std::int64_t i = 0; i < n; ++i)
        v.push_back(from + i);
    return v;
}

TEST(LimitApply, PassesTheFirstCountRecordsThenWantsNoMoreInput) {
    const Outcome o = run_limit(7, 0, 10, 3);
    EXPECT_EQ(o.ids, range(0, 7));
    EXPECT_EQ(o.pushed, 3u) << "satisfied after the batch that completed the count";
    EXPECT_EQ(o.filtered, 2u) << "the rest of the last batch";
}

TEST(LimitApply, OffsetSkipsRecordsAcrossBatches) {
    const Outcome o = run_limit(4, 5, 10, 3);
    EXPECT_EQ(o.ids, range(5, 4));
}

TEST(LimitApply, AnInputShorterThanTheLimitPassesWhole) {
    const Outcome o = run_limit(100, 0, 2, 3);
    EXPECT_EQ(o.ids, range(0, 6));
    EXPECT_EQ(o.filtered, 0u);
}

TEST(LimitApply, CountZeroPassesNothing) {
    const Outcome o = run_limit(0, 0, 5, 3);
    EXPECT_TRUE(o.ids.empty());
    EXPECT_EQ(o.pushed, 0u) << "satisfied before any input";
}

TEST(LimitApply, ANegativeCountIsALoadError) {
    // The bound is declared in the option table: the loader refuses it (see describe).
    const Registry& reg = test::builtin_registry();
    const FunctionDescriptor* fn = reg.find("limit.apply");
    ASSERT_NE(fn, nullptr);
    for (const OptionSpec& o : fn->options)
        if (o.name == "count") {
            ASSERT_TRUE(o.min);
            EXPECT_EQ(*o.min, 0);
            EXPECT_TRUE(o.required);
        }
}

TEST(TailApply, TheLastRecordsOfEachGroupWhateverTheBatchesAndTheMemory) {
    // Random groups, batch sizes and tails, against the records picked by hand: in memory, and
    // with a budget so small that every record held goes to a spill file.
    test::TempDir dir;
    std::mt19937 rng(11);
    for (int round = 0; round < 30; ++round) {
        const int groups = 1 + static_cast<int>(rng() % 5);
        const std::int64_t count = static_cast<std::int64_t>(rng() % 8);
        const std::int64_t offset = static_cast<std::int64_t>(rng() % 4);
        const bool grouped = rng() % 2 == 0;
        std::vector<std::vector<std::string>> batches;
        std::vector<int> group_of;
        const int total = 1 + static_cast<int>(rng() % 300);
        for (int i = 0; i < total;) {
            std::vector<std::string>& b = batches.emplace_back();
            for (int n = 1 + static_cast<int>(rng() % 40); n > 0 && i < total; --n, ++i) {
                const int g = static_cast<int>(rng() % static_cast<unsigned>(groups));
                group_of.push_back(g);
                b.push_back("{\"i\":" + std::to_string(i) + ",\"g\":" + std::to_string(g) +
                            ",\"t\":\"caf\u00e9 " + std::to_string(i) + "\"}");
            }
        }
        std::string want;
        for (int i = 0; i < total; ++i) {
            // Records of its group (of all, ungrouped) after it, and in all.
            int after = 0, all = 0;
            for (int j = 0; j < total; ++j) {
                if (grouped && group_of[j] != group_of[i]) continue;
                ++all;
                after += j > i ? 1 : 0;
            }
            if (after >= offset && after < offset + count)
                want += "{\"i\":" + std::to_string(i) + ",\"g\":" + std::to_string(group_of[i]) +
                        ",\"t\":\"caf\u00e9 " + std::to_string(i) + "\"}\n";
        }
        std::map<std::string, OptionValue> options = {{"count", OptionValue(count)},
                                                      {"offset", OptionValue(offset)},
                                                      {"from", OptionValue(std::string("end"))}};
        if (grouped) options["by"] = test::string_list({"g"});
        for (const std::uint64_t budget : {std::uint64_t{0}, std::uint64_t{1}}) {
            SCOPED_TRACE("round " + std::to_string(round) + ", budget " + std::to_string(budget));
            EXPECT_EQ(test::drained_jsonl("limit.apply", options, batches, 1 + rng() % 7, budget,
                                          dir.file("spill")),
                      want);
        }
    }
    EXPECT_TRUE(test::list_dir(dir.file("spill")).empty()) << "spill files are removed";
}

} // namespace
} // namespace conveyor
