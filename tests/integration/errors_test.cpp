// Error strategies end to end: bad records skipped into the dead-letter queue under
// "continue" (exit 3), named under "stop" (exit 65), per-stage overrides, and the accounting
// that nothing is lost: records in = records out + filtered + dead-lettered.

#include "support/paths.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

const char* kPipeline = R"(
[error_handling]
strategy = "${STRATEGY}"
dead_letter_queue = { enabled = true, path = "dlq/failed.jsonl" }

[[stages]]
id = "orders"
function = "csv.read"
inputs = []
[stages.config]
path = "orders.csv"

[[stages]]
id = "events"
function = "json.read"
inputs = []
[stages.config]
path = "events.jsonl"

[[stages]]
id = "big"
function = "filter.apply"
inputs = ["orders"]
[stages.config]
column = "amount"
operator = ">="
value = 100

[[stages]]
id = "orders_out"
function = "json.write"
inputs = ["big"]
[stages.config]
path = "out/orders.jsonl"

[[stages]]
id = "events_out"
function = "json.write"
inputs = ["events"]
[stages.config]
path = "out/events.jsonl"
)";

class ErrorStrategyTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        dir_.write("orders.csv", "id,amount\n1,150\n2,20,oops\n3,300\n4\n5,500\n");
        dir_.write("events.jsonl", "{\"e\":1}\n{\"e\":2,}\n[3]\n{\"e\":4}\n");
        dir_.write("p.toml", kPipeline);
    }
    test::ProcessResult run(const std::string& strategy) {
        test::ProcessOptions o;
        o.cwd = dir_.path();
        o.env["STRATEGY"] = strategy;
        return test::run_conveyor({"run", "p.toml", "--executor", GetParam()}, o);
    }
    test::TempDir dir_;
};

