// README ("When things fail", "Exit codes"): under strategy = "continue" a stage that cannot
// start (a missing input file, an output that cannot be created) is a failing stage like any
// other: the rest runs and commits, and the run exits 3 naming the stage's error. A stage's own
// strategy = "stop" gives the error's own code instead and commits nothing.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;

std::string pipeline(const std::string& input, const std::string& output,
                     const std::string& output_strategy) {
    return "[error_handling]\nstrategy = \"continue\"\n" +
           stage_toml("in", "csv.read", "", "path = \"" + input + "\"") +
           stage_toml("out", "csv.write", "\"in\"", "path = \"" + output + "\"") + output_strategy +
           stage_toml("copy", "csv.write", "\"in\"", "path = \"copy.csv\"");
}

TEST(ContinueOpenFailure, AStageThatCannotStartIsIsolatedAndTheRunExits3) {
    test::TempDir dir;
    dir.write("in.csv", "id\n1\n");
    dir.write("blocker", "a file where a directory would go\n");
    test::ProcessOptions o;
    o.cwd = dir.path();

    dir.write("p.toml", pipeline("in.csv", "blocker/sub/out.csv", ""));
    auto r = test::run_conveyor({"run", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("1 failed stage"));
    EXPECT_THAT(r.err, HasSubstr("stage 'out': blocker/sub/out.csv: cannot create directory"));
    EXPECT_EQ(test::read_file(dir.file("copy.csv")), "id\n1\n") << "the sibling committed";

    dir.write("p.toml", pipeline("missing.csv", "out.csv", ""));
    r = test::run_conveyor({"run", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'in': missing.csv: cannot open input file"));

    // The stage's own "stop": the error's code, and nothing committed.
    std::filesystem::remove(dir.file("copy.csv"));
    dir.write("p.toml", pipeline("in.csv", "blocker/sub/out.csv",
                                 "[stages.error_handling]\nstrategy = \"stop\"\n"));
    r = test::run_conveyor({"run", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_FALSE(test::file_exists(dir.file("copy.csv")));
}

} // namespace
} // namespace conveyor
