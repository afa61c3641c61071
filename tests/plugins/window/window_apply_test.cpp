// window.apply as a stage: its options, and whole pipelines (json.read -> window.apply ->
// aggregate.stream -> json.write) under every executor, in batch and streaming mode.

#include "conveyor/config/loader.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/stream_stage.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
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

// Issue 13: size = "1d", slide = "1ms" put every record in 86,400,000 windows and ran for
// hours. More than kMaxWindowsPerRecord (10,000) windows per record is refused at load.
TEST(WindowApplyOptionsTest, SlidingWindowsOverTenThousandWindowsPerRecordAreRefused) {
    const std::string e = build_errors({{"type", "sliding"}, {"size", "1d"}, {"slide", "1ms"}});
    EXPECT_THAT(e, HasSubstr("stage 'stage'"));
    EXPECT_THAT(e, HasSubstr("size = \"1d\" with slide = \"1ms\" puts every record in "
                             "86400000 windows"));
    EXPECT_THAT(e, HasSubstr("at most 10000 windows per record (size / slide <= 10000)"));
    EXPECT_THAT(e, HasSubstr("make slide at least \"8640ms\""));
    EXPECT_THAT(build_errors({{"type", "sliding"}, {"size", "10001s"}, {"slide", "1s"}}),
                HasSubstr("puts every record in 10001 windows"));
    // ceil(size / slide): 10,000 and a bit is 10,001 windows for some records.
    EXPECT_THAT(build_errors({{"type", "sliding"}, {"size", "10000001ms"}, {"slide", "1s"}}),
                HasSubstr("10001 windows"));
    EXPECT_THAT(
        build_errors(
            {{"type", "sliding"}, {"size", std::int64_t{10001}}, {"slide", std::int64_t{1}}}),
        HasSubstr("make slide at least 2 records"));
    // At the limit.
    EXPECT_TRUE(test::build_stage("window.apply",
                                  {{"type", "sliding"}, {"size", "10000s"}, {"slide", "1s"}})
                    .stage);
    EXPECT_TRUE(test::build_stage("window.apply", {{"type", "sliding"},
                                                   {"size", std::int64_t{10000}},
                                                   {"slide", std::int64_t{1}}})
                    .stage);
}

