// What a newcomer meets before any data flows, found by using the tool as one: `--set` with
// values and keys the first version refused or mangled, TOML mistakes whose messages did not
// say what to write, and `conveyor replay` replacing the earlier run's output.

#include "support/paths.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <regex>
#include <sstream>

namespace conveyor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char* kPipeline = R"([[stages]]
id = "load"
function = "csv.read"
[stages.config]
path = "orders.csv"

[[stages]]
id = "big"
function = "filter.apply"
inputs = ["load"]
[stages.config]
expression = "amount >= 100"

[[stages]]
id = "out"
function = "csv.write"
inputs = ["big"]
[stages.config]
path = "out.csv"
)";

test::ProcessOptions in(const test::TempDir& dir) {
    test::ProcessOptions o;
    o.cwd = dir.path();
    return o;
}

TEST(ConfigRound, SetGivesAStringOptionTheTextWrittenEvenWhenItReadsAsANumber) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    dir.write("orders.csv", "id,amount\n1,50\n2,500\n");
    // A file named 2024 (or 1e3, true, inf): the key takes a string, so VALUE is that text.
    auto r = test::run_conveyor({"run", "-q", "p.toml", "--set", "stages.out.path=2024", "--set",
                                 "stages.load.delimiter=,", "--set", "pipeline.name=1e3"},
                                in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("2024")), "id,amount\n2,500\n");
    // A key that takes a number still takes the number, and a list stays a list.
    r = test::run_conveyor({"run", "-q", "p.toml", "--dry-run", "--set", "global.workers=2",
                            "--set", "stages.big.expression=true"},
                           in(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // A variable is text whatever it looks like.
    dir.write("v.toml", std::string("[global.variables]\nyear = \"x\"\n") + kPipeline);
    r = test::run_conveyor({"run", "-q", "v.toml", "--set", "global.variables.year=2024", "--set",
                            "stages.out.path=out-${year}.csv"},
                           in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::file_exists(dir.file("out-2024.csv")));
}

TEST(ConfigRound, SetReachesTablesInsideASectionOrAStagesConfig) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    dir.write("orders.csv", "id,amount\n1,500\n2,yes\n");
    auto r = test::run_conveyor({"run", "-q", "p.toml", "--set", "stages.load.types.amount=bool",
                                 "--set", "error_handling.strategy=continue", "--set",
                                 "error_handling.dead_letter_queue.enabled=true", "--set",
                                 "error_handling.dead_letter_queue.path=failed.jsonl"},
                                in(dir));
    // types.amount = "bool" made 500 a record error, which went to the dead-letter queue set.
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(test::read_file(dir.file("failed.jsonl")), HasSubstr("orders.csv:2"));
    // A key that is not there is still named with a did-you-mean, at the argument.
    r = test::run_conveyor({"run", "p.toml", "--set", "error_handling.dead_letter_queue.pth=x",
                            "--set", "stages.load.typs.id=string"},
                           in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("--set error_handling.dead_letter_queue.pth=x: error: unknown "
                                 "key 'pth'"));
    EXPECT_THAT(r.err, HasSubstr("did you mean 'path'?"));
    EXPECT_THAT(r.err, HasSubstr("--set stages.load.typs.id=string: error: stage 'load': unknown "
                                 "key 'typs' in [stages.config] (did you mean 'types'?)"));
    // The stage's own tables and id: said in --set's terms, not as a TOML layout mistake.
    r = test::run_conveyor({"run", "p.toml", "--set", "stages.load.id=x", "--set",
                            "stages.out.error_handling=continue", "--set", "stages.out.config=1"},
                           in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("--set stages.load.id=x: error: --set cannot change a stage's "
                                 "id"));
    EXPECT_THAT(r.err, HasSubstr("--set stages.out.error_handling=continue: error: --set "
                                 "stages.ID.error_handling.KEY=VALUE names a key of the stage's "
                                 "[stages.error_handling]"));
    EXPECT_THAT(r.err, HasSubstr("--set stages.out.config=1: error: --set "
                                 "stages.ID.config.KEY=VALUE names a key of the stage's "
                                 "[stages.config]"));
    // stages.ID.config.KEY, as the file writes it, is stages.ID.KEY.
    r = test::run_conveyor({"run", "--dry-run", "p.toml", "--set", "stages.out.config.path=x.csv"},
                           in(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // Something that is not a table in the file cannot hold a key.
    r = test::run_conveyor({"run", "p.toml", "--set", "stages.out.path.x=1"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("'stages.out.path.x' is not a table in the file"));
}

TEST(ConfigRound, SetOfAStageWhoseIdHasADotFindsThatStage) {
    test::TempDir dir;
    std::string p = kPipeline;
    p.replace(p.find("id = \"out\""), 10, "id = \"out.v2\"");
    dir.write("p.toml", p);
    dir.write("orders.csv", "id,amount\n1,500\n");
    auto r = test::run_conveyor({"run", "-q", "p.toml", "--set", "stages.out.v2.path=other.csv"},
                                in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::file_exists(dir.file("other.csv")));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(ConfigRound, SetOverridesAnOptionTheFileWritesUnderItsOlderSpelling) {
    test::TempDir dir;
    dir.write("p.toml", R"([[stages]]
id = "load"
function = "csv.read"
[stages.config]
path = "people.csv"

[[stages]]
id = "once"
function = "distinct.apply"
inputs = ["load"]
[stages.config]
by = ["id"]

[[stages]]
id = "out"
function = "csv.write"
inputs = ["once"]
[stages.config]
path = "out.csv"
)");
    dir.write("people.csv", "id,name\n1,a\n2,a\n3,b\n");
    // `by` is distinct.apply's older spelling of `columns`: the --set replaces it.
    auto r = test::run_conveyor({"run", "-q", "p.toml", "--set", "stages.once.columns=[\"name\"]"},
                                in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,name\n1,a\n3,b\n");
}

TEST(ConfigRound, ASetValueOfSeveralTomlLinesIsNotCutToItsFirstValue) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    auto r = test::run_conveyor({"run", "--dry-run", "p.toml", "--set", "global.workers=4\nx = 1"},
                                in(dir));
    EXPECT_EQ(r.exit_code, 78) << r.out;
    EXPECT_THAT(r.err, HasSubstr("[global] workers must be an integer, not string"));
}

TEST(ConfigRound, AStagesKeyWrittenUnderItsConfigSaysToMoveItUp) {
    test::TempDir dir;
    dir.write("p.toml", R"([[stages]]
id = "load"
function = "csv.read"
[stages.config]
path = "orders.csv"
executor = "channel"

[[stages]]
id = "out"
function = "stdout.write"
[stages.config]
format = "csv"
inputs = ["load"]
)");
    auto r = test::run_conveyor({"validate", "p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("p.toml:13:1: error: stage 'out': unknown key 'inputs' in "
                                 "[stages.config]: 'inputs' is a key of the [[stages]] entry: "
                                 "write it above [stages.config]"));
    EXPECT_THAT(r.err, HasSubstr("p.toml:6:1: error: stage 'load': unknown key 'executor' in "
                                 "[stages.config]: [global] settings go in [global]"));
}

TEST(ConfigRound, AKeyInTheWrongSectionSaysWhichSectionItBelongsIn) {
    test::TempDir dir;
    dir.write("p.toml", std::string(R"([pipeline]
executor = "channel"

[global]
strategy = "continue"
name = "orders"

[error_handling]
workers = 2

[variables]
day = "monday"

)") + kPipeline + R"(max_retries = 2
)");
    auto r = test::run_conveyor({"validate", "p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("p.toml:2:1: error: unknown key 'executor' in [pipeline] (it "
                                 "belongs in [global])"));
    EXPECT_THAT(r.err, HasSubstr("p.toml:5:1: error: unknown key 'strategy' in [global] (it "
                                 "belongs in [error_handling])"));
    EXPECT_THAT(r.err, HasSubstr("p.toml:6:1: error: unknown key 'name' in [global] (it belongs "
                                 "in [pipeline])"));
    EXPECT_THAT(r.err, HasSubstr("p.toml:9:1: error: unknown key 'workers' in [error_handling] "
                                 "(it belongs in [global])"));
    EXPECT_THAT(r.err, HasSubstr("unknown table [variables] (did you mean [global.variables]?)"));
    EXPECT_THAT(r.err, HasSubstr("stage 'out': unknown key 'max_retries' in [stages.config] (it "
                                 "belongs in [stages.error_handling], or [error_handling] for the "
                                 "whole run)"));
    EXPECT_THAT(r.err, HasSubstr("6 problems in p.toml"));
}

TEST(ConfigRound, AStageIdWithALineBreakIsRefusedNotPrintedOverTwoLines) {
    test::TempDir dir;
    dir.write("p.toml", "[[stages]]\nid = \"load\\nx\"\nfunction = \"csv.read\"\n"
                        "[stages.config]\npath = \"a.csv\"\n");
    auto r = test::run_conveyor({"validate", "p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("p.toml:2:6: error: stage id \"load\\nx\" holds a control "
                                 "character (a line break, a tab)"));
    dir.write("q.toml", "[[stages]]\nid = \"load\"\nfunction = \"csv.read\"\n"
                        "[stages.config]\npath = \"a.csv\"\n[[stages]]\nid = \"out\"\n"
                        "function = \"stdout.write\"\ninputs = [\"lo\\tad\"]\n");
    r = test::run_conveyor({"validate", "q.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("q.toml:9:11: error: stage 'out': input \"lo\\tad\" holds a "
                                 "control character"));
    EXPECT_THAT(r.err, Not(HasSubstr("\t")));
}

TEST(ConfigRound, TomlMistakesAboutStageTablesSayWhatToWrite) {
    test::TempDir dir;
    dir.write("before.toml", "[stages.config]\npath = \"a.csv\"\n\n[[stages]]\nid = \"a\"\n"
                             "function = \"csv.read\"\n");
    auto r = test::run_conveyor({"validate", "before.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("before.toml:4:1: error: invalid TOML:"));
    EXPECT_THAT(r.err, HasSubstr("write [[stages]] with its id and function first, then its "
                                 "[stages.config]"));
    dir.write("twice.toml", "[[stages]]\nid = \"a\"\nfunction = \"csv.read\"\n[stages.config]\n"
                            "path = \"a.csv\"\n\nid = \"b\"\n[stages.config]\npath = \"b.csv\"\n");
    r = test::run_conveyor({"validate", "twice.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("twice.toml:8:1: error: invalid TOML:"));
    EXPECT_THAT(r.err, HasSubstr("is a [[stages]] line missing above this one?"));
}

TEST(ConfigRound, APipelineFileInUtf16OrLatin1SaysHowToConvertIt) {
    test::TempDir dir;
    std::string utf16 = "\xFF\xFE";
    for (char c : std::string(kPipeline)) {
        utf16 += c;
        utf16 += '\0';
    }
    dir.write("w.toml", utf16);
    auto r = test::run_conveyor({"validate", "w.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("w.toml:1:1: error: the pipeline file is UTF-16 LE (byte-order "
                                 "mark), not UTF-8: convert it with iconv -f UTF-16 -t UTF-8"));
    dir.write("l.toml", std::string("[pipeline]\nname = \"caf\xE9\"\n") + kPipeline);
    r = test::run_conveyor({"validate", "l.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("l.toml:2:"));
    EXPECT_THAT(r.err, HasSubstr("a pipeline file is UTF-8: convert it"));
}

const char* kDeadLetter =
    R"({"stage":"big","error":{"kind":"data","message":"x"},"attempts":1,"timestamp":"t","record":{"id":3,"amount":700}})"
    "\n";

TEST(ConfigRound, ReplayNeverReplacesTheEarlierRunsOutputWithTheReplayedRecordsAlone) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    dir.write("out.csv", "id,amount\n2,500\n");
    dir.write("failed.jsonl", kDeadLetter);
    auto r =
        test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big"}, in(dir));
    EXPECT_EQ(r.exit_code, 73);
    EXPECT_THAT(r.err, HasSubstr("stage 'out' (csv.write) would replace out.csv with the output "
                                 "of the replayed records alone"));
    EXPECT_THAT(r.err, HasSubstr("--set stages.out.append=true"));
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,amount\n2,500\n");
    // Added to it, or written elsewhere, as the message says.
    r = test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big", "--set",
                            "stages.out.append=true"},
                           in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,amount\n2,500\n3,700\n");
    r = test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big", "--set",
                            "stages.out.path=replayed.csv"},
                           in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("replayed.csv")), "id,amount\n3,700\n");
}

TEST(ConfigRound, ReplayNeverReplacesFilesSplitByValueOrRolledThatTheEarlierRunWrote) {
    test::TempDir dir;
    std::string p = kPipeline;
    p.replace(p.find("path = \"out.csv\""), 16, "path = \"out/{{ id }}.csv\"");
    dir.write("p.toml", p);
    dir.write("out/2.csv", "id,amount\n2,500\n");
    dir.write("notes.txt", "not an output");
    dir.write("failed.jsonl", kDeadLetter);
    auto r =
        test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big"}, in(dir));
    EXPECT_EQ(r.exit_code, 73);
    EXPECT_THAT(r.err, HasSubstr("would replace out/{{ id }}.csv"));
    EXPECT_FALSE(test::file_exists(dir.file("out/3.csv")));
    // A file beside them that is not theirs does not count: a fresh directory replays.
    r = test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big", "--set",
                            "stages.out.path=again/{{ id }}.csv"},
                           in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("again/3.csv")), "id,amount\n3,700\n");
    // Rolled files: out/part.csv is written as out/part-00001.csv, ...
    dir.write("rolled/part-00001.csv", "id,amount\n2,500\n");
    r = test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big", "--set",
                            "stages.out.path=rolled/part.csv", "--set",
                            "stages.out.max_records_per_file=10"},
                           in(dir));
    EXPECT_EQ(r.exit_code, 73);
    EXPECT_EQ(test::read_file(dir.file("rolled/part-00001.csv")), "id,amount\n2,500\n");
}

TEST(ConfigRound, ReplayNeverReplacesTheDeadLetterFileItReplaysFrom) {
    test::TempDir dir;
    dir.write("p.toml", std::string("[error_handling]\nstrategy = \"continue\"\n"
                                    "dead_letter_queue = { enabled = true, path = "
                                    "\"failed.jsonl\" }\n") +
                            kPipeline);
    const std::string other =
        R"({"stage":"load","error":{"kind":"data","message":"row"},"attempts":1,"timestamp":"t","where":"orders.csv:3","raw":"2,x"})"
        "\n";
    dir.write("failed.jsonl", other + kDeadLetter);
    auto r = test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big", "--set",
                                 "stages.out.path=replayed.csv"},
                                in(dir));
    EXPECT_EQ(r.exit_code, 73);
    EXPECT_THAT(r.err, HasSubstr("the dead-letter queue would replace failed.jsonl"));
    EXPECT_THAT(r.err, HasSubstr("--set error_handling.dead_letter_queue.path=OTHER_FILE"));
    EXPECT_EQ(test::read_file(dir.file("failed.jsonl")), other + kDeadLetter);
    EXPECT_FALSE(test::file_exists(dir.file("replayed.csv")));
    r = test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big", "--set",
                            "stages.out.path=replayed.csv", "--set",
                            "error_handling.dead_letter_queue.path=failed-again.jsonl"},
                           in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("replayed.csv")), "id,amount\n3,700\n");
    EXPECT_EQ(test::read_file(dir.file("failed.jsonl")), other + kDeadLetter);
}

