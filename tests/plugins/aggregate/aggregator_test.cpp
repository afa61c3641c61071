// Aggregator fed with what window.apply produces: records with window_start/window_end, and
// the closes of windows (WindowClosed batch metadata, written close(start, end) here).

#include "aggregator.hpp"
#include "support/stage_harness.hpp"

#include <cstdio>
#include <gtest/gtest.h>

namespace conveyor::plugins::aggregate {
namespace {

using test::batch_from_json;
using test::jsonl;

AggregateSpec spec(Operation op, std::optional<std::string> value, std::vector<std::string> keys,
                   std::string out) {
    AggregateSpec s;
    s.operation = op;
    s.value_column = std::move(value);
    s.group_by = std::move(keys);
    s.output_column = std::move(out);
    return s;
}

std::string rec(int start, const std::string& fields) {
    return "{" + fields + ",\"window_start\":" + std::to_string(start) +
           ",\"window_end\":" + std::to_string(start + 10) + "}";
}
/// Stands for the close of the window [start, end) among the records given to run().
std::string close(int start, int end) {
    return "CLOSE " + std::to_string(start) + " " + std::to_string(end);
}

/// Pushes the records (consecutive ones as one batch) and the closes, in order.
std::string run(Aggregator& a, const std::vector<std::string>& records) {
    std::vector<Batch> out;
    std::vector<std::string> pending;
    auto flush = [&] {
        if (pending.empty()) return;
        Status s = a.push(batch_from_json(pending), out);
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());
        pending.clear();
    };
    for (const std::string& r : records) {
        if (!r.starts_with("CLOSE ")) {
            pending.push_back(r);
            continue;
        }
        flush();
        int start = 0, end = 0;
        std::sscanf(r.c_str(), "CLOSE %d %d", &start, &end);
        a.close(WindowClosed{Value::integer(start), Value::integer(end), nullptr}, out);
    }
    flush();
    return jsonl(out);
}

TEST(AggregatorTest, CountPerKeyWhenTheWindowCloses) {
    Aggregator a(spec(Operation::Count, std::nullopt, {"level"}, "count"));
    EXPECT_EQ(run(a, {rec(0, "\"level\":\"error\""), rec(0, "\"level\":\"info\""),
                      rec(0, "\"level\":\"error\"")}),
              "")
        << "nothing before the window closes";
    EXPECT_EQ(run(a, {close(0, 10)}),
              "{\"level\":\"error\",\"count\":2,\"window_start\":0,\"window_end\":10}\n"
              "{\"level\":\"info\",\"count\":1,\"window_start\":0,\"window_end\":10}\n");
    EXPECT_EQ(a.open_windows(), 0u);
}

TEST(AggregatorTest, SumStaysAnIntegerWhileEveryValueIsOne) {
    Aggregator ints(spec(Operation::Sum, "v", {}, "total"));
    EXPECT_EQ(run(ints, {rec(0, "\"v\":1"), rec(0, "\"v\":2"), rec(0, "\"v\":null"),
                         rec(0, "\"w\":9"), close(0, 10)}),
              "{\"total\":3,\"window_start\":0,\"window_end\":10}\n");
    Aggregator mixed(spec(Operation::Sum, "v", {}, "total"));
    EXPECT_EQ(run(mixed, {rec(0, "\"v\":1"), rec(0, "\"v\":0.5"), close(0, 10)}),
              "{\"total\":1.5,\"window_start\":0,\"window_end\":10}\n");
    Aggregator overflow(spec(Operation::Sum, "v", {}, "total"));
    EXPECT_EQ(run(overflow, {rec(0, "\"v\":9223372036854775807"), rec(0, "\"v\":1"), close(0, 10)}),
              "{\"total\":9223372036854775808.0,\"window_start\":0,\"window_end\":10}\n");
}

TEST(AggregatorTest, ASumOrAverageBeyondADoublesRangeIsADataError) {
    // 1e308 + 1e308 is infinity, which the window's record carried as a null total, exit 0.
    for (const Operation op : {Operation::Sum, Operation::Avg}) {
        Aggregator a(spec(op, "v", {}, "total"));
        std::vector<Batch> out;
        Status s = a.push(batch_from_json({rec(0, "\"v\":1e308"), rec(0, "\"v\":1e308")}), out);
        ASSERT_FALSE(s.ok());
        EXPECT_EQ(s.error().kind, ErrorKind::Data);
        EXPECT_NE(s.error().message.find("of value_column 'v' overflows a double"),
                  std::string::npos)
            << s.error().message;
    }
    Aggregator mx(spec(Operation::Max, "v", {}, "max"));
    EXPECT_EQ(run(mx, {rec(0, "\"v\":1e308"), rec(0, "\"v\":1e308"), close(0, 10)}),
              "{\"max\":1e308,\"window_start\":0,\"window_end\":10}\n");
}

TEST(AggregatorTest, AvgMinMaxAndTheirNulls) {
    Aggregator avg(spec(Operation::Avg, "v", {}, "avg"));
    EXPECT_EQ(run(avg, {rec(0, "\"v\":1"), rec(0, "\"v\":2"), close(0, 10)}),
              "{\"avg\":1.5,\"window_start\":0,\"window_end\":10}\n");
    Aggregator none(spec(Operation::Avg, "v", {}, "avg"));
    EXPECT_EQ(run(none, {rec(0, "\"v\":null"), close(0, 10)}),
              "{\"avg\":null,\"window_start\":0,\"window_end\":10}\n");
    Aggregator mn(spec(Operation::Min, "v", {}, "min"));
    Aggregator mx(spec(Operation::Max, "v", {}, "max"));
    const std::vector<std::string> in = {rec(0, "\"v\":3"), rec(0, "\"v\":1.50"), rec(0, "\"v\":7"),
                                         close(0, 10)};
    EXPECT_EQ(run(mn, in), "{\"min\":1.50,\"window_start\":0,\"window_end\":10}\n")
        << "a number keeps its spelling";
    EXPECT_EQ(run(mx, in), "{\"max\":7,\"window_start\":0,\"window_end\":10}\n");
}

TEST(AggregatorTest, CountOfAColumnCountsItsNonNullValues) {
    Aggregator a(spec(Operation::Count, "v", {}, "n"));
    EXPECT_EQ(run(a, {rec(0, "\"v\":1"), rec(0, "\"v\":null"), rec(0, "\"w\":1"), close(0, 10)}),
              "{\"n\":1,\"window_start\":0,\"window_end\":10}\n");
}

TEST(AggregatorTest, KeysEqualAsJsonAreOneKey) {
    Aggregator a(spec(Operation::Count, std::nullopt, {"k", "j"}, "count"));
    EXPECT_EQ(run(a, {rec(0, "\"k\":1,\"j\":\"x\""), rec(0, "\"k\":1.0,\"j\":\"x\""),
                      rec(0, "\"k\":\"1\",\"j\":\"x\""), rec(0, "\"j\":\"x\""),
                      rec(0, "\"k\":null,\"j\":\"x\""), close(0, 10)}),
              "{\"k\":1,\"j\":\"x\",\"count\":2,\"window_start\":0,\"window_end\":10}\n"
              "{\"k\":\"1\",\"j\":\"x\",\"count\":1,\"window_start\":0,\"window_end\":10}\n"
              "{\"k\":null,\"j\":\"x\",\"count\":2,\"window_start\":0,\"window_end\":10}\n");
}

TEST(AggregatorTest, OverlappingWindowsAreKeptApart) {
    Aggregator a(spec(Operation::Sum, "v", {}, "sum"));
    EXPECT_EQ(run(a, {rec(0, "\"v\":1"), rec(5, "\"v\":1"), rec(0, "\"v\":2"), rec(5, "\"v\":2"),
                      rec(5, "\"v\":4")}),
              "");
    EXPECT_EQ(a.open_windows(), 2u);
    EXPECT_EQ(run(a, {close(0, 10), rec(5, "\"v\":8"), close(5, 15)}),
              "{\"sum\":3,\"window_start\":0,\"window_end\":10}\n"
              "{\"sum\":15,\"window_start\":5,\"window_end\":15}\n");
}

TEST(AggregatorTest, StringsOutliveTheirInputBatches) {
    Aggregator a(spec(Operation::Max, "v", {"host"}, "max"));
    std::vector<Batch> out;
    {
        Batch b = batch_from_json(
            {"{\"host\":\"alpha\",\"v\":2.50,\"window_start\":\"2024-05-01T12:00:00Z\"}"});
        ASSERT_TRUE(a.push(b, out).ok());
    } // the input batch and its storage are gone
    {
        // The close's bounds point into storage that goes away with it, too.
        auto text = std::make_shared<std::string>("2024-05-01T12:00:00Z2024-05-01T12:01:00Z");
        WindowClosed closed{Value::string(std::string_view(*text).substr(0, 20)),
                            Value::string(std::string_view(*text).substr(20)), text};
        a.close(closed, out);
    }
    EXPECT_EQ(jsonl(out),
              "{\"host\":\"alpha\",\"max\":2.50,\"window_start\":\"2024-05-01T12:00:00Z\","
              "\"window_end\":\"2024-05-01T12:01:00Z\"}\n");
}

TEST(AggregatorTest, ANonNumericValueIsADataError) {
    Aggregator a(spec(Operation::Sum, "v", {}, "sum"));
    std::vector<Batch> out;
    Status s = a.push(batch_from_json({rec(0, "\"v\":\"12ms\"")}), out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Data);
    EXPECT_NE(s.error().message.find("'v' is \"12ms\" (a string), not a number"), std::string::npos)
        << s.error().message;
}

TEST(AggregatorTest, InputWithoutWindowFieldsIsRefused) {
    Aggregator a(spec(Operation::Count, std::nullopt, {}, "count"));
    std::vector<Batch> out;
    Status s = a.push(batch_from_json({"{\"v\":1}"}), out);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("window.apply"), std::string::npos);
}

