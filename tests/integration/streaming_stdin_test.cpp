// execution_mode = "streaming" end to end: records written to the binary's stdin come out of
// stdout while the run goes on; EOF, SIGINT and SIGTERM end it gracefully (open windows
// flushed, sinks closed). Synchronisation is by reading output with a deadline, never sleeping.

#include "support/process.hpp"

#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kDeadline = 10s;

class StreamingStdinTest : public ::testing::TestWithParam<std::string> {
protected:
    std::unique_ptr<test::Child> start(const std::string& body) {
        dir_.write("p.toml", "[global]\nexecution_mode = \"streaming\"\nexecutor = \"" +
                                 GetParam() + "\"\n" + body);
        test::ProcessOptions o;
        o.cwd = dir_.path();
        o.unset_env = {"CONVEYOR_LOG"};
        return test::spawn_conveyor({"run", "p.toml"}, o);
    }
    test::TempDir dir_;
};

const char* kEcho = R"(
[[stages]]
id = "in"
function = "stdin.read"
inputs = []
[stages.config]
format = "lines"

[[stages]]
id = "out"
function = "stdout.write"
inputs = ["in"]
)";

TEST_P(StreamingStdinTest, EachLineComesOutWhileTheRunGoesOn) {
    auto child = start(kEcho);
    child->write_stdin("first\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"first"})");
    child->write_stdin("second\nthird\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"second"})");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"third"})");
    child->close_stdin();
    auto r = child->wait(kDeadline);
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(StreamingStdinTest, FlushIntervalGathersWritesButNoRecordWaitsLongerThanIt) {
    // Nothing more comes after the line: only the sink's timer can write it out.
    for (const std::string sink :
         {"function = \"stdout.write\"\ninputs = [\"in\"]\n[stages.config]\n",
          "function = \"json.write\"\ninputs = [\"in\"]\n[stages.config]\n"
          "path = \"-\"\nformat = \"jsonl\"\n",
          "function = \"csv.write\"\ninputs = [\"in\"]\n[stages.config]\n"
          "path = \"-\"\n"}) {
        auto child = start(
            std::string(kEcho).substr(0, std::string(kEcho).find("function = \"stdout.write\"")) +
            sink + "flush_interval_ms = 200\n");
        child->write_stdin("first\n");
        auto line = child->read_line(kDeadline);
        if (line == "line") line = child->read_line(kDeadline); // csv header
        EXPECT_THAT(line.value_or("<nothing>"), HasSubstr("first")) << sink;
        // Sent right after the first was written out: within the interval, so it is held
        // back, and comes out when the interval ends.
        child->write_stdin("second\n");
        EXPECT_THAT(child->read_line(kDeadline).value_or("<nothing>"), HasSubstr("second")) << sink;
        child->close_stdin();
        auto r = child->wait(kDeadline);
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
}

// Seed 000's real-time log use case: stdin -> stream.to_records -> filter -> several outputs.
const char* kLogs = R"(
[[stages]]
id = "in"
function = "stdin.read"
inputs = []

[[stages]]
id = "records"
function = "stream.to_records"
inputs = ["in"]

[[stages]]
id = "errors"
function = "filter.apply"
inputs = ["records"]
[stages.config]
column = "level"
operator = "=="
value = "error"

[[stages]]
id = "echo"
function = "stdout.write"
inputs = ["errors"]

[[stages]]
id = "keep"
function = "json.write"
inputs = ["errors"]
[stages.config]
path = "out/errors.jsonl"
append = true
fsync_interval_ms = 0

[[stages]]
id = "per_level"
function = "window.apply"
inputs = ["records"]
[stages.config]
size = 1000

[[stages]]
id = "counts"
function = "aggregate.stream"
inputs = ["per_level"]
[stages.config]
operation = "count"
group_by = ["level"]

[[stages]]
id = "save_counts"
function = "csv.write"
inputs = ["counts"]
[stages.config]
path = "out/counts.csv"
append = true
)";

TEST_P(StreamingStdinTest, SigintFlushesOpenWindowsAndClosesSinks) {
    auto child = start(kLogs);
    child->write_stdin("{\"level\":\"info\",\"msg\":\"a\"}\n{\"level\":\"error\",\"msg\":\"b\"}\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"level":"error","msg":"b"})");
    // The error line reached the appended file as soon as it was printed (or just after).
    child->write_stdin("{\"level\":\"error\",\"msg\":\"c\"}\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"level":"error","msg":"c"})");
    child->signal(SIGINT);
    auto r = child->wait(kDeadline);
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_THAT(r.err, HasSubstr("interrupted by SIGINT"));
    EXPECT_EQ(test::read_file(dir_.file("out/errors.jsonl")),
              "{\"level\":\"error\",\"msg\":\"b\"}\n{\"level\":\"error\",\"msg\":\"c\"}\n");
    // The count window (1000 records) was still open: the stop closed it.
    EXPECT_EQ(test::read_file(dir_.file("out/counts.csv")),
              "level,count,window_start,window_end\ninfo,1,0,3\nerror,2,0,3\n");
    EXPECT_EQ(test::list_dir(dir_.file("out")),
              (std::vector<std::string>{"counts.csv", "errors.jsonl"}));
}