TEST(WindowApplyOptionsTest, DurationsLongerThanTheTimesHandledAreRefused) {
    EXPECT_THAT(build_errors({{"size", "4000000d"}}),
                HasSubstr("size = \"4000000d\" is longer than the times window.apply handles"));
    EXPECT_THAT(build_errors({{"type", "session"}, {"gap", "106751991167d"}}),
                HasSubstr("gap = \"106751991167d\" is longer"));
    EXPECT_THAT(
        build_errors(
            {{"size", "1m"}, {"time_field", "ts"}, {"allowed_lateness", "9223372036854775807ms"}}),
        HasSubstr("allowed_lateness = \"9223372036854775807ms\" is longer"));
    EXPECT_TRUE(test::build_stage("window.apply", {{"size", "3652000d"}}).stage);
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

/// Hands over its batches one at a time; `before` runs before each (with its number).
class ScriptedInput final : public StreamInput {
public:
    std::vector<Batch> batches;
    std::function<void(std::size_t)> before;

    boost::asio::awaitable<std::optional<InputEvent>> next() override {
        if (next_ >= batches.size()) co_return std::nullopt;
        if (before) before(next_);
        InputEvent ev;
        ev.batch = std::move(batches[next_++]);
        co_return ev;
    }
    void hold(std::size_t, bool) override {}

private:
    std::size_t next_ = 0;
};

class CollectingOutput final : public StreamOutput {
public:
    std::vector<Batch> got;
    boost::asio::awaitable<bool> emit(Batch b) override {
        got.push_back(std::move(b));
        co_return true;
    }
};

/// window.apply built from `options`, opened on `run` and `errors`, run over `in` to the end.
Status run_window(const std::map<std::string, OptionValue>& options, RunContext& run,
                  StageErrors* errors, ScriptedInput& in, CollectingOutput& out) {
    auto built = test::build_stage("window.apply", options, ExecutionMode::Streaming);
    EXPECT_TRUE(built.stage) << built.errors();
    if (!built.stage) return fail(ErrorKind::Internal, "not built");
    OpenContext ctx;
    ctx.stage_id = "w";
    ctx.run = &run;
    ctx.errors = errors;
    auto opened = built.stage->open(ctx);
    EXPECT_TRUE(opened.ok());
    if (!opened.ok()) return fail(ErrorKind::Internal, "not opened");
    auto& op = std::get<std::unique_ptr<StreamOperator>>(opened->op);
    boost::asio::io_context io;
    std::optional<Status> result;
    boost::asio::co_spawn(io, op->run(in, out), [&result](std::exception_ptr ep, Status s) {
        EXPECT_FALSE(ep) << "no exception";
        result = std::move(s);
    });
    io.run();
    EXPECT_TRUE(result.has_value());
    return result ? *result : fail(ErrorKind::Internal, "did not finish");
}

std::size_t rows_of(const std::vector<Batch>& batches) {
    std::size_t n = 0;
    for (const Batch& b : batches)
        n += b.rows();
    return n;
}

const std::map<std::string, OptionValue> kSlidingAtTheLimit = {{"type", "sliding"},
                                                               {"size", "10000s"},
                                                               {"slide", "1s"},
                                                               {"time_field", "ts"},
                                                               {"epoch_unit", "ms"}};

// Issue 13: window.apply never looked at the run's cancellation while placing records (and
// said "ok" when it noticed it at the end). Cancelled as a batch of records, each in 10,000
// windows, is handed over, it gives the batch up and returns Cancelled.
TEST(WindowApplyRunTest, ACancelledRunStopsTheOperatorMidBatchWithCancelled) {
    RunContext run;
    ScriptedInput in;
    std::vector<std::string> records;
    for (int i = 0; i < 20; ++i) // 200,000 output rows if it went on
        records.push_back("{\"ts\":" + std::to_string(1714564800000 + i * 1000) + "}");
    in.batches.push_back(test::batch_from_json(records));
    in.batches.push_back(test::batch_from_json(records));
    in.before = [&run](std::size_t i) {
        if (i == 0) run.cancel(Error(ErrorKind::Timeout, "the test's deadline"));
    };
    CollectingOutput out;
    const auto started = std::chrono::steady_clock::now();
    Status s = run_window(kSlidingAtTheLimit, run, nullptr, in, out);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Cancelled);
    EXPECT_THAT(s.error().message, HasSubstr("the test's deadline"));
    EXPECT_EQ(rows_of(out.got), 0u) << "what a cancelled run produced midway is dropped";
}

// Issue 13: a timestamp near INT64_MAX overflowed start + size. It is a record error: under
// strategy = "stop" the stage fails naming the field and the value.
TEST(WindowApplyRunTest, AnOutOfRangeTimeFailsTheStageUnderStop) {
    RunContext run;
    StageMetrics metrics("w");
    StageErrors errors("w", ErrorHandlingSpec{}, nullptr, &metrics);
    ScriptedInput in;
    in.batches.push_back(test::batch_from_json(
        {"{\"ts\":1714564800000,\"v\":1}", "{\"ts\":9223372036854775807,\"v\":2}"}));
    CollectingOutput out;
    Status s = run_window({{"size", "1m"}, {"time_field", "ts"}, {"epoch_unit", "ms"}}, run,
                          &errors, in, out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Data);
    EXPECT_THAT(s.error().to_string(),
                HasSubstr("time_field 'ts' is 9223372036854775807: out of the range "
                          "window.apply handles"));
    EXPECT_THAT(s.error().to_string(), HasSubstr("0000-01-01T00:00:00Z to "
                                                 "9999-12-31T23:59:59.999Z"));
    EXPECT_THAT(s.error().to_string(), HasSubstr("stage 'w'"));
}

