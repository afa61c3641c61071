// The runtime around the data, as a user running from shells, cron and batch schedulers meets
// it: outputs that are also inputs, outputs named by a descriptor (`/dev/stdout` under `>>`),
// signals while an output waits, resource limits. Each test runs the binary.

#include "support/paths.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <vector>

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

/// `script` run by sh in `dir`, with $0 the conveyor binary.
test::ProcessResult shell_in(const test::TempDir& dir, const std::string& script) {
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    opts.timeout = std::chrono::seconds(60);
    return test::run_process({"/bin/sh", "-c", script, test::conveyor_binary()}, opts);
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

// validate said OK to the pipelines above, which run then refused (78) before opening anything.
TEST(OwnOutputValidate, ValidateRefusesWhatRunRefusesAndPassesTheRewriteInPlace) {
    test::TempDir dir;
    dir.write("self.csv", rows_csv(3));
    dir.write("data/a.csv", rows_csv(3));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    dir.write("p.toml", pipeline("self.csv", "csv.write", "self.csv", "append = true\n"));
    test::ProcessResult r = test::run_conveyor({"validate", "p.toml"}, opts);
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("p.toml:15:8: error: stage 'out': path: 'self.csv' is also "
                                 "read by stage 'in': with append = true the records written "
                                 "would be read back"));
    EXPECT_THAT(r.out, Not(HasSubstr("OK")));

    dir.write("p.toml", pipeline("data/*.csv", "csv.write", "data/all.csv"));
    r = test::run_conveyor({"validate", "p.toml"}, opts);
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("'data/all.csv' is matched by the pattern 'data/*.csv' that "
                                 "stage 'in' reads"));

    dir.write("p.toml", pipeline("self.csv", "csv.write", "self.csv"));
    r = test::run_conveyor({"validate", "p.toml"}, opts);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("p.toml: OK"));
    EXPECT_EQ(test::read_file(dir.file("self.csv")), rows_csv(3)); // validate wrote nothing
}

// `path = "/dev/stdout"` with standard output redirected to a file replaced that file through a
// temporary file: under `>> log` what the log held was lost, and what the script wrote after
// the run went to the replaced (deleted) file.
TEST(DescriptorOutputs, DevStdoutUnderARedirectionWritesToTheDescriptorNotOverTheFile) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    dir.write("log.txt", "earlier\n");
    dir.write("p.toml", pipeline("in.csv", "csv.write", "/dev/stdout"));
    const test::ProcessResult r =
        shell_in(dir, "{ echo before; \"$0\" run -q p.toml; echo rc=$?; echo after; } >> log.txt");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("log.txt")),
              "earlier\nbefore\n" + rows_csv(3) + "rc=0\nafter\n");

    // The same for a json.write with append, /dev/fd/1, and the dead-letter queue on stderr.
    dir.write("in.csv", "id,name\n1,a\n2\n3,c\n");
    dir.write("p.toml", "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = "
                        "{ enabled = true, path = \"/dev/stderr\" }\n" +
                            pipeline("in.csv", "json.write", "/dev/fd/1",
                                     "append = true\nformat = \"jsonl\"\n"));
    dir.write("out.txt", "old\n");
    dir.write("err.txt", "old\n");
    const test::ProcessResult dlq = shell_in(dir, "exec \"$0\" run -q p.toml >>out.txt 2>>err.txt");
    EXPECT_EQ(dlq.exit_code, 3);
    EXPECT_EQ(test::read_file(dir.file("out.txt")),
              "old\n{\"id\":1,\"name\":\"a\"}\n{\"id\":3,\"name\":\"c\"}\n");
    const std::string err = test::read_file(dir.file("err.txt"));
    EXPECT_EQ(err.substr(0, 4), "old\n") << err;
    EXPECT_THAT(err, HasSubstr("\"raw\":\"2\""));
}

// With standard output closed (`>&-`), `/dev/stdout` led to the /dev/null conveyor opens in its
// place: exit 0 and the records gone.
TEST(DescriptorOutputs, DevStdoutClosedIsAnOutputErrorNotALoss) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    dir.write("p.toml", pipeline("in.csv", "csv.write", "/dev/stdout"));
    const test::ProcessResult r = shell_in(dir, "exec \"$0\" run -q p.toml >&-");
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'out': /dev/stdout: descriptor 1 is not open for "
                                 "writing (closed, as `>&-` does?)"));
}

