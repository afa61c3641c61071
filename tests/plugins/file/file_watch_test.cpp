// file.watch: a followed file in each format, across rotation and truncation. Steps that may
// wait run on a helper thread and are collected with a deadline.

#include "conveyor/core/run_context.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <unistd.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;

void append(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << text;
}

struct Watch {
    RunContext run;
    test::BuiltStage built;
    std::unique_ptr<test::OpenSource> src;

    Watch(std::map<std::string, OptionValue> options) {
        options.emplace("poll_interval_ms", std::int64_t{50});
        built = test::build_stage("file.watch", options, ExecutionMode::Streaming);
        EXPECT_TRUE(built.stage) << built.errors();
        if (built.stage) src = test::open_source(*built.stage, run, ExecutionMode::Streaming);
        EXPECT_TRUE(src && src->op) << (src && src->error ? src->error->to_string() : "");
    }
    /// Steps until `want` lines of output came (a step may wait for the file to change).
    std::string collect(std::size_t want) {
        auto got = std::async(std::launch::async, [this, want] {
            std::string all;
            std::size_t lines = 0;
            while (lines < want) {
                bool more = false;
                const std::string out = src->step(&more);
                all += out;
                lines += static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
                if (!more) break;
            }
            return all;
        });
        if (got.wait_for(10s) != std::future_status::ready) {
            run.request_stop(); // let the helper thread end
            got.wait();
            ADD_FAILURE() << "no output within the deadline";
            return {};
        }
        return got.get();
    }
};

TEST(FileWatchTest, NeedsStreamingMode) {
    auto b = test::build_stage("file.watch", {{"path", "app.log"}}, ExecutionMode::Batch);
    EXPECT_FALSE(b.stage);
    EXPECT_NE(b.errors().find("execution_mode = \"streaming\""), std::string::npos) << b.errors();
}

TEST(FileWatchTest, StandardInputIsNotAFileToWatch) {
    auto b = test::build_stage("file.watch", {{"path", "-"}}, ExecutionMode::Streaming);
    EXPECT_FALSE(b.stage);
    EXPECT_NE(b.errors().find("stdin.read"), std::string::npos) << b.errors();
}

TEST(FileWatchTest, LinesThatAreThereThenLinesAppended) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "one\ntwo\n");
    Watch w({{"path", path}});
    ASSERT_TRUE(w.src && w.src->op);
    EXPECT_EQ(w.src->opened->initial_schema->names(), std::vector<std::string>{"line"});
    EXPECT_EQ(w.collect(2), "{\"line\":\"one\"}\n{\"line\":\"two\"}\n");
    append(path, "three\n");
    EXPECT_EQ(w.collect(1), "{\"line\":\"three\"}\n");
}

TEST(FileWatchTest, FormatFollowsTheExtension) {
    test::TempDir dir;
    const std::string path = dir.write("events.jsonl", "{\"a\":1}\n");
    Watch w({{"path", path}});
    ASSERT_TRUE(w.src && w.src->op);
    EXPECT_EQ(w.collect(1), "{\"a\":1}\n");
}

TEST(FileWatchTest, RenameRotationReadsTheRestOfTheOldFileThenTheNewOne) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "1\n");
    Watch w({{"path", path}});
    ASSERT_TRUE(w.src && w.src->op);
    EXPECT_EQ(w.collect(1), "{\"line\":\"1\"}\n");
    ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
    append(path + ".1", "2\nunterminated");
    append(path, "3\n");
    EXPECT_EQ(w.collect(3), "{\"line\":\"2\"}\n{\"line\":\"unterminated\"}\n{\"line\":\"3\"}\n")
        << "the old file's last line without a line end is still a line";
}

TEST(FileWatchTest, CsvHeaderRepeatedInTheNewFileIsSkipped) {
    test::TempDir dir;
    const std::string path = dir.write("m.csv", "host,load\na,1\n");
    Watch w({{"path", path}});
    ASSERT_TRUE(w.src && w.src->op);
    EXPECT_EQ(w.collect(1), "{\"host\":\"a\",\"load\":1}\n");
    ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
    append(path, "host,load\nb,2\n");
    EXPECT_EQ(w.collect(1), "{\"host\":\"b\",\"load\":2}\n");
}