TEST_P(ErrorStrategyTest, ContinueSkipsBadRecordsIntoTheDeadLetterQueue) {
    auto r = run("continue");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("4 failed records"));
    EXPECT_EQ(test::read_file(dir_.file("out/orders.jsonl")),
              "{\"id\":1,\"amount\":150}\n{\"id\":3,\"amount\":300}\n{\"id\":5,\"amount\":500}\n");
    EXPECT_EQ(test::read_file(dir_.file("out/events.jsonl")), "{\"e\":1}\n{\"e\":4}\n");

    const auto dlq = lines_of(test::read_file(dir_.file("dlq/failed.jsonl")));
    ASSERT_EQ(dlq.size(), 4u);
    std::string all;
    for (const auto& l : dlq)
        all += l + "\n";
    // Each entry names the stage, the kind of error, where it was and the input text.
    EXPECT_THAT(all, HasSubstr(R"("stage":"orders","error":{"kind":"data")"));
    EXPECT_THAT(all, HasSubstr(R"("where":"orders.csv:3","raw":"2,20,oops")"));
    EXPECT_THAT(all, HasSubstr(R"("where":"orders.csv:5","raw":"4")"));
    EXPECT_THAT(all, HasSubstr(R"("stage":"events")"));
    EXPECT_THAT(all, HasSubstr(R"("where":"events.jsonl:2","raw":"{\"e\":2,}")"));
    EXPECT_THAT(all, HasSubstr(R"("where":"events.jsonl:3","raw":"[3]")"));
    EXPECT_THAT(all, HasSubstr(R"("attempts":1)"));
    EXPECT_THAT(all, HasSubstr(R"("timestamp":")"));
}

TEST_P(ErrorStrategyTest, AQuoteNeverClosedDeadLettersTheRestOfTheFileAndKeepsWhatCameBefore) {
    dir_.write("orders.csv", "id,amount\n1,150\n2,\"300\n3,400\n");
    dir_.write("events.jsonl", "{\"e\":1}\n");
    auto r = run("continue");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(test::read_file(dir_.file("out/orders.jsonl")), "{\"id\":1,\"amount\":150}\n");
    const std::string dlq = test::read_file(dir_.file("dlq/failed.jsonl"));
    EXPECT_THAT(dlq, HasSubstr(R"("where":"orders.csv:3","raw":"2,\"300\n3,400")")) << dlq;
    EXPECT_THAT(dlq, HasSubstr("quoted field is never closed"));

    auto stopped = run("stop");
    EXPECT_EQ(stopped.exit_code, 65);
    EXPECT_THAT(stopped.err, HasSubstr("orders.csv:3: quoted field is never closed"));
}

TEST_P(ErrorStrategyTest, StopNamesTheFirstBadRecordAndExits65) {
    auto r = run("stop");
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("orders.csv:3"), HasSubstr("events.jsonl:2")));
    EXPECT_FALSE(test::file_exists(dir_.file("out/orders.jsonl")));
    EXPECT_EQ(test::read_file(dir_.file("dlq/failed.jsonl")), "") << "nothing skipped under stop";
}

TEST_P(ErrorStrategyTest, RetryWithOnExhaustedContinueSkipsDataErrorsAtOnce) {
    // Bad data is never retried: it goes straight to on_exhausted.
    std::string p = kPipeline;
    p.replace(p.find("strategy = \"${STRATEGY}\""), 24,
              "strategy = \"retry\"\non_exhausted = \"continue\"\nretry_delay_seconds = 60");
    dir_.write("p.toml", p);
    auto r = run("unused");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(lines_of(test::read_file(dir_.file("dlq/failed.jsonl"))).size(), 4u);
}

TEST_P(ErrorStrategyTest, StageOverrideContinuesWhileTheRestStops) {
    std::string p = kPipeline;
    // Only `orders` skips bad rows; `events` has good data here.
    dir_.write("events.jsonl", "{\"e\":1}\n");
    p += R"(
[[stages]]
id = "count_check"
function = "stdout.write"
inputs = ["big"]
[stages.config]
format = "jsonl"
)";
    p.replace(p.find("path = \"orders.csv\""), 19,
              "path = \"orders.csv\"\n[stages.error_handling]\nstrategy = \"continue\"");
    dir_.write("p.toml", p);
    auto r = run("stop");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(lines_of(r.out).size(), 3u);
    EXPECT_EQ(lines_of(test::read_file(dir_.file("dlq/failed.jsonl"))).size(), 2u);
}

TEST_P(ErrorStrategyTest, ATruncatedJsonArrayKeepsTheRecordsBeforeTheBreak) {
    dir_.write("events.jsonl", "");
    dir_.write("arr.json", "[{\"e\":1},{\"e\":2},{\"e\":3");
    std::string p = kPipeline;
    p.replace(p.find("path = \"events.jsonl\""), 21, "path = \"arr.json\"");
    dir_.write("p.toml", p);
    auto r = run("continue");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(test::read_file(dir_.file("out/events.jsonl")), "{\"e\":1}\n{\"e\":2}\n");
    EXPECT_THAT(test::read_file(dir_.file("dlq/failed.jsonl")), HasSubstr(R"("raw":"{\"e\":3")"));
    EXPECT_THAT(r.err, HasSubstr("arr.json:1:24: unexpected end of input"));
}

INSTANTIATE_TEST_SUITE_P(Executors, ErrorStrategyTest,
                         ::testing::Values("dag", "channel", "async"));

TEST(ErrorHandlingConfig, DeadLetterQueueIsRunWideOnly) {
    test::TempDir dir;
    dir.write("p.toml", R"(
[[stages]]
id = "a"
function = "csv.read"
inputs = []
[stages.config]
path = "x.csv"
[stages.error_handling]
dead_letter_queue = { enabled = true, path = "d.jsonl" }
on_exhausted = "continu"

[[stages]]
id = "b"
function = "stdout.write"
inputs = ["a"]
)");
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor({"validate", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'a'"));
    EXPECT_THAT(r.err, HasSubstr("whole run"));
    EXPECT_THAT(r.err, HasSubstr("did you mean 'continue'"));
}

} // namespace
} // namespace conveyor