TEST(AggregatorTest, FinishEmitsWindowsThatNeverClosed) {
    Aggregator a(spec(Operation::Count, std::nullopt, {}, "count"));
    run(a, {rec(0, "\"v\":1")});
    std::vector<Batch> out;
    a.finish(out);
    EXPECT_EQ(jsonl(out), "{\"count\":1,\"window_start\":0,\"window_end\":null}\n");
}

TEST(AggregateStreamTest, OptionsAreChecked) {
    auto no_value = test::build_stage("aggregate.stream", {{"operation", "sum"}});
    EXPECT_FALSE(no_value.stage);
    EXPECT_NE(no_value.errors().find("needs value_column"), std::string::npos) << no_value.errors();
    auto clash = test::build_stage(
        "aggregate.stream", {{"operation", "count"}, {"group_by", OptionValue::List{"count"}}});
    EXPECT_FALSE(clash.stage);
    EXPECT_NE(clash.errors().find("clash"), std::string::npos) << clash.errors();
    auto ok = test::build_stage(
        "aggregate.stream", {{"operation", "avg"}, {"value_column", "ms"}, {"group_by", "host"}},
        ExecutionMode::Streaming);
    EXPECT_TRUE(ok.stage) << ok.errors();
}

TEST(AggregateStreamTest, OpeningAfterAStageWithoutWindowFieldsFails) {
    auto b = test::build_stage("aggregate.stream", {{"operation", "count"}});
    ASSERT_TRUE(b.stage);
    const SchemaRef in = make_schema({"a"});
    const bool fixed = true;
    OpenContext ctx;
    ctx.input_schemas = std::span<const SchemaRef>(&in, 1);
    ctx.input_schemas_fixed = std::span<const bool>(&fixed, 1);
    auto opened = b.stage->open(ctx);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("put a window.apply stage before it"), std::string::npos);
}