// A reader that has what it wanted (`| head -1`) ends a `/dev/stdout` sink as it ends a
// `path = "-"` one: quietly, exit 0, instead of exit 73 "Broken pipe".
TEST(DescriptorOutputs, DevStdoutClosedByItsReaderEndsQuietlyAsStandardOutputDoes) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(200000));
    dir.write("p.toml", pipeline("in.csv", "csv.write", "/dev/stdout"));
    const test::ProcessResult r =
        shell_in(dir, "{ \"$0\" run -q p.toml; echo \"rc=$?\" >&2; } | head -1");
    EXPECT_EQ(r.out, "id,name\n");
    EXPECT_THAT(r.err, HasSubstr("rc=0")) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("Broken pipe")));
}

// `conveyor run p.toml | head -1` with a file output as well: the reader leaving is not a
// failure (README "Signals and outputs"): exit 0 and the file committed whole, under every
// executor.
TEST(DescriptorOutputs, AReaderLeavingStandardOutputEarlyCommitsTheRunsFileOutputs) {
    test::TempDir dir;
    const std::string data = rows_csv(100000);
    dir.write("in.csv", data);
    const std::string toml = pipeline("in.csv", "csv.write", "copy.csv") +
                             "\n[[stages]]\nid = \"show\"\nfunction = \"stdout.write\"\n"
                             "inputs = [\"in\"]\n[stages.config]\nformat = \"csv\"\n";
    dir.write("p.toml", toml);
    for (const std::string executor : {"dag", "channel", "async"}) {
        std::filesystem::remove(dir.file("copy.csv"));
        const test::ProcessResult r =
            shell_in(dir, "{ \"$0\" run -q p.toml --executor " + executor +
                              "; echo \"rc=$?\" >&2; } | head -1");
        EXPECT_EQ(r.out, "id,name\n") << executor;
        EXPECT_THAT(r.err, HasSubstr("rc=0")) << executor << ": " << r.err;
        EXPECT_TRUE(test::read_file(dir.file("copy.csv")) == data) << executor;
    }
}

// SIGTERM while an output FIFO waited for its reader failed the open with EINTR: exit 73,
// "cannot open output: Interrupted system call". Now the run stops as on any signal.
TEST(FifoOutput, SigtermWhileTheOutputFifoWaitsForAReaderStopsTheRunWith143) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    ASSERT_EQ(::mkfifo(dir.file("out.fifo").c_str(), 0600), 0);
    dir.write("p.toml", pipeline("in.csv", "csv.write", "out.fifo"));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, opts);
    ASSERT_TRUE(child->wait_for_stderr("out.fifo: waiting for a reader to open the FIFO",
                                       std::chrono::seconds(30)));
    child->signal(SIGTERM);
    const test::ProcessResult r = child->wait(std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, HasSubstr("conveyor: interrupted by SIGTERM"));
    EXPECT_THAT(r.err, Not(HasSubstr("Interrupted system call")));
    EXPECT_THAT(r.err, Not(HasSubstr("aborted")));
}

// Under an address-space limit (ulimit -v, a batch scheduler's memory request) a run that could
// not start its threads ended in std::terminate (exit 134, "terminate called after throwing
// ... thread: Resource temporarily unavailable"), and one whose stage ran out of memory exited
// 70, an exit code the manual does not list, saying only "std::bad_alloc". Now each is a
// temporary failure (75) saying what ran out and what to change; the previous output stays.
TEST(ResourceLimits, TooLittleMemoryIsATemporaryFailureSayingSoNeverACrash) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(20000));
    dir.write("out.csv", "previous\n");
    dir.write("p.toml", pipeline("in.csv", "csv.write", "out.csv"));
    int failed = 0;
    // The limits at which the threads, then the stages, run short depend on the machine: each
    // run either succeeds or fails cleanly.
    for (int kib = 30000; kib <= 150000; kib += 10000) {
        const test::ProcessResult r =
            shell_in(dir, "ulimit -v " + std::to_string(kib) + " && exec \"$0\" run -q p.toml");
        if (r.exit_code == 0) continue;
        if (r.exit_code == 127) continue; // the limit is below what loading the binary needs
        ++failed;
        EXPECT_EQ(r.exit_code, 75) << "ulimit -v " << kib << ": " << r.err;
        EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("cannot start the run's threads"),
                                            HasSubstr("out of memory: an allocation failed")))
            << r.err;
        EXPECT_THAT(r.err, Not(HasSubstr("terminate called"))) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.csv")), "previous\n") << "ulimit -v " << kib;
        for (const std::string& name : test::list_dir(dir.path()))
            EXPECT_EQ(name.find(".conveyor-"), std::string::npos) << name << " left behind";
    }
    EXPECT_GT(failed, 0) << "no limit was low enough to fail a run";
}

