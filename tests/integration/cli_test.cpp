// The command line as a user meets it: subcommands, exit codes, and error messages that
// name the file, the line and the stage.

#include "support/paths.hpp"
#include "support/process.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::TempDir;
using ::testing::HasSubstr;

test::ProcessOptions in_dir(const TempDir& dir) {
    test::ProcessOptions o;
    o.cwd = dir.path();
    o.unset_env = {"CONVEYOR_LOG"};
    return o;
}

const char* kCsv = "id,name,amount\n1,Ann,10\n2,\"Bo, B\",2000\n3,Cy,\n";

std::string linear(const std::string& input, const std::string& output,
                   const std::string& extra = "") {
    return extra + R"(
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = ")" +
           input + R"("

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
path = ")" +
           output + R"("
)";
}

TEST(Cli, VersionAndHelp) {
    auto v = run_conveyor({"--version"});
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_THAT(v.out, HasSubstr("conveyor "));
    auto h = run_conveyor({"--help"});
    EXPECT_EQ(h.exit_code, 0);
    EXPECT_THAT(h.out, HasSubstr("run"));
    EXPECT_THAT(h.out, HasSubstr("Exit codes"));
    auto rh = run_conveyor({"run", "--help"});
    EXPECT_EQ(rh.exit_code, 0);
    EXPECT_THAT(rh.out, HasSubstr("--dry-run"));
}

TEST(Cli, BadCommandLinesExit64) {
    EXPECT_EQ(run_conveyor({}).exit_code, 64);
    EXPECT_EQ(run_conveyor({"frobnicate"}).exit_code, 64);
    EXPECT_EQ(run_conveyor({"run"}).exit_code, 64);
    auto r = run_conveyor({"run", "x.toml", "--executor", "fast"});
    EXPECT_EQ(r.exit_code, 64);
    EXPECT_THAT(r.err, HasSubstr("executor"));
}

// A misspelled command said only "A subcommand is required", and a misspelled option
// "The following argument was not expected": both now name the word and suggest the right one.
TEST(Cli, AMisspelledCommandOrOptionIsNamedWithTheRightSpelling) {
    auto cmd = run_conveyor({"runn", "p.toml"});
    EXPECT_EQ(cmd.exit_code, 64);
    EXPECT_THAT(cmd.err, HasSubstr("unknown command 'runn' (did you mean 'run'?)"));
    auto other = run_conveyor({"frobnicate"});
    EXPECT_EQ(other.exit_code, 64);
    EXPECT_THAT(other.err, HasSubstr("unknown command 'frobnicate'"));
    auto inner = run_conveyor({"queue", "psh", "p.toml"});
    EXPECT_EQ(inner.exit_code, 64);
    EXPECT_THAT(inner.err, HasSubstr("unknown command 'queue psh' (did you mean 'push'?)"));
    auto bare = run_conveyor({"queue"});
    EXPECT_EQ(bare.exit_code, 64);
    EXPECT_THAT(bare.err, HasSubstr("'conveyor queue' needs a command: push, status"));
    auto opt = run_conveyor({"run", "p.toml", "--resme"});
    EXPECT_EQ(opt.exit_code, 64);
    EXPECT_THAT(
        opt.err,
        HasSubstr("unknown option '--resme' for 'conveyor run' (did you mean '--resume'?)"));
    auto valued = run_conveyor({"run", "p.toml", "--executr=dag"});
    EXPECT_EQ(valued.exit_code, 64);
    EXPECT_THAT(valued.err, HasSubstr("unknown option '--executr' for 'conveyor run' (did you "
                                      "mean '--executor'?)"));
    auto validate = run_conveyor({"validate", "--conect", "p.toml"});
    EXPECT_EQ(validate.exit_code, 64);
    EXPECT_THAT(validate.err, HasSubstr("unknown option '--conect' for 'conveyor validate' (did "
                                        "you mean '--connect'?)"));
}

