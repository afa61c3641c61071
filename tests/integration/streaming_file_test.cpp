// file.watch and csv.read follow = true end to end: a followed file is read as it grows,
// across rotation by rename and by truncation, until SIGTERM ends the run.

#include "support/process.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kDeadline = 10s;

void append(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << text;
}

std::unique_ptr<test::Child> start(const test::TempDir& dir, const std::string& source) {
    dir.write("p.toml", R"([global]
execution_mode = "streaming"

[[stages]]
id = "in"
inputs = []
)" + source + R"(

[[stages]]
id = "out"
function = "stdout.write"
inputs = ["in"]
)");
    test::ProcessOptions o;
    o.cwd = dir.path();
    o.unset_env = {"CONVEYOR_LOG"};
    return test::spawn_conveyor({"run", "p.toml"}, o);
}

TEST(StreamingFileTest, FileWatchSurvivesRenameAndTruncation) {
    test::TempDir dir;
    const std::string log = dir.write("app.log", "boot\n");
    auto child = start(dir, "function = \"file.watch\"\n[stages.config]\npath = \"app.log\"\n"
                            "poll_interval_ms = 100\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"boot"})");
    append(log, "running\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"running"})");

    // logrotate's default: rename, then the writer opens a new file.
    ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
    append(log + ".1", "last words\n");
    append(log, "new file\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"last words"})");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"new file"})");

    // copytruncate: the same file, emptied, written again.
    ASSERT_EQ(::truncate(log.c_str(), 0), 0);
    append(log, "after truncate\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"line":"after truncate"})");

    child->signal(SIGTERM);
    auto r = child->wait(kDeadline);
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, HasSubstr("file was rotated"));
    EXPECT_THAT(r.err, HasSubstr("file was truncated"));
}

TEST(StreamingFileTest, CsvReadFollowReadsRowsAsTheyAreAppended) {
    test::TempDir dir;
    const std::string csv = dir.write("metrics.csv", "host,load\na,0.5\n");
    auto child = start(dir, "function = \"csv.read\"\n[stages.config]\npath = \"metrics.csv\"\n"
                            "follow = true\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"host":"a","load":0.5})");
    append(csv, "b,1.25\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"host":"b","load":1.25})");
    ASSERT_EQ(std::rename(csv.c_str(), (csv + ".1").c_str()), 0);
    append(csv, "host,load\nc,2\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"host":"c","load":2})")
        << "the new file's header is not a record";
    child->signal(SIGINT);
    auto r = child->wait(kDeadline);
    EXPECT_EQ(r.exit_code, 130) << r.err;
}

TEST(StreamingFileTest, FileWatchWaitsForAFileThatDoesNotExistYet) {
    test::TempDir dir;
    auto child = start(dir, "function = \"file.watch\"\n[stages.config]\npath = \"later.jsonl\"\n");
    ASSERT_TRUE(child->wait_for_stderr("waiting for the file to appear", kDeadline));
    append(dir.file("later.jsonl"), "{\"a\":1}\n");
    EXPECT_EQ(child->read_line(kDeadline), R"({"a":1})");
    child->signal(SIGTERM);
    auto r = child->wait(kDeadline);
    EXPECT_EQ(r.exit_code, 143) << r.err;
}

} // namespace
} // namespace conveyor