// A split by value under a small descriptor limit with max_open_files at its default (128):
// `ulimit -n 32` failed the run with 73, "Too many open files", after a few dozen values. The
// sink now keeps open only what the limit leaves.
TEST(ResourceLimits, ASplitByValueKeepsWithinTheDescriptorLimitWithTheDefaultMaxOpenFiles) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(300));
    dir.write("p.toml", pipeline("in.csv", "csv.write", "out/{{ name }}.csv"));
    const test::ProcessResult r = shell_in(dir, "ulimit -n 32 && exec \"$0\" run -q p.toml");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> files = test::list_dir(dir.file("out"));
    EXPECT_EQ(files.size(), 300u);
    EXPECT_EQ(test::read_file(dir.file("out/name123.csv")), "id,name\n123,name123\n");
}

// backend = "local" on a terminal or over ssh that goes away (SIGHUP): the parent died at once
// without a word, its shards left to stop on their own, unwaited for. Now the hangup reaches
// the shards as SIGINT and SIGTERM do, the parent waits for them and says what became of the
// run. The shards read a FIFO nobody writes, so they are still running when it comes.
TEST(LocalBackend, SighupReachesTheShardsAndTheParentWaitsForThem) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("in.fifo").c_str(), 0600), 0);
    dir.write("p.toml", pipeline("in.fifo", "json.write", "out.jsonl", "",
                                 "backend = \"local\"\nprocesses = 2") +
                            "");
    std::string toml = test::read_file(dir.file("p.toml"));
    const std::string at = "path = \"in.fifo\"\n";
    toml.insert(toml.find(at) + at.size(), "partition = \"hash\"\nkey = \"id\"\n");
    dir.write("p.toml", toml);
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, opts);
    ASSERT_TRUE(child->wait_for_stderr("running 2 shards as processes", std::chrono::seconds(30)));
    child->signal(SIGHUP);
    const test::ProcessResult r = child->wait(std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 129) << r.err;
    EXPECT_THAT(r.err, HasSubstr("conveyor: not finalized: a shard failed (exit 129)"));
    EXPECT_FALSE(test::file_exists(dir.file("out.jsonl")));
    for (const std::string& name : test::list_dir(dir.path()))
        EXPECT_EQ(name.find(".conveyor-"), std::string::npos) << name << " left behind";
}

// A rerun replaced a `chmod 600` output with a file of the umask's mode (0644 here): readable by
// everyone, without a word. The new file now keeps the old one's permissions, split files too.
TEST(OutputPermissions, ARerunKeepsTheModeTheOutputHad) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    dir.write("out.csv", "old\n");
    dir.write("split/name1.csv", "old\n");
    ASSERT_EQ(::chmod(dir.file("out.csv").c_str(), 0600), 0);
    ASSERT_EQ(::chmod(dir.file("split/name1.csv").c_str(), 0640), 0);
    dir.write("p.toml",
              pipeline("in.csv", "csv.write", "out.csv") +
                  "\n[[stages]]\nid = \"split\"\nfunction = \"csv.write\"\n"
                  "inputs = [\"in\"]\n[stages.config]\npath = \"split/{{ name }}.csv\"\n");
    const test::ProcessResult r = run_in(dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), rows_csv(3));
    const auto mode = [&dir](const std::string& rel) {
        return std::filesystem::status(dir.file(rel)).permissions() & std::filesystem::perms::all;
    };
    using std::filesystem::perms;
    EXPECT_EQ(mode("out.csv"), perms::owner_read | perms::owner_write);
    EXPECT_EQ(mode("split/name1.csv"), perms::owner_read | perms::owner_write | perms::group_read);
}

} // namespace
} // namespace conveyor