TEST_P(StreamingStdinTest, SigtermAndThenARestartAppends) {
    for (int round = 0; round < 2; ++round) {
        auto child = start(kLogs);
        child->write_stdin("{\"level\":\"error\",\"msg\":\"r" + std::to_string(round) + "\"}\n");
        EXPECT_EQ(child->read_line(kDeadline),
                  "{\"level\":\"error\",\"msg\":\"r" + std::to_string(round) + "\"}");
        child->signal(SIGTERM);
        auto r = child->wait(kDeadline);
        EXPECT_EQ(r.exit_code, 143) << r.err;
    }
    EXPECT_EQ(test::read_file(dir_.file("out/errors.jsonl")),
              "{\"level\":\"error\",\"msg\":\"r0\"}\n{\"level\":\"error\",\"msg\":\"r1\"}\n");
    EXPECT_EQ(test::read_file(dir_.file("out/counts.csv")),
              "level,count,window_start,window_end\nerror,1,0,1\nerror,1,0,1\n")
        << "one header, one result per run";
}

TEST_P(StreamingStdinTest, AProcessingTimeWindowClosesOnTimeWithoutMoreInput) {
    auto child = start(R"(
[[stages]]
id = "in"
function = "stdin.read"
inputs = []

[[stages]]
id = "w"
function = "window.apply"
inputs = ["in"]
[stages.config]
size = "200ms"

[[stages]]
id = "n"
function = "aggregate.stream"
inputs = ["w"]
[stages.config]
operation = "sum"
value_column = "v"

[[stages]]
id = "out"
function = "stdout.write"
inputs = ["n"]
)");
    child->write_stdin("{\"v\":2}\n");
    // stdin stays open: only the window's timer can produce this line.
    const auto line = child->read_line(kDeadline);
    ASSERT_TRUE(line.has_value()) << "the window never closed";
    EXPECT_THAT(*line, HasSubstr("\"sum\":2,\"window_start\":\""));
    child->close_stdin();
    auto r = child->wait(kDeadline);
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(StreamingStdinTest, OutOfOrderEventsAreCountedInTheirWindowsAsTheWatermarkPasses) {
    auto child = start(R"(
[[stages]]
id = "in"
function = "stdin.read"
inputs = []

[[stages]]
id = "w"
function = "window.apply"
inputs = ["in"]
[stages.config]
size = "10s"
time_field = "ts"
allowed_lateness = "5s"

[[stages]]
id = "n"
function = "aggregate.stream"
inputs = ["w"]
[stages.config]
operation = "count"

[[stages]]
id = "out"
function = "stdout.write"
inputs = ["n"]
)");
    child->write_stdin("{\"ts\":100}\n{\"ts\":108}\n{\"ts\":103}\n{\"ts\":112}\n");
    // Watermark 112 - 5 = 107: window [100, 110) is still open (the record at 108 is held).
    child->write_stdin("{\"ts\":109}\n{\"ts\":116}\n");
    // Watermark 111: [100, 110) closes with 100, 103, 108 and 109 (109 arrived after 112).
    EXPECT_EQ(
        child->read_line(kDeadline),
        R"({"count":4,"window_start":"1970-01-01T00:01:40Z","window_end":"1970-01-01T00:01:50Z"})");
    child->write_stdin("{\"ts\":104}\n"); // late: before the watermark
    child->close_stdin();
    EXPECT_EQ(
        child->read_line(kDeadline),
        R"({"count":2,"window_start":"1970-01-01T00:01:50Z","window_end":"1970-01-01T00:02:00Z"})");
    auto r = child->wait(kDeadline);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("dropped 1 late record (allowed_lateness = 5s)"));
}

INSTANTIATE_TEST_SUITE_P(Executors, StreamingStdinTest,
                         ::testing::Values("dag", "channel", "async"),
                         [](const auto& param_info) { return param_info.param; });

TEST(StreamingValidationTest, FileWatchInBatchModeIsRefusedBeforeRunning) {
    test::TempDir dir;
    dir.write("p.toml", R"(
[[stages]]
id = "in"
function = "file.watch"
inputs = []
[stages.config]
path = "app.log"

[[stages]]
id = "out"
function = "stdout.write"
inputs = ["in"]
)");
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor({"validate", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("needs [global] execution_mode = \"streaming\""));
}

TEST(StreamingValidationTest, BatchModeStdinReadsToTheEnd) {
    test::TempDir dir;
    dir.write("p.toml", std::string(kEcho));
    test::ProcessOptions o;
    o.cwd = dir.path();
    o.stdin_data = "a\nb";
    auto r = test::run_conveyor({"run", "p.toml", "-q"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "{\"line\":\"a\"}\n{\"line\":\"b\"}\n");
}

} // namespace
} // namespace conveyor
