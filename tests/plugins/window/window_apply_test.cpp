// window.apply as a stage: its options, and whole pipelines (json.read -> window.apply ->
// aggregate.stream -> json.write) under every executor, in batch and streaming mode.

#include "conveyor/config/loader.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/run_context.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

std::string build_errors(const std::map<std::string, OptionValue>& options) {
    auto b = test::build_stage("window.apply", options, ExecutionMode::Streaming);
    EXPECT_FALSE(b.stage) << "expected a problem";
    return b.errors();
}

TEST(WindowApplyOptionsTest, SizeIsACountOrADuration) {
    EXPECT_TRUE(test::build_stage("window.apply", {{"size", std::int64_t{100}}}).stage);
    EXPECT_TRUE(test::build_stage("window.apply", {{"size", "10s"}}).stage);
    EXPECT_THAT(build_errors({{"size", "10"}}), HasSubstr("is not a duration"));
    EXPECT_THAT(build_errors({{"size", std::int64_t{0}}}), HasSubstr("at least 1"));
    EXPECT_THAT(build_errors({{"size", 1.5}}), HasSubstr("number of records"));
    EXPECT_THAT(build_errors({}), HasSubstr("window size missing"));
}

TEST(WindowApplyOptionsTest, EachTypeTakesItsOwnOptions) {
    EXPECT_THAT(build_errors({{"type", "sliding"}, {"size", "1m"}}), HasSubstr("needs 'slide'"));
    EXPECT_THAT(build_errors({{"type", "sliding"}, {"size", "1m"}, {"slide", std::int64_t{10}}}),
                HasSubstr("both be record counts or both be durations"));
    EXPECT_THAT(build_errors({{"type", "sliding"}, {"size", "1m"}, {"slide", "2m"}}),
                HasSubstr("must not be larger than size"));
    EXPECT_THAT(build_errors({{"size", "1m"}, {"slide", "10s"}}),
                HasSubstr("is for type = \"sliding\""));
    EXPECT_THAT(build_errors({{"type", "session"}}), HasSubstr("needs 'gap'"));
    EXPECT_THAT(build_errors({{"type", "session"}, {"gap", "30s"}, {"size", "1m"}}),
                HasSubstr("has no size"));
    EXPECT_THAT(build_errors({{"size", std::int64_t{10}}, {"time_field", "ts"}}),
                HasSubstr("do not use time"));
    EXPECT_THAT(build_errors({{"size", "1m"}, {"allowed_lateness", "5s"}}),
                HasSubstr("records on processing time are never late"));
    EXPECT_TRUE(
        test::build_stage(
            "window.apply",
            {{"type", "session"}, {"gap", "30s"}, {"time_field", "ts"}, {"allowed_lateness", "1m"}})
            .stage);
}

TEST(WindowApplyOptionsTest, AKnownInputWithoutTheTimeFieldFailsAtOpen) {
    auto b = test::build_stage("window.apply", {{"size", "1m"}, {"time_field", "ts"}});
    ASSERT_TRUE(b.stage);
    const SchemaRef in = make_schema({"time", "v"});
    const bool fixed = true;
    OpenContext ctx;
    ctx.input_schemas = std::span<const SchemaRef>(&in, 1);
    ctx.input_schemas_fixed = std::span<const bool>(&fixed, 1);
    auto opened = b.stage->open(ctx);
    ASSERT_FALSE(opened.ok());
    EXPECT_THAT(opened.error().message, HasSubstr("time_field 'ts' is not a field of the input"));
}

using Param = std::tuple<std::string, std::string>; // executor, mode

class WindowPipelineTest : public ::testing::TestWithParam<Param> {};

// Out-of-order events, tumbling 1-minute windows on event time, count per level.
TEST_P(WindowPipelineTest, EventTimeCountsPerWindowAndKey) {
    const auto& [executor, mode] = GetParam();
    test::TempDir dir;
    dir.write("events.jsonl",
              "{\"ts\":\"2024-05-01T12:00:05Z\",\"level\":\"error\"}\n"
              "{\"ts\":\"2024-05-01T12:00:40Z\",\"level\":\"info\"}\n"
              "{\"ts\":\"2024-05-01T12:01:10Z\",\"level\":\"error\"}\n"
              "{\"ts\":\"2024-05-01T12:00:50Z\",\"level\":\"error\"}\n" // 20 s out of order
              "{\"ts\":\"2024-05-01T12:02:30Z\",\"level\":\"info\"}\n"
              "{\"ts\":\"2024-05-01T12:01:59Z\",\"level\":\"info\"}\n");
    const std::string text = "[global]\nexecutor = \"" + executor + "\"\nexecution_mode = \"" +
                             mode + "\"\nchannel_buffer_size = 2\nbatch_size = 2\n" + R"(
[[stages]]
id = "in"
function = "json.read"
inputs = []
[stages.config]
path = ")" + dir.file("events.jsonl") +
                             R"("

[[stages]]
id = "w"
function = "window.apply"
inputs = ["in"]
[stages.config]
size = "1m"
time_field = "ts"
allowed_lateness = "45s"

[[stages]]
id = "agg"
function = "aggregate.stream"
inputs = ["w"]
[stages.config]
operation = "count"
group_by = ["level"]

[[stages]]
id = "out"
function = "json.write"
inputs = ["agg"]
[stages.config]
path = ")" + dir.file("counts.jsonl") +
                             "\"\n";
    LoadResult loaded = load_pipeline_text(text, "p.toml", test::builtin_registry());
    ASSERT_TRUE(loaded.pipeline) << loaded.diagnostics.to_string();
    RunContext run;
    RunReport report = run_pipeline(*loaded.pipeline, run);
    ASSERT_TRUE(report.status) << report.status.error().to_string();
    EXPECT_EQ(test::read_file(dir.file("counts.jsonl")),
              "{\"level\":\"error\",\"count\":2,\"window_start\":\"2024-05-01T12:00:00Z\",\"window_"
              "end\":\"2024-05-01T12:01:00Z\"}\n"
              "{\"level\":\"info\",\"count\":1,\"window_start\":\"2024-05-01T12:00:00Z\",\"window_"
              "end\":\"2024-05-01T12:01:00Z\"}\n"
              "{\"level\":\"error\",\"count\":1,\"window_start\":\"2024-05-01T12:01:00Z\",\"window_"
              "end\":\"2024-05-01T12:02:00Z\"}\n"
              "{\"level\":\"info\",\"count\":1,\"window_start\":\"2024-05-01T12:01:00Z\",\"window_"
              "end\":\"2024-05-01T12:02:00Z\"}\n"
              "{\"level\":\"info\",\"count\":1,\"window_start\":\"2024-05-01T12:02:00Z\",\"window_"
              "end\":\"2024-05-01T12:03:00Z\"}\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, WindowPipelineTest,
                         ::testing::Combine(::testing::Values("dag", "channel", "async"),
                                            ::testing::Values("batch", "streaming")),
                         [](const auto& param_info) {
                             return std::get<0>(param_info.param) + "_" +
                                    std::get<1>(param_info.param);
                         });

} // namespace
} // namespace conveyor
