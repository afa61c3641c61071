// stdin.read: every format, batch and streaming mode, through a pipe standing in for stdin.

#include "conveyor/core/run_context.hpp"
#include "conveyor/recordio/line_source.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <chrono>
#include <future>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using test::StdinPipe;

struct StdinRun {
    RunContext run;
    StdinPipe pipe;
    test::BuiltStage built;
    std::unique_ptr<test::OpenSource> src;

    StdinRun(const std::map<std::string, OptionValue>& options, ExecutionMode mode,
             std::size_t batch_size = 1024) {
        run.stdin_fd = pipe.read_fd();
        built = test::build_stage("stdin.read", options, mode);
        EXPECT_TRUE(built.stage) << built.errors();
        if (built.stage) src = test::open_source(*built.stage, run, mode, batch_size);
    }
};

TEST(StdinReadTest, LinesAreRecordsWithoutTheirLineEnds) {
    StdinRun s({{"format", "lines"}}, ExecutionMode::Batch);
    ASSERT_TRUE(s.src && s.src->op);
    EXPECT_EQ(s.src->opened->initial_schema->names(), std::vector<std::string>{"line"});
    EXPECT_TRUE(s.src->opened->fixed_schema);
    s.pipe.write("a\r\n\nb \"q\"\nlast");
    s.pipe.close_write();
    EXPECT_EQ(
        s.src->drain(),
        "{\"line\":\"a\"}\n{\"line\":\"\"}\n{\"line\":\"b \\\"q\\\"\"}\n{\"line\":\"last\"}\n");
}

TEST(StdinReadTest, StreamingPassesOnWhatHasArrivedWithoutFillingABatch) {
    StdinRun s({{"format", "lines"}}, ExecutionMode::Streaming, 1024);
    ASSERT_TRUE(s.src && s.src->op);
    s.pipe.write("x\n");
    bool more = false;
    EXPECT_EQ(s.src->step(&more), "{\"line\":\"x\"}\n");
    EXPECT_TRUE(more);
    s.pipe.write("y\nz\npartial");
    EXPECT_EQ(s.src->step(&more), "{\"line\":\"y\"}\n{\"line\":\"z\"}\n");
    s.pipe.write(" line\n");
    EXPECT_EQ(s.src->step(&more), "{\"line\":\"partial line\"}\n");
    s.pipe.close_write();
    EXPECT_EQ(s.src->step(&more), "");
    EXPECT_FALSE(more);
}

TEST(StdinReadTest, AStopDropsAHalfWrittenLastLine) {
    StdinRun s({{"format", "lines"}}, ExecutionMode::Streaming);
    ASSERT_TRUE(s.src && s.src->op);
    s.pipe.write("whole\nhalf");
    EXPECT_EQ(s.src->step(), "{\"line\":\"whole\"}\n");
    s.run.request_stop();
    bool more = true;
    EXPECT_EQ(s.src->step(&more), "");
    EXPECT_FALSE(more);
}

TEST(StdinReadTest, AStopWakesASourceWaitingForInput) {
    StdinRun s({{"format", "jsonl"}}, ExecutionMode::Streaming);
    ASSERT_TRUE(s.src && s.src->op);
    auto done = std::async(std::launch::async, [&s] { return s.src->drain(); });
    s.run.request_stop();
    ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(done.get(), "");
}

TEST(StdinReadTest, JsonLinesAreParsedAndNothingIsReadAtOpen) {
    StdinRun s({}, ExecutionMode::Streaming); // jsonl is the default
    ASSERT_TRUE(s.src && s.src->op) << "open() must not wait for input";
    EXPECT_EQ(s.src->opened->initial_schema, nullptr);
    s.pipe.write("{\"a\":1}\n\n{\"a\":2,\"b\":[1]}\n");
    s.pipe.close_write();
    EXPECT_EQ(s.src->drain(), "{\"a\":1}\n{\"a\":2,\"b\":[1]}\n");
}

TEST(StdinReadTest, AJsonArray) {
    StdinRun s({{"format", "json"}}, ExecutionMode::Batch);
    ASSERT_TRUE(s.src && s.src->op);
    s.pipe.write("[{\"a\":1},\n {\"a\":\"x\"}]\n");
    s.pipe.close_write();
    EXPECT_EQ(s.src->drain(), "{\"a\":1}\n{\"a\":\"x\"}\n");
}