// Issue 13: a batch of sliding windows' rows can hold millions of records; a cancelled run
// must not fold all of them first.
TEST(AggregatorTest, ACancelledRunStopsFoldingMidBatch) {
    Aggregator a(spec(Operation::Count, std::nullopt, {}, "count"));
    int asked = 0;
    a.set_interrupt([&asked] { return ++asked >= 2; });
    std::vector<std::string> records;
    for (int i = 0; i < 20000; ++i)
        records.push_back(rec(0, "\"i\":" + std::to_string(i)));
    std::vector<Batch> out;
    Status s = a.push(batch_from_json(records), out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Cancelled);
    EXPECT_EQ(asked, 2) << "asked every 4096 records, not per record nor never";
    EXPECT_TRUE(out.empty());
}

TEST(AggregatorTest, ACancelledRunStopsEmittingOpenWindowsAtFinish) {
    Aggregator a(spec(Operation::Count, std::nullopt, {}, "count"));
    EXPECT_EQ(run(a, {rec(0, "\"k\":1"), rec(10, "\"k\":1"), rec(20, "\"k\":1")}), "");
    a.set_interrupt([] { return true; });
    std::vector<Batch> out;
    a.finish(out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(a.open_windows(), 0u);
}

} // namespace
} // namespace conveyor::plugins::aggregate
