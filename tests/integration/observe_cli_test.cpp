// The observability CLI around a run: summary and --stats-json, `conveyor new`, shell
// completion (exercised in bash) and the man page generated at build time.

#include "conveyor/core/arena.hpp"
#include "conveyor/format/json_parser.hpp"
#include "support/paths.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

namespace fs = std::filesystem;
using test::run_conveyor;
using test::run_process;
using ::testing::HasSubstr;
using ::testing::Not;

test::ProcessOptions in_repo(const test::TempDir& out) {
    test::ProcessOptions o;
    o.cwd = test::source_dir();
    o.env["OUT_DIR"] = out.path();
    o.unset_env = {"CONVEYOR_LOG", "NO_COLOR"};
    return o;
}

TEST(ObserveCli, StatsPrintsTheSummaryTableOnStderrOnly) {
    test::TempDir out;
    auto r =
        run_conveyor({"run", "pipelines/examples/quickstart.toml", "-q", "--stats"}, in_repo(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage    function"));
    EXPECT_THAT(r.err, HasSubstr("orders   csv.read"));
    EXPECT_THAT(r.err, HasSubstr("filtered")) << "filter.apply dropped records";
    EXPECT_THAT(r.err, HasSubstr("pipeline 'quickstart' ok"));
    EXPECT_THAT(r.out, Not(HasSubstr("rec/s"))) << "never on stdout";
}

TEST(ObserveCli, StatsJsonIsWrittenAtomicallyWithTheRunsNumbers) {
    test::TempDir out;
    auto r = run_conveyor({"run", "pipelines/examples/quickstart.toml", "-q", "--executor",
                           "channel", "--stats-json", out.file("stats/run.json")},
                          in_repo(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(test::list_dir(out.file("stats")), std::vector<std::string>{"run.json"});
    const std::string text = test::read_file(out.file("stats/run.json"));
    Arena arena;
    json::Parser parser;
    Result<Value> doc = parser.parse(text, arena);
    ASSERT_TRUE(doc) << text;
    EXPECT_EQ(doc->find("schema_version")->as_int(), 1);
    EXPECT_EQ(doc->find("executor")->as_string(), "channel");
    EXPECT_EQ(doc->find("status")->as_string(), "ok");
    const auto stages = doc->find("stages")->as_array();
    ASSERT_EQ(stages.size(), 5u);
    EXPECT_EQ(stages[0].find("id")->as_string(), "orders");
    EXPECT_EQ(stages[0].find("records")->find("out")->as_int(), 12);
    EXPECT_EQ(stages[0].find("bytes")->find("input_size")->as_int(),
              static_cast<std::int64_t>(
                  fs::file_size(test::source_dir() + "/pipelines/examples/data/orders.csv")));
    EXPECT_EQ(stages[0].find("bytes")->find("read")->as_int(),
              stages[0].find("bytes")->find("input_size")->as_int());
    const std::int64_t shipped = stages[1].find("records")->find("out")->as_int();
    EXPECT_EQ(stages[1].find("records")->find("filtered")->as_int() + shipped, 12);
    EXPECT_EQ(stages[4].find("records")->find("in")->as_int(), shipped);
    EXPECT_EQ(stages[4].find("bytes")->find("written")->as_int(),
              static_cast<std::int64_t>(fs::file_size(out.file("shipped_orders.json"))));
}

TEST(ObserveCli, NewWritesAStarterThatValidatesAndNeverOverwrites) {
    test::TempDir dir;
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto first = run_conveyor({"new", "orders"}, o);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_THAT(first.out, HasSubstr("orders.toml"));
    const std::string text = test::read_file(dir.file("orders.toml"));
    EXPECT_THAT(text, HasSubstr("name = \"orders\""));
    EXPECT_THAT(text, HasSubstr("# on_ragged = \"error\"")) << "options listed from the registry";
    auto valid = run_conveyor({"validate", "orders.toml"}, o);
    EXPECT_EQ(valid.exit_code, 0) << valid.err;

    // It runs, given the input it names.
    dir.write("input.csv", "id,amount\n1,50\n2,150\n");
    auto ran = run_conveyor({"run", "orders.toml", "-q"}, o);
    EXPECT_EQ(ran.exit_code, 0) << ran.err;
    EXPECT_EQ(test::read_file(dir.file("output.json")), "[\n{\"id\":2,\"amount\":150}\n]\n");

    dir.write("keep.toml", "mine");
    auto again = run_conveyor({"new", "keep.toml"}, o);
    EXPECT_EQ(again.exit_code, 73);
    EXPECT_THAT(again.err, HasSubstr("already exists"));
    EXPECT_EQ(test::read_file(dir.file("keep.toml")), "mine");
}

TEST(ObserveCli, BashCompletionCompletesSubcommandsOptionsValuesAndFunctions) {
    auto script = run_conveyor({"completion", "bash"});
    ASSERT_EQ(script.exit_code, 0);
    test::TempDir dir;
    const std::string file = dir.write("conveyor.bash", script.out);
    dir.write("a.toml", "");
    dir.write("b.csv", "");
    // Completes `words` (the last one being completed) and prints the candidates.
    auto complete = [&](const std::string& words) {
        test::ProcessOptions o;
        o.cwd = dir.path();
        auto r = run_process({"/bin/bash", "-c",
                              "source " + file + "; COMP_WORDS=(" + words +
                                  "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _conveyor; "
                                  "printf '%s\\n' \"${COMPREPLY[@]}\" | sort | tr '\\n' ' '"},
                             o);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    };
    EXPECT_THAT(
        complete("conveyor ''"),
        HasSubstr("explain finalize graph list new queue replay run schema validate worker"));
    EXPECT_EQ(complete("conveyor queue ''"), "push status ");
    EXPECT_EQ(complete("conveyor run --executor ''"), "async channel dag ");
    EXPECT_EQ(complete("conveyor describe csv."), "csv.read csv.write ");
    EXPECT_EQ(complete("conveyor run ''"), "a.toml ") << "pipeline files only";
    EXPECT_EQ(complete("conveyor run --executor dag ''"), "a.toml ")
        << "an option's value is not the file";
    EXPECT_THAT(complete("conveyor run --ta"), HasSubstr("--tap"));
    EXPECT_EQ(complete("conveyor graph a.toml --format ''"), "dot mermaid ");
    EXPECT_EQ(complete("conveyor completion ''"), "bash zsh ");
}

TEST(ObserveCli, ZshCompletionIsGeneratedFromTheSameDefinitions) {
    auto script = run_conveyor({"completion", "zsh"});
    ASSERT_EQ(script.exit_code, 0);
    EXPECT_THAT(script.out, HasSubstr("#compdef conveyor"));
    EXPECT_THAT(script.out, HasSubstr("'*--tap[")) << "repeatable";
    EXPECT_THAT(script.out, HasSubstr(":(dag channel async)"));
    EXPECT_THAT(script.out, HasSubstr(" csv.read csv.write "));
    const std::string zsh = fs::exists("/usr/bin/zsh") ? "/usr/bin/zsh" : "/bin/zsh";
    ASSERT_TRUE(fs::exists(zsh)) << "zsh is not installed: README's first command installs it";
    test::TempDir dir;
    const std::string file = dir.write("_conveyor", script.out);
    auto syntax = run_process({zsh, "-n", file});
    EXPECT_EQ(syntax.exit_code, 0) << syntax.err;
    // Loaded by compinit from $fpath, the function registers itself without errors.
    auto loaded = run_process({zsh, "-f", "-c",
                               "fpath=(" + dir.path() +
                                   " $fpath); autoload -U compinit; compinit -u -D; "
                                   "whence -w _conveyor && echo ${_comps[conveyor]}"});
    EXPECT_EQ(loaded.exit_code, 0) << loaded.err;
    EXPECT_THAT(loaded.out, HasSubstr("_conveyor"));
    EXPECT_EQ(loaded.err, "");
}

TEST(ObserveCli, ManPageIsGeneratedAtBuildTime) {
    const fs::path bin = test::conveyor_binary();
    const fs::path page = bin.parent_path().parent_path() / "share/man/man1/conveyor.1";
    ASSERT_TRUE(fs::exists(page)) << page;
    const std::string text = test::read_file(page.string());
    EXPECT_THAT(text, HasSubstr(".TH CONVEYOR 1"));
    EXPECT_THAT(text, HasSubstr(".SS run"));
    EXPECT_THAT(text, HasSubstr("\\-\\-metrics\\-addr"));
    EXPECT_THAT(text, HasSubstr(".SS csv.read (source)"));
    EXPECT_THAT(text, HasSubstr("on_ragged"));
    EXPECT_THAT(text, HasSubstr(".SH EXIT STATUS"));
    auto now = run_conveyor({"man"});
    EXPECT_EQ(now.out, text) << "the installed page is what the binary prints";
    if (fs::exists("/usr/bin/groff")) {
        auto r = run_process({"/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z", page.string()});
        EXPECT_EQ(r.exit_code, 0);
        EXPECT_EQ(r.err, "") << "groff warnings";
    }
}

TEST(ObserveCli, HelpListsTheNewCommandsButNotTheManGenerator) {
    auto r = run_conveyor({"--help"});
    for (const char* c : {"graph", "explain", "schema", "new", "completion"})
        EXPECT_THAT(r.out, HasSubstr(c));
    EXPECT_THAT(r.out, Not(HasSubstr("man ")));
}

} // namespace
} // namespace conveyor