// Under strategy = "continue" the record is counted as failed and left out; the rest go on.
TEST(WindowApplyRunTest, OutOfRangeTimesAreCountedAndSkippedUnderContinue) {
    RunContext run;
    StageMetrics metrics("w");
    ErrorHandlingSpec policy;
    policy.strategy = ErrorStrategy::Continue;
    StageErrors errors("w", policy, nullptr, &metrics);
    ScriptedInput in;
    in.batches.push_back(test::batch_from_json(
        {"{\"ts\":1714564800,\"v\":1}", "{\"ts\":\"+275760-09-13T00:00:00Z\",\"v\":2}",
         "{\"ts\":-9223372036854775808,\"v\":3}", "{\"ts\":1714564801,\"v\":4}"}));
    CollectingOutput out;
    Status s = run_window({{"size", "1m"}, {"time_field", "ts"}}, run, &errors, in, out);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    EXPECT_EQ(metrics.records_failed.load(), 2u);
    EXPECT_EQ(test::jsonl(out.got),
              "{\"ts\":1714564800,\"v\":1,\"window_start\":\"2024-05-01T12:00:00Z\","
              "\"window_end\":\"2024-05-01T12:01:00Z\"}\n"
              "{\"ts\":1714564801,\"v\":4,\"window_start\":\"2024-05-01T12:00:00Z\","
              "\"window_end\":\"2024-05-01T12:01:00Z\"}\n"
              "@window_closed {\"window_start\":\"2024-05-01T12:00:00Z\",\"window_end\":"
              "\"2024-05-01T12:01:00Z\"}\n");
}

/// A pipeline file: json.read of `input` -> window.apply with `window` (TOML lines) ->
/// json.write to `output`.
std::string window_pipeline(const std::string& input, const std::string& window,
                            const std::string& output) {
    return "[[stages]]\nid = \"in\"\nfunction = \"json.read\"\ninputs = []\n"
           "[stages.config]\npath = \"" +
           input +
           "\"\n\n[[stages]]\nid = \"w\"\nfunction = \"window.apply\"\ninputs = [\"in\"]\n"
           "[stages.config]\n" +
           window +
           "\n[[stages]]\nid = \"out\"\nfunction = \"json.write\"\ninputs = [\"w\"]\n"
           "[stages.config]\npath = \"" +
           output + "\"\n";
}

// `conveyor validate` refuses the configuration of the issue as a configuration error.
TEST(WindowApplyRunTest, ValidateRefusesTooManyWindowsPerRecordWithExit78) {
    test::TempDir dir;
    dir.write("events.jsonl", "{\"ts\":\"2024-05-01T12:00:05Z\"}\n");
    const std::string p =
        dir.write("p.toml", window_pipeline(dir.file("events.jsonl"),
                                            "type = \"sliding\"\nsize = \"1d\"\nslide = \"1ms\"\n"
                                            "time_field = \"ts\"\n",
                                            dir.file("out.jsonl")));
    const test::ProcessResult r = test::run_conveyor({"validate", p});
    EXPECT_EQ(r.exit_code, 78) << r.out << r.err;
    EXPECT_THAT(r.out + r.err, HasSubstr("stage 'w'"));
    EXPECT_THAT(r.out + r.err, HasSubstr("window.apply allows at most 10000 windows per record"));
}

// The whole run: a time near INT64_MAX stops it with a data error (exit 65), no output file.
TEST(WindowApplyRunTest, APipelineWithATimeNearInt64MaxFailsWithADataError) {
    test::TempDir dir;
    dir.write("events.jsonl", "{\"ts\":1714564800000}\n{\"ts\":9223372036854775806}\n");
    LoadResult loaded = load_pipeline_text(
        window_pipeline(dir.file("events.jsonl"),
                        "size = \"1m\"\ntime_field = \"ts\"\nepoch_unit = \"ms\"\n",
                        dir.file("out.jsonl")),
        "p.toml", test::builtin_registry());
    ASSERT_TRUE(loaded.pipeline) << loaded.diagnostics.to_string();
    RunContext run;
    RunReport report = run_pipeline(*loaded.pipeline, run);
    ASSERT_FALSE(report.status);
    EXPECT_EQ(report.status.error().kind, ErrorKind::Data);
    EXPECT_THAT(report.status.error().to_string(),
                HasSubstr("time_field 'ts' is 9223372036854775806: out of the range"));
    EXPECT_FALSE(test::file_exists(dir.file("out.jsonl")));
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
