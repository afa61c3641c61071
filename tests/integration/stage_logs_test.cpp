// Logs that tell the story: at --log-level debug every stage says when it opened and started,
// and when it finished: records in, out and left out, the seconds it took, and why it
// stopped (its input ended, it needed no more, or it failed).

#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

test::ProcessResult run_debug(const test::TempDir& dir, const std::string& pipeline) {
    dir.write("p.toml", pipeline);
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    opts.unset_env = {"CONVEYOR_LOG"};
    return test::run_conveyor({"run", "p.toml", "--log-level", "debug"}, opts);
}

constexpr const char* kStages = R"(
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "orders.csv"

[[stages]]
id = "big"
function = "filter.apply"
inputs = ["load"]
[stages.config]
column = "amount"
operator = ">="
value = 100

[[stages]]
id = "save"
function = "json.write"
inputs = ["big"]
[stages.config]
path = "out.jsonl"
)";

class StageLogs : public ::testing::TestWithParam<std::string> {};

TEST_P(StageLogs, EveryStageSaysWhenItOpenedStartedAndFinishedWithItsCounts) {
    test::TempDir dir;
    dir.write("orders.csv", "id,amount\n1,50\n2,150\n3,20\n4,300\n5,100\n");
    auto r = run_debug(dir, "[global]\nexecutor = \"" + GetParam() + "\"\n" + kStages);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* s : {"'load' (csv.read)", "'big' (filter.apply)", "'save' (json.write)"}) {
        EXPECT_THAT(r.err, HasSubstr(std::string("stage ") + s + ": opened")) << r.err;
        EXPECT_THAT(r.err, HasSubstr(std::string("stage ") + s + ": started")) << r.err;
    }
    EXPECT_THAT(r.err, ContainsRegex("stage 'load': finished in [0-9]+\\.[0-9]{3} s, 0 records "
                                     "in, 5 out, 0 left out; input ended"));
    EXPECT_THAT(r.err, ContainsRegex("stage 'big': finished in [0-9]+\\.[0-9]{3} s, 5 records "
                                     "in, 3 out, 2 left out; input ended"));
    EXPECT_THAT(r.err, ContainsRegex("stage 'save': finished in [0-9]+\\.[0-9]{3} s, 3 records "
                                     "in, 3 out, 0 left out; input ended"));
}

INSTANTIATE_TEST_SUITE_P(Executors, StageLogs, ::testing::Values("dag", "channel", "async"));

TEST(StageLogsWhy, AStageThatNeedsNoMoreSaysSo) {
    test::TempDir dir;
    std::string csv = "id\n";
    for (int i = 0; i < 50; ++i)
        csv += std::to_string(i) + "\n";
    dir.write("orders.csv", csv);
    auto r = run_debug(dir, R"([global]
executor = "channel"

[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "orders.csv"

[[stages]]
id = "first"
function = "limit.apply"
inputs = ["load"]
[stages.config]
count = 3

[[stages]]
id = "save"
function = "json.write"
inputs = ["first"]
[stages.config]
path = "out.jsonl"
)");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, ContainsRegex("stage 'first': finished in [0-9.]+ s, [0-9]+ records in, "
                                     "3 out, [0-9]+ left out; satisfied: needs no more input"))
        << r.err;
}

TEST(StageLogsWhy, AFailedStageSaysWhy) {
    test::TempDir dir;
    dir.write("orders.csv", "id,amount\n1,50\n2\n");
    auto r = run_debug(dir, kStages);
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, ContainsRegex("stage 'load': finished in [0-9.]+ s, 0 records in, [0-9]+ "
                                     "out, 0 left out; failed: row has 1 field, expected 2"))
        << r.err;
}

} // namespace
} // namespace conveyor
