// The runtime around the data, as a user running from shells, cron and batch schedulers meets
// it: outputs that are also inputs, outputs named by a descriptor (`/dev/stdout` under `>>`),
// signals while an output waits, resource limits. Each test runs the binary.

#include "support/paths.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace conveyor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// csv.read of `input` into `sink` (a function) writing `output`, with `sink_extra` lines in its
/// config and `global` lines in [global].
std::string pipeline(const std::string& input, const std::string& sink, const std::string& output,
                     const std::string& sink_extra = "", const std::string& global = "") {
    return "[global]\n" + global + "\n[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\n" +
           "inputs = []\n[stages.config]\npath = \"" + input + "\"\n\n[[stages]]\nid = \"out\"\n" +
           "function = \"" + sink + "\"\ninputs = [\"in\"]\n[stages.config]\npath = \"" + output +
           "\"\n" + sink_extra;
}

/// "id,name" and `rows` rows.
std::string rows_csv(int rows) {
    std::string csv = "id,name\n";
    for (int i = 0; i < rows; ++i)
        csv += std::to_string(i) + ",name" + std::to_string(i) + "\n";
    return csv;
}

/// `conveyor run -q p.toml` in `dir` with `args`.
test::ProcessResult run_in(const test::TempDir& dir, std::vector<std::string> args = {}) {
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    opts.timeout = std::chrono::seconds(60);
    std::vector<std::string> all = {"run", "-q", "p.toml"};
    all.insert(all.end(), args.begin(), args.end());
    return test::run_conveyor(all, opts);
}

class OwnOutput : public ::testing::TestWithParam<std::string> {};

// Appending to the file the run reads read the records back as they were written, a varying
// number of times: 1000 rows became 2000, 3000 or 6000 from one run to the next, exit 0.
TEST_P(OwnOutput, AppendingToTheFileTheRunReadsIsRefusedAndLeavesItAsItWas) {
    test::TempDir dir;
    const std::string data = rows_csv(1000);
    dir.write("self.csv", data);
    std::filesystem::create_symlink("self.csv", dir.file("link.csv"));
    for (const std::string output : {"self.csv", "link.csv", "./self.csv"}) {
        dir.write("p.toml", pipeline("self.csv", "csv.write", output, "append = true\n",
                                     "executor = \"" + GetParam() + "\""));
        const test::ProcessResult r = run_in(dir);
        EXPECT_EQ(r.exit_code, 78) << output << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr("p.toml:15:8: error: stage 'out': path: '" + output +
                                     "' is also read by stage 'in': with append = true the "
                                     "records written would be read back"));
        // The size first: the file grew without bound in some runs before.
        ASSERT_EQ(std::filesystem::file_size(dir.file("self.csv")), data.size()) << output;
        EXPECT_TRUE(test::read_file(dir.file("self.csv")) == data) << output;
    }
}

// A glob over a directory that also holds the output read the last run's output as input:
// the second run wrote every record twice, the third three times, each exit 0.
TEST_P(OwnOutput, AGlobThatMatchesTheOutputIsRefusedBeforeTheFirstRun) {
    test::TempDir dir;
    dir.write("data/a.csv", rows_csv(3));
    dir.write("p.toml", pipeline("data/*.csv", "csv.write", "data/all.csv", "",
                                 "executor = \"" + GetParam() + "\""));
    const test::ProcessResult r = run_in(dir);
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("'data/all.csv' is matched by the pattern 'data/*.csv' that "
                                 "stage 'in' reads"));
    EXPECT_FALSE(test::file_exists(dir.file("data/all.csv")));

    // The dead-letter queue is an output too.
    dir.write("p.toml", "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = "
                        "{ enabled = true, path = \"data/failed.csv\" }\n" +
                            pipeline("data/*.csv", "csv.write", "all.csv"));
    const test::ProcessResult dlq = run_in(dir);
    EXPECT_EQ(dlq.exit_code, 78) << dlq.err;
    EXPECT_THAT(dlq.err, HasSubstr("dead_letter_queue path 'data/failed.csv' is matched by the "
                                   "pattern 'data/*.csv'"));
    EXPECT_FALSE(test::file_exists(dir.file("all.csv")));
}

// Rewriting the file a run reads, without append and without a glob, stays what it was: the
// run reads the old file, and the new one replaces it when the run commits.
TEST_P(OwnOutput, RewritingTheInputInPlaceStillWorks) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(2000));
    dir.write("p.toml", pipeline("in.csv", "csv.write", "in.csv", "delimiter = \"tab\"\n",
                                 "executor = \"" + GetParam() + "\""));
    const test::ProcessResult r = run_in(dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string tabs = rows_csv(2000);
    std::replace(tabs.begin(), tabs.end(), ',', '\t');
    EXPECT_TRUE(test::read_file(dir.file("in.csv")) == tabs);
}

INSTANTIATE_TEST_SUITE_P(Executors, OwnOutput, ::testing::Values("dag", "channel", "async"));

} // namespace
} // namespace conveyor
