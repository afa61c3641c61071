// The live progress display and the end-of-run summary: on a terminal (a pseudo-terminal here)
// and only there, never on stdout, off with -q, colour off with NO_COLOR, no redraws on a dumb
// terminal.

#include "../unit/obs/spawn.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <regex>

namespace conveyor {
namespace {

using test::Spawned;
using test::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

std::string pipeline(const std::string& input) {
    return R"([pipeline]
name = "prog"

[[stages]]
id = "load"
function = "json.read"
[stages.config]
path = ")" +
           input + R"("
format = "jsonl"

[[stages]]
id = "save"
function = "json.write"
inputs = ["load"]
[stages.config]
path = "out.jsonl"
)";
}

bool has_sgr(const std::string& s) {
    return std::regex_search(s, std::regex("\x1b\\[[0-9;]*m"));
}

Spawned::Options on_terminal(const TempDir& dir, std::map<std::string, std::string> env = {}) {
    Spawned::Options o;
    o.cwd = dir.path();
    o.stderr_pty = true;
    o.env = std::move(env);
    o.env.emplace("TERM", "xterm");
    o.unset_env = {"NO_COLOR", "CONVEYOR_LOG"};
    return o;
}

TEST(ObserveProgress, ShowsLiveLinesOnATerminalWhileTheRunGoesOnThenASummary) {
    TempDir dir;
    dir.write("p.toml", pipeline("-"));
    Spawned run({"run", "p.toml"}, on_terminal(dir));
    ASSERT_TRUE(run.started());
    // json.read opens once it has the first record; then it blocks on stdin for the rest:
    // whatever shows up now was drawn during the run.
    run.write_stdin("{\"a\":0}\n");
    // A frame drawn before json.read opened lists json.write alone: wait for one with both.
    ASSERT_TRUE(run.wait_for_stderr("(json.read)", std::chrono::seconds(20))) << run.err;
    ASSERT_TRUE(run.wait_for_stderr("rec/s", std::chrono::seconds(20))) << run.err;
    const std::string during = run.err;
    EXPECT_THAT(during, HasSubstr("load"));
    EXPECT_THAT(during, HasSubstr("'prog'"));
    EXPECT_TRUE(has_sgr(during)) << "bold stage names on a colour terminal";
    run.write_stdin("{\"a\":1}\n{\"a\":2}\n");
    run.close_stdin();
    EXPECT_EQ(run.wait(), 0) << run.err;
    EXPECT_EQ(run.out, "") << "progress never goes to stdout";
    EXPECT_THAT(run.err, HasSubstr("\x1b[J")) << "the display is erased before the summary";
    // The summary table follows the display.
    const auto table = run.err.find("stage  function");
    ASSERT_NE(table, std::string::npos) << run.err;
    EXPECT_THAT(run.err.substr(table), HasSubstr("total"));
    EXPECT_THAT(run.err.substr(table), HasSubstr("pipeline 'prog' ok"));
    EXPECT_THAT(run.err.substr(table), Not(HasSubstr("\x1b[J"))) << "nothing redrawn after it";
}

TEST(ObserveProgress, NoColorKeepsTheDisplayButDropsTheColours) {
    TempDir dir;
    dir.write("p.toml", pipeline("-"));
    Spawned run({"run", "p.toml"}, on_terminal(dir, {{"NO_COLOR", "1"}}));
    run.write_stdin("{\"a\":0}\n");
    ASSERT_TRUE(run.wait_for_stderr("rec/s", std::chrono::seconds(20))) << run.err;
    run.close_stdin();
    EXPECT_EQ(run.wait(), 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("\x1b[J")) << "still redrawn in place";
    EXPECT_FALSE(has_sgr(run.err)) << run.err;
}

TEST(ObserveProgress, QuietOnATerminalPrintsNothing) {
    TempDir dir;
    dir.write("in.jsonl", "{\"a\":1}\n");
    dir.write("p.toml", pipeline("in.jsonl"));
    Spawned run({"run", "p.toml", "-q"}, on_terminal(dir));
    EXPECT_EQ(run.wait(), 0) << run.err;
    EXPECT_EQ(run.err, "");
}

TEST(ObserveProgress, DumbTerminalGetsTheSummaryButNoRedraws) {
    TempDir dir;
    dir.write("in.jsonl", "{\"a\":1}\n");
    dir.write("p.toml", pipeline("in.jsonl"));
    Spawned run({"run", "p.toml"}, on_terminal(dir, {{"TERM", "dumb"}}));
    EXPECT_EQ(run.wait(), 0) << run.err;
    EXPECT_THAT(run.err, Not(HasSubstr("\x1b[")));
    EXPECT_THAT(run.err, Not(HasSubstr("of 2 stages running")));
    EXPECT_THAT(run.err, HasSubstr("stage  function"));
}

TEST(ObserveProgress, NotATerminalMeansNoDisplayAndNoTableUnlessAsked) {
    TempDir dir;
    dir.write("in.jsonl", "{\"a\":1}\n");
    dir.write("p.toml", pipeline("in.jsonl"));
    test::ProcessOptions o;
    o.cwd = dir.path();
    o.unset_env = {"CONVEYOR_LOG"};
    auto plain = test::run_conveyor({"run", "p.toml"}, o);
    EXPECT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_THAT(plain.err, Not(HasSubstr("\x1b[")));
    EXPECT_THAT(plain.err, Not(HasSubstr("rec/s")));
    EXPECT_THAT(plain.err, HasSubstr("pipeline 'prog' completed in")) << "the usual log line";

    auto stats = test::run_conveyor({"run", "p.toml", "--stats", "-q"}, o);
    EXPECT_EQ(stats.exit_code, 0) << stats.err;
    EXPECT_THAT(stats.err, HasSubstr("stage  function"));
    EXPECT_THAT(stats.err, HasSubstr("load   json.read"));
    EXPECT_THAT(stats.err, Not(HasSubstr("\x1b[")));
    EXPECT_EQ(stats.out, "");

    auto quiet = test::run_conveyor({"run", "p.toml", "-q"}, o);
    EXPECT_EQ(quiet.exit_code, 0);
    EXPECT_EQ(quiet.err, "") << "a quiet successful run prints nothing (cron)";
}

TEST(ObserveProgress, NoDisplayWhenRecordsArePrintedOnTheSameTerminal) {
    // stdout.write prints on the terminal too: redrawing in place would tear its table.
    TempDir dir;
    dir.write("p.toml", R"([[stages]]
id = "load"
function = "json.read"
[stages.config]
path = "-"
format = "jsonl"

[[stages]]
id = "show"
function = "stdout.write"
inputs = ["load"]
)");
    Spawned::Options o = on_terminal(dir);
    o.stdout_too = true;
    Spawned run({"run", "p.toml"}, o);
    run.write_stdin("{\"a\":1}\n");
    run.close_stdin();
    EXPECT_EQ(run.wait(), 0) << run.err;
    EXPECT_THAT(run.err, Not(HasSubstr("\x1b[J")));
    EXPECT_THAT(run.err, HasSubstr("stage  function")) << "the summary still follows the records";
}

TEST(ObserveProgress, NoProgressFlagKeepsTheTerminalQuietUntilTheSummary) {
    TempDir dir;
    dir.write("p.toml", pipeline("-"));
    Spawned run({"run", "p.toml", "--no-progress"}, on_terminal(dir));
    run.write_stdin("{\"a\":1}\n");
    run.close_stdin();
    EXPECT_EQ(run.wait(), 0) << run.err;
    EXPECT_THAT(run.err, Not(HasSubstr("\x1b[J")));
    EXPECT_THAT(run.err, Not(HasSubstr("rec/s  ")));
    EXPECT_THAT(run.err, HasSubstr("stage  function"));
}

} // namespace
} // namespace conveyor