TEST(FileWatchTest, CsvTruncatedAndWrittenWithoutHeaderKeepsTheColumns) {
    test::TempDir dir;
    const std::string path = dir.write("m.csv", "host,load\na,1\n");
    Watch w({{"path", path}});
    ASSERT_TRUE(w.src && w.src->op);
    EXPECT_EQ(w.collect(1), "{\"host\":\"a\",\"load\":1}\n");
    ASSERT_EQ(::truncate(path.c_str(), 0), 0);
    append(path, "c,3\n");
    EXPECT_EQ(w.collect(1), "{\"host\":\"c\",\"load\":3}\n");
}

TEST(FileWatchTest, FromEndReadsOnlyNewRowsButKnowsTheHeader) {
    test::TempDir dir;
    const std::string path = dir.write("m.csv", "host,load\nold,0\n");
    Watch w({{"path", path}, {"from", "end"}});
    ASSERT_TRUE(w.src && w.src->op);
    append(path, "new,5\n");
    EXPECT_EQ(w.collect(1), "{\"host\":\"new\",\"load\":5}\n");
}

TEST(FileWatchTest, AStopEndsTheSource) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "");
    Watch w({{"path", path}});
    ASSERT_TRUE(w.src && w.src->op);
    auto done = std::async(std::launch::async, [&w] { return w.src->drain(); });
    w.run.request_stop();
    ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(done.get(), "");
}

TEST(FollowOptionTest, CsvReadFollowNeedsStreamingMode) {
    auto b = test::build_stage("csv.read", {{"path", "x.csv"}, {"follow", true}});
    EXPECT_FALSE(b.stage);
    EXPECT_NE(b.errors().find("execution_mode = \"streaming\""), std::string::npos) << b.errors();
}

TEST(FollowOptionTest, JsonReadFollowRefusesStandardInput) {
    auto b =
        test::build_stage("json.read", {{"path", "-"}, {"follow", true}}, ExecutionMode::Streaming);
    EXPECT_FALSE(b.stage);
    EXPECT_NE(b.errors().find("standard input"), std::string::npos) << b.errors();
}

/// csv.read and json.read with follow = true read appended records, like file.watch.
class FollowOptionRead : public ::testing::TestWithParam<std::string> {};

TEST_P(FollowOptionRead, ReadsAppendedRecords) {
    const bool csv = GetParam() == "csv.read";
    test::TempDir dir;
    const std::string path =
        dir.write(csv ? "in.csv" : "in.jsonl", csv ? "a,b\n1,x\n" : "{\"a\":1,\"b\":\"x\"}\n");
    RunContext run;
    auto b =
        test::build_stage(GetParam(), {{"path", path}, {"follow", true}}, ExecutionMode::Streaming);
    ASSERT_TRUE(b.stage) << b.errors();
    auto src = test::open_source(*b.stage, run, ExecutionMode::Streaming);
    ASSERT_TRUE(src->op);
    EXPECT_EQ(src->step(), "{\"a\":1,\"b\":\"x\"}\n");
    append(path, csv ? "2,y\n" : "{\"a\":2,\"b\":\"y\"}\n");
    auto next = std::async(std::launch::async, [&src] { return src->step(); });
    ASSERT_EQ(next.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(next.get(), "{\"a\":2,\"b\":\"y\"}\n");
    run.request_stop();
    bool more = true;
    EXPECT_EQ(src->step(&more), "");
    EXPECT_FALSE(more);
}

INSTANTIATE_TEST_SUITE_P(Readers, FollowOptionRead, ::testing::Values("csv.read", "json.read"),
                         [](const auto& param_info) {
                             return param_info.param == "csv.read" ? "csv" : "json";
                         });

} // namespace
} // namespace conveyor