TEST(Cli, ListAndDescribe) {
    auto l = run_conveyor({"list"});
    EXPECT_EQ(l.exit_code, 0);
    for (const char* f : {"csv.read", "csv.write", "json.read", "json.write", "filter.apply",
                          "select.apply", "merge.apply", "stdout.write"})
        EXPECT_THAT(l.out, HasSubstr(f));
    auto d = run_conveyor({"describe", "filter.apply"});
    EXPECT_EQ(d.exit_code, 0);
    EXPECT_THAT(d.out, HasSubstr("operator"));
    EXPECT_THAT(d.out, HasSubstr("expression"));
    auto r = run_conveyor({"describe", "csv.read"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(r.out, HasSubstr("required"));
    auto u = run_conveyor({"describe", "csv.reed"});
    EXPECT_EQ(u.exit_code, 64);
    EXPECT_THAT(u.err, HasSubstr("did you mean 'csv.read'"));
}

TEST(Cli, DescribeShowsTheFunctionsOfExpressions) {
    // Before, `describe regex_extract` said "unknown function": the signatures were only in
    // the source.
    auto one = run_conveyor({"describe", "regex_extract"});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_THAT(one.out, HasSubstr("regex_extract (expression function"));
    EXPECT_THAT(one.out,
                HasSubstr("  regex_extract(s, pattern, group = 0)\n      the first match"));
    auto all = run_conveyor({"describe", "expressions"});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    for (const char* sig : {"  lower(s)\n", "  if(condition, then, else)\n",
                            "  format_time(t, format = ISO 8601, zone = 'UTC')\n"})
        EXPECT_THAT(all.out, HasSubstr(sig));
    EXPECT_THAT(all.out, HasSubstr("Miller's names are accepted too: toupper (upper),"));
    // A Miller name shows the function it calls.
    auto miller = run_conveyor({"describe", "gsub"});
    ASSERT_EQ(miller.exit_code, 0) << miller.err;
    EXPECT_THAT(miller.out, HasSubstr("regex_replace (expression function; Miller's gsub is"));
    auto typo = run_conveyor({"describe", "regex_extrct"});
    EXPECT_EQ(typo.exit_code, 64);
    EXPECT_THAT(typo.err, HasSubstr("did you mean 'regex_extract'"));
    EXPECT_THAT(typo.err, HasSubstr("'conveyor describe expressions'"));
}

TEST(Cli, DescribeShowsTheFixedSectionsKeys) {
    auto g = run_conveyor({"describe", "global"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
    for (const char* key : {"executor (string) = \"dag\"", "channel_buffer_size (integer) = 100",
                            "memory_limit (integer) (default: a quarter of RAM)",
                            "one of: dag channel async", "checkpoint_interval"})
        EXPECT_THAT(g.out, HasSubstr(key));
    auto e = run_conveyor({"describe", "error_handling"});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_THAT(e.out, HasSubstr("max_retries (integer) = 3"));
    EXPECT_THAT(e.out, HasSubstr("[error_handling.dead_letter_queue] keys:"));
    auto p = run_conveyor({"describe", "pipeline"});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_THAT(p.out, HasSubstr("name (string) (default: the pipeline file's name"));
    auto typo = run_conveyor({"describe", "globl"});
    EXPECT_EQ(typo.exit_code, 64);
    EXPECT_THAT(typo.err, HasSubstr("did you mean 'global'"));
}

TEST(Cli, RunWritesTheOutputAndExitsZero) {
    TempDir dir;
    dir.write("in.csv", kCsv);
    dir.write("p.toml", linear("in.csv", "out/big.json"));
    auto r = run_conveyor({"run", "p.toml"}, in_dir(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out/big.json")),
              "[\n{\"id\":2,\"name\":\"Bo, B\",\"amount\":2000}\n]\n");
    EXPECT_EQ(r.out, "") << "stdout carries data only";
}

TEST(Cli, DryRunPrintsThePlanAndTouchesNothing) {
    TempDir dir;
    dir.write("p.toml", linear("does-not-exist.csv", "out/big.json"));
    auto r = run_conveyor({"run", "p.toml", "--dry-run"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("level 0"));
    EXPECT_THAT(r.out, HasSubstr("save (json.write) <- big"));
    EXPECT_FALSE(test::file_exists(dir.file("out")));
}

TEST(Cli, ValidateReportsOkOrEveryProblem) {
    TempDir dir;
    dir.write("good.toml", linear("in.csv", "out.json"));
    auto ok = run_conveyor({"validate", "good.toml"}, in_dir(dir));
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_THAT(ok.out, HasSubstr("OK"));

    dir.write("bad.toml", R"([global]
executor = "chanel"

[[stages]]
id = "load"
function = "csv.raed"
inputs = []
[stages.config]
pth = "in.csv"

[[stages]]
id = "save"
function = "json.write"
inputs = ["lod"]
[stages.config]
path = "out.json"
)");
    auto bad = run_conveyor({"validate", "bad.toml"}, in_dir(dir));
    EXPECT_EQ(bad.exit_code, 78);
    EXPECT_THAT(bad.err, HasSubstr("bad.toml:2:"));
    EXPECT_THAT(bad.err, HasSubstr("'channel'"));
    EXPECT_THAT(bad.err, HasSubstr("bad.toml:6:"));
    EXPECT_THAT(bad.err, HasSubstr("did you mean 'csv.read'"));
    EXPECT_THAT(bad.err, HasSubstr("stage 'save'"));
    EXPECT_THAT(bad.err, HasSubstr("did you mean 'load'"));
}

TEST(Cli, BrokenTomlNamesLineAndColumn) {
    TempDir dir;
    dir.write("p.toml", "[[stages]]\nid = \"a\nfunction = \"csv.read\"\n");
    auto r = run_conveyor({"run", "p.toml"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("p.toml:2:"));
}

TEST(Cli, MissingPipelineFileExits66) {
    TempDir dir;
    auto r = run_conveyor({"run", "nope.toml"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 66);
    EXPECT_THAT(r.err, HasSubstr("nope.toml"));
}

TEST(Cli, MissingInputFileExits66NamingStageAndPath) {
    TempDir dir;
    dir.write("p.toml", linear("missing.csv", "out.json"));
    auto r = run_conveyor({"run", "p.toml"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 66);
    EXPECT_THAT(r.err, HasSubstr("stage 'load'"));
    EXPECT_THAT(r.err, HasSubstr("missing.csv"));
    EXPECT_FALSE(test::file_exists(dir.file("out.json")));
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"p.toml"}))
        << "no temporary file left";
}

TEST(Cli, AnEmptyInputFileGivesAnEmptyOutputNotAnError) {
    // A cron job's input is sometimes empty: no header, no records. The filter's column cannot
    // be checked against a header that is not there, and nothing is wrong with the pipeline.
    TempDir dir;
    dir.write("in.csv", "");
    dir.write("p.toml", linear("in.csv", "out.json"));
    for (const char* executor : {"dag", "channel", "async"}) {
        auto r = run_conveyor({"run", "p.toml", "--executor", executor}, in_dir(dir));
        EXPECT_EQ(r.exit_code, 0) << executor << r.err;
        EXPECT_THAT(r.err, HasSubstr("in.csv is empty")) << executor;
        EXPECT_EQ(test::read_file(dir.file("out.json")), "[]\n") << executor;
    }
}

TEST(Cli, MalformedCsvExits65NamingFileAndLine) {
    TempDir dir;
    dir.write("in.csv", "id,name,amount\n1,Ann,10\n2,Bo\n");
    dir.write("p.toml", linear("in.csv", "out.json"));
    for (const char* executor : {"dag", "channel", "async"}) {
        auto r = run_conveyor({"run", "p.toml", "--executor", executor}, in_dir(dir));
        EXPECT_EQ(r.exit_code, 65) << executor;
        EXPECT_THAT(r.err, HasSubstr("in.csv:3")) << executor;
        EXPECT_THAT(r.err, HasSubstr("stage 'load'")) << executor;
        EXPECT_FALSE(test::file_exists(dir.file("out.json"))) << "no half-written output";
    }
}

TEST(Cli, MalformedJsonExits65NamingFileAndLine) {
    TempDir dir;
    dir.write("in.jsonl", "{\"a\":1}\n{\"a\":2,}\n");
    dir.write("p.toml", R"(
[[stages]]
id = "load"
function = "json.read"
inputs = []
[stages.config]
path = "in.jsonl"

[[stages]]
id = "out"
function = "stdout.write"
inputs = ["load"]
)");
    auto r = run_conveyor({"run", "p.toml"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 65);
    EXPECT_THAT(r.err, HasSubstr("in.jsonl:2"));
}

TEST(Cli, StdoutJsonLinesFollowEachInputsFieldsAndEscapes) {
    // Two inputs of different fields into one stdout sink (which concatenates them, batch by
    // batch): each line has its own record's names, escaped, and values keep their escapes.
    TempDir dir;
    std::string a = "id,\"na\"\"me\"\n";
    std::string b;
    for (int i = 0; i < 3000; ++i) {
        a += std::to_string(i) + (i % 500 == 1 ? ",\"say \"\"hi\"\"\"\n" : ",plain\n");
        b += "{\"k\":" + std::to_string(i) + ",\"t\":\"tab\\there\"}\n";
    }
    dir.write("a.csv", a);
    dir.write("b.jsonl", b);
    dir.write("p.toml", R"([global]
executor = "channel"
batch_size = 7
[[stages]]
id = "a"
function = "csv.read"
[stages.config]
path = "a.csv"
[[stages]]
id = "b"
function = "json.read"
[stages.config]
path = "b.jsonl"
format = "jsonl"
[[stages]]
id = "out"
function = "stdout.write"
inputs = ["a", "b"]
[stages.config]
format = "jsonl"
)");
    auto r = run_conveyor({"run", "p.toml", "-q"}, in_dir(dir));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::multiset<std::string> got;
    std::size_t start = 0;
    for (std::size_t nl; (nl = r.out.find('\n', start)) != std::string::npos; start = nl + 1)
        got.insert(r.out.substr(start, nl - start));
    std::multiset<std::string> want;
    for (int i = 0; i < 3000; ++i) {
        want.insert("{\"id\":" + std::to_string(i) +
                    ",\"na\\\"me\":" + (i % 500 == 1 ? "\"say \\\"hi\\\"\"" : "\"plain\"") + "}");
        want.insert("{\"k\":" + std::to_string(i) + ",\"t\":\"tab\\there\"}");
    }
    EXPECT_EQ(got, want);
}

TEST(Cli, UnwritableOutputExits73) {
    TempDir dir;
    dir.write("in.csv", kCsv);
    dir.write("blocker", "a file where a directory is needed");
    dir.write("p.toml", linear("in.csv", "blocker/out.json"));
    auto r = run_conveyor({"run", "p.toml"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 73);
    EXPECT_THAT(r.err, HasSubstr("blocker/out.json"));
}

TEST(Cli, UnknownColumnIsReportedBeforeReading) {
    TempDir dir;
    dir.write("in.csv", kCsv);
    std::string p = linear("in.csv", "out.json");
    p.replace(p.find("column = \"amount\""), 17, "column = \"amout\"");
    dir.write("p.toml", p);
    auto r = run_conveyor({"run", "p.toml"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'big'"));
    EXPECT_THAT(r.err, HasSubstr("did you mean 'amount'"));
}

TEST(Cli, RecordsSkippedWithoutDeadLettersAreWarnedForTheFirstTenThenAtDebugLevel) {
    // 30 bad rows under `continue` without a dead-letter queue: ten warnings, one line saying
    // more follow at debug level, and the summary's count; with --log-level debug, all 30.
    TempDir dir;
    std::string csv = "id,a,b\n";
    for (int i = 0; i < 60; ++i)
        csv += i % 2 ? std::to_string(i) + ",short\n" : std::to_string(i) + ",x,y\n";
    dir.write("in.csv", csv);
    dir.write("p.toml", R"(
[error_handling]
strategy = "continue"
[[stages]]
id = "load"
function = "csv.read"
[stages.config]
path = "in.csv"
[[stages]]
id = "out"
function = "json.write"
inputs = ["load"]
[stages.config]
path = "out.jsonl"
)");
    const auto count = [](const std::string& text, const std::string& what) {
        std::size_t n = 0;
        for (std::size_t at = text.find(what); at != std::string::npos;
             at = text.find(what, at + 1))
            ++n;
        return n;
    };
    auto r = run_conveyor({"run", "p.toml"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(count(r.err, "skipped a record"), 10u) << r.err;
    EXPECT_EQ(count(r.err, "more records skipped"), 1u) << r.err;
    EXPECT_THAT(r.err, HasSubstr("with 30 failed records"));
    EXPECT_THAT(r.err, HasSubstr("in.csv:3"));
    r = run_conveyor({"run", "p.toml", "--log-level", "debug"}, in_dir(dir));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(count(r.err, "skipped a record"), 30u);
}

TEST(Cli, ContinueStrategyCompletesWithExitCode3) {
    TempDir dir;
    dir.write("good.csv", kCsv);
    dir.write("bad.csv", "id,name,amount\n1,Ann\n");
    dir.write("p.toml", R"(
[error_handling]
strategy = "continue"

[[stages]]
id = "good"
function = "csv.read"
inputs = []
[stages.config]
path = "good.csv"

[[stages]]
id = "bad"
function = "csv.read"
inputs = []
[stages.config]
path = "bad.csv"

[[stages]]
id = "good_out"
function = "json.write"
inputs = ["good"]
[stages.config]
path = "good.jsonl"

[[stages]]
id = "bad_out"
function = "json.write"
inputs = ["bad"]
[stages.config]
path = "bad.jsonl"
)");
    for (const char* executor : {"dag", "channel", "async"}) {
        auto r = run_conveyor({"run", "p.toml", "--executor", executor}, in_dir(dir));
        EXPECT_EQ(r.exit_code, 3) << executor << r.err;
        EXPECT_THAT(r.err, HasSubstr("bad.csv:2"));
        EXPECT_EQ(test::read_file(dir.file("good.jsonl")),
                  "{\"id\":1,\"name\":\"Ann\",\"amount\":10}\n{\"id\":2,\"name\":\"Bo, "
                  "B\",\"amount\":2000}\n"
                  "{\"id\":3,\"name\":\"Cy\",\"amount\":null}\n")
            << executor;
        EXPECT_EQ(test::read_file(dir.file("bad.jsonl")), "")
            << "dependants of a failed source see an empty input";
    }
}

TEST(Cli, EnvironmentVariablesAndLogLevel) {
    TempDir dir;
    dir.write("in.csv", kCsv);
    dir.write("p.toml",
              linear("${IN}", "${OUT:-default.json}", "[global]\nlog_level = \"debug\"\n"));
    auto o = in_dir(dir);
    o.env["IN"] = "in.csv";
    auto r = run_conveyor({"run", "p.toml", "--log-level", "warn"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::file_exists(dir.file("default.json")));
    EXPECT_EQ(r.err, "") << "--log-level overrides [global] log_level";
    auto o2 = in_dir(dir);
    auto missing = run_conveyor({"run", "p.toml"}, o2);
    EXPECT_EQ(missing.exit_code, 78);
    EXPECT_THAT(missing.err, HasSubstr("IN"));
}

TEST(Cli, AReaderClosingStdoutEndsTheRunEarlyAndCleanly) {
    // `conveyor run p.toml | head -1`: once the reader is gone the sink takes no more input
    // and the source stops reading, instead of reading everything to discard it.
    test::TempDir dir;
    std::string csv = "id,name\n";
    for (int i = 0; i < 200000; ++i)
        csv += std::to_string(i) + ",name" + std::to_string(i) + "\n";
    dir.write("big.csv", csv);
    dir.write("p.toml", R"([[stages]]
id = "read"
function = "csv.read"
inputs = []
[stages.config]
path = "big.csv"

[[stages]]
id = "show"
function = "stdout.write"
inputs = ["read"]
[stages.config]
format = "jsonl"
)");
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml", "--stats-json", "stats.json"}, o);
    EXPECT_EQ(child->read_line(std::chrono::seconds(30)), R"({"id":0,"name":"name0"})");
    child->close_stdout();
    auto r = child->wait(std::chrono::seconds(60), false);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("error")));
    // The stdout pipe holds about 64 KiB: the source cannot have been far ahead of the reader.
    const std::string stats = test::read_file(dir.file("stats.json"));
    const auto at = stats.find(R"("id":"read")");
    ASSERT_NE(at, std::string::npos) << stats;
    const auto out = stats.find(R"("out":)", at);
    ASSERT_NE(out, std::string::npos);
    EXPECT_LT(std::stoull(stats.substr(out + 6)), 200000u) << "the source stopped early";

    // An explicit limit is a head of its own.
    std::string p = test::read_file(dir.file("p.toml"));
    dir.write("p.toml", p + "limit = 2\n");
    auto limited = test::run_conveyor({"run", "p.toml", "--stats-json", "stats.json"}, o);
    EXPECT_EQ(limited.exit_code, 0) << limited.err;
    EXPECT_EQ(limited.out, "{\"id\":0,\"name\":\"name0\"}\n{\"id\":1,\"name\":\"name1\"}\n");
    EXPECT_THAT(limited.err, HasSubstr("showed the first 2 records (limit = 2)"));
    const std::string s2 = test::read_file(dir.file("stats.json"));
    const auto out2 = s2.find(R"("out":)", s2.find(R"("id":"read")"));
    EXPECT_LT(std::stoull(s2.substr(out2 + 6)), 200000u);
}

TEST(Cli, TimeoutExits75) {
    TempDir dir;
    // A FIFO nobody writes to: the source waits forever, the run timeout ends it.
    ASSERT_EQ(::mkfifo(dir.file("never.csv").c_str(), 0600), 0);
    dir.write("p.toml", linear("never.csv", "out.json", "[global]\ntimeout_seconds = 0.3\n"));
    // Keep a writer open so the reader's open() returns and then blocks on read.
    auto o = in_dir(dir);
    auto child = test::spawn_conveyor({"run", "p.toml", "--executor", "channel"}, o);
    const int fd = ::open(dir.file("never.csv").c_str(), O_WRONLY);
    auto r = child->wait();
    ::close(fd);
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_THAT(r.err, HasSubstr("timeout_seconds"));
    EXPECT_FALSE(test::file_exists(dir.file("out.json")));
}

// A CONVEYOR_LOG that is not a level was reported twice by run (once before the pipeline's
// log_level was known, once after), the first time on stdout.
TEST(Cli, AnUnknownConveyorLogIsReportedOnceAndTheRunGoesOn) {
    TempDir dir;
    dir.write("in.csv", kCsv);
    dir.write("p.toml", linear("in.csv", "out.json"));
    test::ProcessOptions o = in_dir(dir);
    o.unset_env.clear();
    o.env["CONVEYOR_LOG"] = "bogus";
    const auto r = run_conveyor({"run", "-q", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string warning = "conveyor: warning: CONVEYOR_LOG='bogus' is not a log level";
    const std::size_t first = r.err.find(warning);
    ASSERT_NE(first, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(warning, first + 1), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(test::file_exists(dir.file("out.json")));
}

} // namespace
} // namespace conveyor
