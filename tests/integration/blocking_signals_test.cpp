// Group-by, join and distinct spilling under a tiny memory_limit, and dag's buffered edges
// under a tiny max_buffered_bytes: SIGTERM in the middle leaves no spill file and no output;
// the spill files a kill -9 leaves are removed by the next run.
// The input comes through stdin and stays open until the signal, so that the run cannot end
// before it.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;

struct Case {
    std::string name;
    std::string function;
    std::string config;
    std::string spill_message;
};

const Case kCases[] = {
    {"groupby", "groupby.apply",
     "by = \"k\"\naggregations = [{ column = \"v\", operation = \"sum\" }]", "spilled to"},
    {"distinct", "distinct.apply", "columns = \"k\"\nkeep = \"last\"", "spilled to"},
    {"join", "join.apply", "on = \"k\"", "grace hash join"},
};

std::string rows_csv(int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i)
        s += std::to_string(i) + "," + std::to_string((i * 7919LL) % 100003) + "\n";
    return s;
}

/// stdin (CSV "v,k") -> the stage -> out.csv; a join reads small.csv on the left and stdin
/// (the build side) on the right.
std::string pipeline(test::TempDir& dir, const Case& c) {
    // channel: every stage runs at once (dag would start a join only after its inputs end).
    std::string p = "[global]\nexecutor = \"channel\"\nmemory_limit = \"64KiB\"\nstate_dir = \"" +
                    dir.file("state") + "\"\n" +
                    stage_toml("in", "stdin.read", "", "format = \"csv\"");
    if (c.function == "join.apply") {
        const std::string small = dir.write("small.csv", "v,k\n" + rows_csv(0, 100));
        p += stage_toml("small", "csv.read", "", "path = \"" + small + "\"") +
             stage_toml("step", c.function, "\"small\", \"in\"", c.config);
    } else {
        p += stage_toml("step", c.function, "\"in\"", c.config);
    }
    p += stage_toml("out", "csv.write", "\"step\"", "path = \"" + dir.file("out.csv") + "\"");
    return dir.write("p.toml", p);
}

class BlockingSignalsTest : public ::testing::TestWithParam<Case> {};

TEST_P(BlockingSignalsTest, SigtermWhileSpillingLeavesNoSpillFileAndNoOutput) {
    const Case& c = GetParam();
    test::TempDir dir;
    const std::string file = pipeline(dir, c);
    auto child = test::spawn_conveyor({"run", file});
    child->write_stdin("v,k\n" + rows_csv(0, 50000));
    ASSERT_TRUE(child->wait_for_stderr(c.spill_message, std::chrono::seconds(60)));
    EXPECT_GT(test::count_files(dir.file("state/spill")), 0u);
    child->signal(SIGTERM);
    const auto r = child->wait();
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u);
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST_P(BlockingSignalsTest, TheSpillFilesOfAKilledRunAreRemovedByTheNextOne) {
    const Case& c = GetParam();
    test::TempDir dir;
    const std::string file = pipeline(dir, c);
    auto child = test::spawn_conveyor({"run", file});
    child->write_stdin("v,k\n" + rows_csv(0, 50000));
    ASSERT_TRUE(child->wait_for_stderr(c.spill_message, std::chrono::seconds(60)));
    child->signal(SIGKILL);
    child->wait();
    EXPECT_GT(test::count_files(dir.file("state/spill")), 0u) << "kill -9 leaves them";
    // --resume: these stages take no checkpoints, so the run starts from the beginning of its
    // input, and removes what the killed one left.
    test::ProcessOptions opts;
    opts.stdin_data = "v,k\n" + rows_csv(0, 3000);
    auto r = test::run_conveyor({"run", "--resume", file}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("running from the beginning"));
    EXPECT_TRUE(test::file_exists(dir.file("out.csv")));
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u) << "the next run removed them";
}

/// stdin fanned out to two sinks under dag: the source's output waits for both.
std::string fan_out(test::TempDir& dir) {
    return dir.write(
        "fan.toml",
        "[global]\nexecutor = \"dag\"\nmax_buffered_bytes = \"64KiB\"\n"
        "state_dir = \"" +
            dir.file("state") + "\"\n" + stage_toml("in", "stdin.read", "", "format = \"csv\"") +
            stage_toml("a", "csv.write", "\"in\"", "path = \"" + dir.file("a.csv") + "\"") +
            stage_toml("b", "json.write", "\"in\"", "path = \"" + dir.file("b.jsonl") + "\""));
}

TEST(DagEdgeSpillSignals, SigtermWhileSpillingLeavesNoSpillFileAndNoOutput) {
    test::TempDir dir;
    const std::string file = fan_out(dir);
    auto child = test::spawn_conveyor({"run", file});
    child->write_stdin("v,k\n" + rows_csv(0, 50000));
    ASSERT_TRUE(child->wait_for_stderr("waits for its consumers in", std::chrono::seconds(60)));
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 1u);
    child->signal(SIGTERM);
    const auto r = child->wait();
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u);
    EXPECT_FALSE(test::file_exists(dir.file("a.csv")));
    EXPECT_FALSE(test::file_exists(dir.file("b.jsonl")));
}

TEST(DagEdgeSpillSignals, TheSpillFileOfAKilledRunIsRemovedByTheNextOneAndOutputIsWhole) {
    test::TempDir dir;
    const std::string file = fan_out(dir);
    auto child = test::spawn_conveyor({"run", file});
    child->write_stdin("v,k\n" + rows_csv(0, 50000));
    ASSERT_TRUE(child->wait_for_stderr("waits for its consumers in", std::chrono::seconds(60)));
    child->signal(SIGKILL);
    child->wait();
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 1u) << "kill -9 leaves it";
    // A run that does not spill removes it too; one that spills gives every record to both.
    test::ProcessOptions opts;
    opts.stdin_data = "v,k\n" + rows_csv(0, 10);
    auto r = test::run_conveyor({"run", file, "-q"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u) << "the next run removed it";
    opts.stdin_data = "v,k\n" + rows_csv(0, 20000);
    r = test::run_conveyor({"run", file, "-q"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("a.csv")), "v,k\n" + rows_csv(0, 20000));
    const std::string b = test::read_file(dir.file("b.jsonl"));
    EXPECT_EQ(std::count(b.begin(), b.end(), '\n'), 20000);
    EXPECT_THAT(b, HasSubstr("{\"v\":19999,\"k\":"));
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u);
}

INSTANTIATE_TEST_SUITE_P(Stages, BlockingSignalsTest, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return p.param.name; });

} // namespace
} // namespace conveyor
