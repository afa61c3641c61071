// SIGINT/SIGTERM: sources stop, records in flight drain, exit 130/143; in streaming mode the
// sinks commit what arrived, in batch mode nothing is committed (signals_commit_test.cpp has
// the resume side); a second signal aborts at once and leaves no temporary file behind.
// Synchronisation is by reading the process's output and by FIFO rendezvous, never by sleeping.

#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SignalTest : public ::testing::TestWithParam<std::string> {};

std::string fifo_pipeline(const std::string& executor, const std::string& global = "") {
    return R"([global]
executor = ")" +
           executor + R"("
channel_buffer_size = 10
)" + global +
           R"(

[[stages]]
id = "feed"
function = "csv.read"
inputs = []
[stages.config]
path = "feed.csv"

[[stages]]
id = "echo"
function = "stdout.write"
inputs = ["feed"]
[stages.config]
format = "jsonl"

[[stages]]
id = "save"
function = "json.write"
inputs = ["feed"]
[stages.config]
path = "out/saved.json"
)";
}

/// Starts the FIFO pipeline, writes 25 rows and sends SIGTERM once they are under way.
test::ProcessResult feed_and_stop(const test::TempDir& dir, const std::string& executor,
                                  bool streaming) {
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    // Opening the FIFO's write end returns once conveyor opened it for reading, which
    // happens after its signal handling is installed.
    const int fd = ::open(dir.file("feed.csv").c_str(), O_WRONLY);
    EXPECT_GE(fd, 0);
    if (fd < 0) return {};
    std::string rows = "id,word\n";
    for (int i = 1; i <= 25; ++i)
        rows += std::to_string(i) + ",w" + std::to_string(i) + "\n";
    EXPECT_EQ(::write(fd, rows.data(), rows.size()), static_cast<ssize_t>(rows.size()));
    if (streaming || executor != "dag") {
        // Streaming executors pass records on while the source still waits for more.
        auto first = child->read_line(std::chrono::seconds(30));
        EXPECT_TRUE(first.has_value());
        if (first) {
            EXPECT_EQ(*first, R"({"id":1,"word":"w1"})");
        }
    }
    child->signal(SIGTERM);
    auto r = child->wait();
    ::close(fd);
    return r;
}

// Batch mode (the default) commits nothing when stopped: the run is not complete. Until
// issue 13 the partial output was renamed over the previous one.
TEST_P(SignalTest, SigtermInBatchModeKeepsThePreviousOutput) {
    const std::string executor = GetParam();
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("feed.csv").c_str(), 0600), 0);
    dir.write("p.toml", fifo_pipeline(executor));
    const std::string previous = "[\n{\"id\":0,\"word\":\"from the last complete run\"}\n]\n";
    dir.write("out/saved.json", previous);
    auto r = feed_and_stop(dir, executor, false);
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, HasSubstr("SIGTERM"));
    EXPECT_THAT(r.err, HasSubstr("no output was committed"));
    EXPECT_EQ(test::read_file(dir.file("out/saved.json")), previous);
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"saved.json"})
        << "no temporary file left";
}

TEST_P(SignalTest, SigtermInStreamingModeDrainsCommitsAndExits143) {
    const std::string executor = GetParam();
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("feed.csv").c_str(), 0600), 0);
    dir.write("p.toml", fifo_pipeline(executor, "execution_mode = \"streaming\"\n"));
    auto r = feed_and_stop(dir, executor, true);
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, HasSubstr("SIGTERM"));
    // The file that was being written is complete and well-formed, with what was read.
    const std::string saved = test::read_file(dir.file("out/saved.json"));
    ASSERT_FALSE(saved.empty());
    EXPECT_EQ(saved.front(), '[');
    EXPECT_EQ(saved.substr(saved.size() - 2), "]\n");
    EXPECT_THAT(saved, HasSubstr(R"({"id":25,"word":"w25"})"));
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"saved.json"})
        << "no temporary file left";
}

TEST_P(SignalTest, SigintExits130) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("feed.csv").c_str(), 0600), 0);
    dir.write("p.toml", fifo_pipeline(GetParam()));
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    const int fd = ::open(dir.file("feed.csv").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    child->signal(SIGINT);
    auto r = child->wait();
    ::close(fd);
    EXPECT_EQ(r.exit_code, 130) << r.err;
}

// SIGHUP (the terminal or the ssh session of a hand-started run went away) stops the run as
// SIGTERM does. It used to kill conveyor at once, silently, leaving the temporary output file
// (.saved.json.conveyor-PID-XXXX.tmp) beside the output.
TEST_P(SignalTest, SighupStopsLikeSigtermAndLeavesNoTemporaryFile) {
    const std::string executor = GetParam();
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("feed.csv").c_str(), 0600), 0);
    dir.write("p.toml", fifo_pipeline(executor));
    const std::string previous = "[\n{\"id\":0,\"word\":\"from the last complete run\"}\n]\n";
    dir.write("out/saved.json", previous);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    const int fd = ::open(dir.file("feed.csv").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::string rows = "id,word\n1,w1\n2,w2\n";
    EXPECT_EQ(::write(fd, rows.data(), rows.size()), static_cast<ssize_t>(rows.size()));
    if (executor != "dag") {
        // The sinks have opened their temporary files once a record went through.
        auto first = child->read_line(std::chrono::seconds(30));
        ASSERT_TRUE(first.has_value());
    }
    child->signal(SIGHUP);
    auto r = child->wait();
    ::close(fd);
    EXPECT_EQ(r.exit_code, 129) << r.err;
    EXPECT_THAT(r.err, HasSubstr("interrupted by SIGHUP"));
    EXPECT_THAT(r.err, HasSubstr("no output was committed"));
    EXPECT_EQ(test::read_file(dir.file("out/saved.json")), previous);
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"saved.json"})
        << "no temporary file left";
}