TEST(ConfigRound, ReplayWithNothingOfTheStageInTheFileRunsNothingAndTouchesNoOutput) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    dir.write("out.csv", "id,amount\n2,500\n");
    dir.write("failed.jsonl", std::string(kDeadLetter) + kDeadLetter);
    auto r =
        test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "out"}, in(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("failed.jsonl holds no dead-lettered record of stage 'out'; it "
                                 "has entries of 'big' (2); nothing replayed, no output touched"));
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,amount\n2,500\n");
    EXPECT_THAT(r.err, Not(HasSubstr("completed")));
}

/// Writes `conveyor new starter` in `dir`, then validates it once with each commented line
/// matching `shown` (but those starting with `except`, when given) uncommented alone: each
/// must load. Returns the starter's text and how many lines were tried.
std::pair<std::string, int> validate_each_uncommented(const test::TempDir& dir,
                                                      const std::regex& shown,
                                                      std::string_view except = {}) {
    EXPECT_EQ(test::run_conveyor({"new", "starter"}, in(dir)).exit_code, 0);
    const std::string text = test::read_file(dir.file("starter.toml"));
    std::istringstream lines(text);
    std::string line;
    int checked = 0;
    for (std::size_t at = 0; std::getline(lines, line); at += line.size() + 1) {
        if (!std::regex_match(line, shown) || (!except.empty() && line.rfind(except, 0) == 0))
            continue;
        std::string uncommented = text;
        uncommented.erase(at, 2);
        dir.write("u.toml", uncommented);
        auto r = test::run_conveyor({"validate", "u.toml"}, in(dir));
        EXPECT_EQ(r.exit_code, 0) << "uncommented: " << line << "\n" << r.err;
        ++checked;
    }
    return {text, checked};
}