TEST(StdinReadTest, MalformedJsonNamesStdinAndTheLine) {
    StdinRun s({{"format", "jsonl"}}, ExecutionMode::Batch);
    ASSERT_TRUE(s.src && s.src->op);
    s.pipe.write("{\"a\":1}\n{\"a\":}\n");
    s.pipe.close_write();
    const std::string out = s.src->drain();
    EXPECT_NE(out.find("ERROR"), std::string::npos) << out;
    EXPECT_NE(out.find("<stdin>:2"), std::string::npos) << out;
}

TEST(StdinReadTest, CsvReadsItsHeaderWhenItArrivesNotAtOpen) {
    StdinRun s({{"format", "csv"}, {"delimiter", ";"}}, ExecutionMode::Streaming);
    ASSERT_TRUE(s.src && s.src->op);
    EXPECT_EQ(s.src->opened->initial_schema, nullptr);
    s.pipe.write("id;name\n1;\"a;b\"\n");
    EXPECT_EQ(s.src->step(), "{\"id\":1,\"name\":\"a;b\"}\n");
    s.pipe.write("2;c\n");
    EXPECT_EQ(s.src->step(), "{\"id\":2,\"name\":\"c\"}\n");
    s.pipe.close_write();
    EXPECT_EQ(s.src->drain(), "");
}

TEST(StdinReadTest, CsvWithoutHeaderUsesColumns) {
    StdinRun s({{"format", "csv"}, {"headers", false}, {"columns", OptionValue::List{"x", "y"}}},
               ExecutionMode::Batch);
    ASSERT_TRUE(s.src && s.src->op);
    EXPECT_EQ(s.src->opened->initial_schema->names(), (std::vector<std::string>{"x", "y"}));
    s.pipe.write("1,2\n3,4\n");
    s.pipe.close_write();
    EXPECT_EQ(s.src->drain(), "{\"x\":1,\"y\":2}\n{\"x\":3,\"y\":4}\n");
}

TEST(StdinReadTest, CsvOptionsWithAnotherFormatAreWarnedAbout) {
    auto b = test::build_stage("stdin.read", {{"format", "lines"}, {"delimiter", ";"}});
    ASSERT_TRUE(b.stage);
    EXPECT_NE(b.errors().find("only applies to format = \"csv\""), std::string::npos) << b.errors();
}

TEST(StdinReadTest, ColumnsNeedHeadersFalse) {
    auto b =
        test::build_stage("stdin.read", {{"format", "csv"}, {"columns", OptionValue::List{"x"}}});
    EXPECT_FALSE(b.stage);
    EXPECT_NE(b.errors().find("headers = false"), std::string::npos) << b.errors();
}

// Lines cross block boundaries in every way when blocks are tiny.
TEST(LineSourceTest, BlockSizeNeverChangesTheLines) {
    test::TempDir dir;
    std::string text;
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        const std::string line(static_cast<std::size_t>(i % 37), static_cast<char>('a' + i % 26));
        text += line + (i % 5 == 0 ? "\r\n" : "\n");
        expected += "{\"line\":\"" + line + "\"}\n";
    }
    const std::string path = dir.write("in.txt", text);
    for (const std::size_t block : {16u, 17u, 64u, 1000u, 1u << 20}) {
        for (const std::size_t batch : {1u, 7u, 1024u}) {
            RunContext run;
            auto file = InputFile::open(path, &run);
            ASSERT_TRUE(file.ok());
            OpenContext ctx;
            ctx.batch_size = batch;
            ctx.run = &run;
            auto op = recordio::make_line_source(std::move(*file), ctx, block);
            CollectingEmitter out;
            std::string got;
            for (;;) {
                auto more = op->next(out);
                ASSERT_TRUE(more.ok());
                got += test::jsonl(out.take());
                if (!*more) break;
            }
            EXPECT_EQ(got, expected) << "block " << block << ", batch " << batch;
        }
    }
}

TEST(LineSourceTest, ALineLongerThanTheLimitIsADataError) {
    test::TempDir dir;
    const std::string path = dir.write("in.txt", "short\n" + std::string(200, 'x') + "\n");
    RunContext run;
    auto file = InputFile::open(path, &run);
    ASSERT_TRUE(file.ok());
    OpenContext ctx;
    ctx.run = &run;
    auto op = recordio::make_line_source(std::move(*file), ctx, 16, 64);
    CollectingEmitter out;
    Result<bool> r = true;
    while (r.ok() && *r)
        r = op->next(out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::Data);
    EXPECT_NE(r.error().where.find("in.txt:2"), std::string::npos) << r.error().to_string();
}

} // namespace
} // namespace conveyor