// Under nohup the user asked for the run to outlive the terminal: a hangup stays ignored and
// the run finishes and commits as if nothing happened.
TEST_P(SignalTest, SighupUnderNohupIsIgnoredAndTheRunCompletes) {
    const std::string executor = GetParam();
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("feed.csv").c_str(), 0600), 0);
    dir.write("p.toml", fifo_pipeline(executor));
    test::ProcessOptions o;
    o.cwd = dir.path();
    test::Child child({"/usr/bin/nohup", test::conveyor_binary(), "run", "p.toml"}, o);
    // The open returns once conveyor (nohup has exec'd it, SIGHUP ignored) opened the FIFO.
    const int fd = ::open(dir.file("feed.csv").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::string head = "id,word\n1,w1\n";
    EXPECT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
    child.signal(SIGHUP); // an ignored signal is discarded when sent: nothing is pending after
    const std::string rest = "2,w2\n";
    EXPECT_EQ(::write(fd, rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
    ::close(fd);
    auto r = child.wait();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("SIGHUP")));
    EXPECT_EQ(test::read_file(dir.file("out/saved.json")),
              "[\n{\"id\":1,\"word\":\"w1\"},\n{\"id\":2,\"word\":\"w2\"}\n]\n");
}

// An input FIFO whose writer never comes (the producer of a batch script did not start):
// open() waited for it, deaf to the signal, until shutdown_timeout_seconds aborted the run.
// Now the source waits for the writer where a stop reaches it: exit 143 at once.
TEST_P(SignalTest, SigtermWhileTheInputFifoHasNoWriterStopsAtOnce) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("feed.csv").c_str(), 0600), 0);
    dir.write("p.toml", fifo_pipeline(GetParam(), "shutdown_timeout_seconds = 600\n"));
    // The FIFO's open is an event (inotify IN_OPEN); signal handling is installed before the
    // source opens its input.
    const int watch = ::inotify_init1(IN_CLOEXEC);
    ASSERT_GE(watch, 0) << std::strerror(errno);
    ASSERT_GE(::inotify_add_watch(watch, dir.file("feed.csv").c_str(), IN_OPEN), 0)
        << std::strerror(errno);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    pollfd opened{watch, POLLIN, 0};
    EXPECT_EQ(::poll(&opened, 1, 30000), 1) << "conveyor never opened the FIFO (blocked in open())";
    ::close(watch);
    child->signal(SIGTERM);
    auto r = child->wait(std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, HasSubstr("interrupted by SIGTERM"));
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("aborted"))) << r.err;
    EXPECT_FALSE(test::file_exists(dir.file("out/saved.json")));
}

INSTANTIATE_TEST_SUITE_P(Executors, SignalTest, ::testing::Values("dag", "channel", "async"));

TEST(SignalAbort, SecondSignalAbortsAtOnceWithoutLeavingFiles) {
    test::TempDir dir;
    // Rows of 2 KB: the records in flight alone are more than a pipe holds.
    dir.write("big.csv", test::wide_rows_csv(5000));
    dir.write("p.toml",
              test::echo_and_save_pipeline("big.csv", "out/all.json", "executor = \"channel\"\n"));
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    // Read one line to know the run is under way, then stop reading: stdout fills up and
    // the stdout sink blocks, so the graceful drain cannot finish on its own.
    ASSERT_TRUE(child->read_line(std::chrono::seconds(30)).has_value());
    child->signal(SIGTERM);
    ASSERT_TRUE(child->wait_for_stderr("received SIGTERM", std::chrono::seconds(30)));
    child->signal(SIGTERM);
    auto r = child->wait(std::chrono::seconds(60), /*read_stdout=*/false);
    EXPECT_EQ(r.exit_code, 143);
    EXPECT_THAT(r.err, HasSubstr("aborted"));
    EXPECT_FALSE(test::file_exists(dir.file("out/all.json")));
    EXPECT_TRUE(test::list_dir(dir.file("out")).empty()) << "temporary files are removed";
}

TEST(SignalAbort, GracePeriodEndsAStuckDrain) {
    test::TempDir dir;
    // Rows of 2 KB: the records in flight alone are more than a pipe holds.
    dir.write("big.csv", test::wide_rows_csv(5000));
    dir.write("p.toml", test::echo_and_save_pipeline(
                            "big.csv", "out/all.json",
                            "executor = \"async\"\nshutdown_timeout_seconds = 0.5\n"));
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    ASSERT_TRUE(child->read_line(std::chrono::seconds(30)).has_value());
    child->signal(SIGTERM);
    auto r = child->wait(std::chrono::seconds(60), /*read_stdout=*/false);
    EXPECT_EQ(r.exit_code, 143);
    EXPECT_THAT(r.err, HasSubstr("shutdown_timeout_seconds"));
    // The JSON sink may have finished its (shortened) file before the grace period ended;
    // if so it is complete. Nothing else is left.
    for (const std::string& f : test::list_dir(dir.file("out"))) {
        EXPECT_EQ(f, "all.json") << "no temporary file left";
        const std::string saved = test::read_file(dir.file("out/all.json"));
        EXPECT_EQ(saved.substr(saved.size() - 2), "]\n");
    }
}

} // namespace
} // namespace conveyor
