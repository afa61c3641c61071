// A run whose caller closed standard input, output or error (`<&-`, `>&-`, `2>&-` in a script,
// a daemon that closed them): the first files conveyor opened took those numbers, so reading
// stdin waited forever on the event loop's eventfd and records for stdout went into whatever
// took descriptor 1. Now using a closed one fails with its exit code and says why.

#include "support/paths.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

/// `source` (its config lines) -> `sink` (its function and config lines).
std::string pipeline(const std::string& source, const std::string& sink) {
    return "[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\n[stages.config]\n" + source +
           "\n\n[[stages]]\nid = \"out\"\ninputs = [\"in\"]\n" + sink + "\n";
}

/// Runs `conveyor run -q p.toml` in `dir` through sh with `redirections` ("<&-", ...).
test::ProcessResult run_with(const test::TempDir& dir, const std::string& redirections) {
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    opts.timeout = std::chrono::seconds(30);
    return test::run_process(
        {"/bin/sh", "-c", "exec \"$0\" run -q p.toml " + redirections, test::conveyor_binary()},
        opts);
}

TEST(ClosedStandardFds, AClosedStdinIsAnInputErrorNotAnEndlessWait) {
    test::TempDir dir;
    dir.write("p.toml", pipeline("path = \"-\"", "function = \"json.write\"\n[stages.config]\n"
                                                 "path = \"out.jsonl\""));
    const test::ProcessResult r = run_with(dir, "<&-");
    EXPECT_EQ(r.exit_code, 66) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'in': <stdin>: cannot read: not open for reading "
                                 "(standard input closed"));
    EXPECT_FALSE(test::file_exists(dir.file("out.jsonl")));
}

TEST(ClosedStandardFds, APipelineReadFromAClosedStdinSaysSo) {
    // `conveyor run - <&-` said "-: error: cannot read the pipeline file: Bad file descriptor".
    test::TempDir dir;
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    opts.timeout = std::chrono::seconds(30);
    const test::ProcessResult r = test::run_process(
        {"/bin/sh", "-c", "exec \"$0\" run - <&-", test::conveyor_binary()}, opts);
    EXPECT_EQ(r.exit_code, 66) << r.err;
    EXPECT_THAT(r.err, HasSubstr("<stdin>: error: cannot read the pipeline file: standard input "
                                 "is closed (give the pipeline on it"));
}

TEST(ClosedStandardFds, AClosedStdoutFailsTheSinkWith73) {
    test::TempDir dir;
    // "a,b\n1,2\n" is 8 bytes: an eventfd on descriptor 1 took them as a count, and the run
    // exited 0 with the records gone.
    dir.write("in.csv", "a,b\n1,2\n");
    dir.write("p.toml", pipeline("path = \"in.csv\"", "function = \"stdout.write\"\n"
                                                      "[stages.config]\nformat = \"csv\""));
    const test::ProcessResult r = run_with(dir, ">&-");
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'out': <stdout>: write failed: Bad file descriptor "
                                 "(standard output is closed"));
}

TEST(ClosedStandardFds, AClosedStdoutCommitsNoOtherOutput) {
    test::TempDir dir;
    dir.write("in.csv", "a,b\n1,2\n");
    dir.write("saved.jsonl", "old\n");
    const std::string toml = pipeline("path = \"in.csv\"", "function = \"stdout.write\"\n"
                                                           "[stages.config]\nformat = \"csv\"") +
                             "\n[[stages]]\nid = \"save\"\nfunction = \"json.write\"\n"
                             "inputs = [\"in\"]\n[stages.config]\npath = \"saved.jsonl\"\n";
    dir.write("p.toml", toml);
    const test::ProcessResult r = run_with(dir, ">&-");
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_EQ(test::read_file(dir.file("saved.jsonl")), "old\n");
}

TEST(ClosedStandardFds, WithEveryOneClosedAFileRunWritesItsOutputAlone) {
    test::TempDir dir;
    // Ragged rows under `continue`: a warning each, logged while the output is open.
    dir.write("in.csv", "a,b\n1,2\n3\n4,5\n");
    dir.write("p.toml", "[error_handling]\nstrategy = \"continue\"\n" +
                            pipeline("path = \"in.csv\"", "function = \"csv.write\"\n"
                                                          "[stages.config]\npath = \"out.csv\""));
    const test::ProcessResult r = run_with(dir, "<&- >&- 2>&-");
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "a,b\n1,2\n4,5\n");
}

} // namespace
} // namespace conveyor
