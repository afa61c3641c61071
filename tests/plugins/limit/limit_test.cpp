#include "conveyor/obs/metrics.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

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

} // namespace
} // namespace conveyor