TEST(ConfigRound, EveryNumberTheStarterFileShowsIsOneConveyorAccepts) {
    test::TempDir dir;
    const auto [text, checked] =
        validate_each_uncommented(dir, std::regex(R"(# ([a-z_]+) = (-?[0-9][0-9.e+-]*))"));
    EXPECT_GT(checked, 10);
}

TEST(ConfigRound, EveryStringTheStarterFileShowsIsOneConveyorAccepts) {
    // `# delimiter = ""` was shown (the option has no default), and uncommented it was an
    // error: "delimiter must be a single byte". Every quoted value shown must load as it is,
    // but `expression`, which the starter's filter has instead of column/operator/value.
    test::TempDir dir;
    const auto [text, checked] =
        validate_each_uncommented(dir, std::regex(R"re(# ([a-z_]+) = ".*")re"), "# expression = ");
    EXPECT_GT(checked, 8);
    EXPECT_THAT(text, HasSubstr("\n# delimiter = \";\"\n"));
}

TEST(ConfigRound, NewSaysWhatTheStarterReadsAndQuotesItsPathForTheShell) {
    test::TempDir dir;
    auto r = test::run_conveyor({"new", "my orders"}, in(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("it reads input.csv"));
    EXPECT_THAT(r.out, HasSubstr("try: conveyor validate 'my orders.toml'"));
    EXPECT_THAT(test::read_file(dir.file("my orders.toml")),
                HasSubstr("#   conveyor run 'my orders.toml'"));
}

TEST(ConfigRound, ValidateOfStandardInputNamesItAsEveryOtherMessageDoes) {
    test::TempDir dir;
    dir.write("orders.csv", "id,amount\n1,5\n");
    test::ProcessOptions o = in(dir);
    o.stdin_data = kPipeline;
    auto r = test::run_conveyor({"validate", "-"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("<stdin>: OK (pipeline 'stdin', 3 stages"));
}

TEST(ConfigRound, NoCommandListsTheCommandsAndLogLevelsMatchTheFiles) {
    test::TempDir dir;
    auto r = test::run_conveyor({}, in(dir));
    EXPECT_EQ(r.exit_code, 64);
    EXPECT_THAT(r.err, HasSubstr("a command is needed: run, finalize, replay, validate"));
    EXPECT_THAT(r.err, Not(HasSubstr(", man")));
    r = test::run_conveyor({"--verison"}, in(dir));
    EXPECT_EQ(r.exit_code, 64);
    EXPECT_THAT(r.err, HasSubstr("unknown option '--verison' (did you mean '--version'?)"));
    // Two KEY=VALUE after one --set: the second is named, with what to write.
    dir.write("p.toml", kPipeline);
    r = test::run_conveyor(
        {"run", "--dry-run", "p.toml", "--set", "global.workers=2", "global.batch_size=5"},
        in(dir));
    EXPECT_EQ(r.exit_code, 64);
    EXPECT_THAT(r.err, HasSubstr("'global.batch_size=5' is not a --set of its own: write --set "
                                 "before each KEY=VALUE"));
    // [global] log_level takes "critical": so does --log-level.
    dir.write("p.toml", kPipeline);
    r = test::run_conveyor({"run", "--dry-run", "--log-level", "critical", "p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ConfigRound, DescribeOfAFamilyListsItsFunctions) {
    auto r = test::run_conveyor({"describe", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("csv.read  (source)"));
    EXPECT_THAT(r.out, HasSubstr("csv.write  (sink)"));
    EXPECT_THAT(r.out, Not(HasSubstr("json.read")));
    r = test::run_conveyor({"describe", "cs"});
    EXPECT_EQ(r.exit_code, 64);
}

TEST(ConfigRound, ALongCycleIsShownByItsEndsNotAsAThousandIds) {
    test::TempDir dir;
    std::string p;
    const int n = 1000;
    for (int i = 0; i < n; ++i)
        p += "[[stages]]\nid = \"s" + std::to_string(i) + "\"\nfunction = \"merge.apply\"\n" +
             "inputs = [\"s" + std::to_string((i + n - 1) % n) + "\"]\n";
    dir.write("p.toml", p);
    auto r = test::run_conveyor({"validate", "p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stages form a cycle: s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> "
                                 "s7 -> s8 -> s9 -> ... (980 more) -> s990 -> s991"));
    EXPECT_THAT(r.err, HasSubstr("-> s999 -> s0\n"));
    EXPECT_LT(r.err.size(), 1000u);
    // Nor does a --set naming no stage list the thousand it could have named.
    r = test::run_conveyor({"run", "p.toml", "--set", "stages.zzz.x=1"}, in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("--set: no stage has id 'zzz'"));
    EXPECT_LT(r.err.size(), 1000u);
}

TEST(ConfigRound, AVariableSetButEmptyIsWarnedAboutWithoutShowingOtherValues) {
    test::TempDir dir;
    std::string p = kPipeline;
    p.replace(p.find("path = \"out.csv\""), 16, "path = \"${OUTDIR}/out-${SECRET}.csv\"");
    dir.write("p.toml", p);
    test::ProcessOptions o = in(dir);
    o.env = {{"OUTDIR", ""}, {"SECRET", "s3cr3t"}};
    auto r = test::run_conveyor({"validate", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("p.toml:19:8: warning: stage 'out': variable 'OUTDIR' is set but "
                                 "empty (used in \"${OUTDIR}/out-${SECRET}.csv\"; write "
                                 "${OUTDIR:-} if empty is meant"));
    EXPECT_THAT(r.err, Not(HasSubstr("s3cr3t")));
    // Said to be empty on purpose: no warning.
    p = kPipeline;
    p.replace(p.find("path = \"out.csv\""), 16, "path = \"${OUTDIR:-}out.csv\"");
    dir.write("q.toml", p);
    r = test::run_conveyor({"validate", "q.toml"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("warning")));
}

TEST(ConfigRound, ValidateChecksThePipelineWithTheSetsARunWillGive) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    dir.write("orders.csv", "id,amount\n1,5\n");
    auto r = test::run_conveyor({"validate", "p.toml", "--set", "stages.big.expression=amout > 1",
                                 "--set", "global.workerz=2"},
                                in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("--set global.workerz=2: error: unknown key 'workerz' in "
                                 "[global] (did you mean 'workers'?)"));
    r = test::run_conveyor({"validate", "p.toml", "--set", "stages.big.expression=amout > 1"},
                           in(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("unknown field 'amout' (did you mean 'amount'?)"));
    r = test::run_conveyor({"validate", "p.toml", "--set", "global.workers=2"}, in(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ConfigRound, ValidateFromAnotherDirectorySaysWhereRelativeInputsAreLookedFor) {
    test::TempDir dir;
    dir.write("cfg/p.toml", kPipeline);
    dir.write("cfg/orders.csv", "id,amount\n1,5\n");
    auto r = test::run_conveyor({"validate", "cfg/p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cfg/p.toml:5:8: warning: stage 'load': orders.csv is not in the "
                                 "current directory"));
    EXPECT_THAT(r.err, HasSubstr("but cfg/orders.csv is: relative paths are relative to the "
                                 "current directory, not to the pipeline file's (run from cfg"));
    // A directory given as the file to read.
    r = test::run_conveyor({"validate", "cfg/p.toml", "--set", "stages.load.path=cfg"}, in(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("warning: stage 'load': cfg is a directory, not a file: the run "
                                 "will stop there (exit 66)"));
    // From the pipeline's directory, nothing to say.
    test::ProcessOptions o;
    o.cwd = dir.file("cfg");
    r = test::run_conveyor({"validate", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("warning")));
}

TEST(ConfigRound, ARunFromAnotherDirectoryThatMissesItsInputSaysWhereItIs) {
    // `conveyor run cfg/p.toml` ended with "orders.csv: cannot open input file" (66) and no
    // word of the cfg/orders.csv beside the pipeline, which validate points out.
    test::TempDir dir;
    dir.write("cfg/p.toml", kPipeline);
    dir.write("cfg/orders.csv", "id,amount\n1,5\n");
    auto r = test::run_conveyor({"run", "-q", "cfg/p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 66) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cannot open input file"));
    EXPECT_THAT(r.err, HasSubstr("cfg/p.toml:5:8: hint: stage 'load': orders.csv is not in the "
                                 "current directory"));
    EXPECT_THAT(r.err, HasSubstr("but cfg/orders.csv is: relative paths are relative to the "
                                 "current directory, not to the pipeline file's (run from cfg"));
    // Run from there, it reads it; a run that fails for another reason gives no such hint.
    test::ProcessOptions o;
    o.cwd = dir.file("cfg");
    r = test::run_conveyor({"run", "-q", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    dir.write("orders.csv", "id,amount\n1,x\n2\n");
    r = test::run_conveyor({"run", "-q", "cfg/p.toml"}, in(dir));
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("hint:")));
}

} // namespace
} // namespace conveyor
