// stream.to_records: a barrier in batch mode, a pass-through in streaming mode.

#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

struct Opened {
    std::optional<OpenedStage> opened;
    Operator* op = nullptr;
};

Opened open_to_records(ExecutionMode mode, const SchemaRef& in) {
    auto b = test::build_stage("stream.to_records", {}, mode);
    EXPECT_TRUE(b.stage);
    const bool fixed = true;
    OpenContext ctx;
    ctx.mode = mode;
    ctx.input_schemas = std::span<const SchemaRef>(&in, 1);
    ctx.input_schemas_fixed = std::span<const bool>(&fixed, 1);
    auto o = b.stage->open(ctx);
    EXPECT_TRUE(o.ok());
    Opened r;
    r.opened.emplace(std::move(o).value());
    r.op = std::get<std::unique_ptr<Operator>>(r.opened->op).get();
    return r;
}

TEST(ToRecordsTest, BatchModeHoldsEverythingUntilTheInputEnds) {
    Batch first = test::batch_from_json({"{\"a\":1}", "{\"a\":2}"});
    auto s = open_to_records(ExecutionMode::Batch, first.schema_ref());
    EXPECT_EQ(s.opened->initial_schema, first.schema_ref()) << "the input's schema, unchanged";
    EXPECT_TRUE(s.opened->fixed_schema);
    CollectingEmitter out;
    ASSERT_TRUE(s.op->push(0, std::move(first), out));
    ASSERT_TRUE(s.op->push(0, test::batch_from_json({"{\"a\":3}"}), out));
    EXPECT_TRUE(out.empty()) << "a barrier emits nothing before its input ends";
    ASSERT_TRUE(s.op->finish(out));
    EXPECT_EQ(test::jsonl(out.take()), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
}

TEST(ToRecordsTest, StreamingModePassesEveryBatchOnAtOnce) {
    Batch first = test::batch_from_json({"{\"a\":1}"});
    auto s = open_to_records(ExecutionMode::Streaming, first.schema_ref());
    CollectingEmitter out;
    ASSERT_TRUE(s.op->push(0, std::move(first), out));
    EXPECT_EQ(test::jsonl(out.take()), "{\"a\":1}\n");
    ASSERT_TRUE(s.op->finish(out));
    EXPECT_TRUE(out.empty());
}

} // namespace
} // namespace conveyor
