// stdout.write in streaming mode: each batch is written out as soon as it arrives, whatever
// the format (the run's stdout is a pipe here).

#include "support/stage_harness.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

/// What the pipe holds now (without waiting).
std::string drain_pipe(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

class StdoutStreamingTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StdoutStreamingTest, EveryBatchIsWrittenWhenItArrives) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    RunContext run;
    run.stdout_fd = fds[1];
    auto b = test::build_stage("stdout.write", {{"format", GetParam()}}, ExecutionMode::Streaming);
    ASSERT_TRUE(b.stage) << b.errors();
    OpenContext ctx;
    ctx.mode = ExecutionMode::Streaming;
    ctx.run = &run;
    auto opened = b.stage->open(ctx);
    ASSERT_TRUE(opened.ok());
    auto& op = *std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter em;
    ASSERT_TRUE(op.push(0, test::batch_from_json({"{\"host\":\"a\",\"n\":1}"}), em));
    const std::string first = drain_pipe(fds[0]);
    EXPECT_THAT(first, HasSubstr("a")) << "the first batch is out before the input ends";
    ASSERT_TRUE(op.push(0, test::batch_from_json({"{\"host\":\"bb\",\"n\":2}"}), em));
    EXPECT_THAT(drain_pipe(fds[0]), HasSubstr("bb"));
    ASSERT_TRUE(op.finish(em));
    if (GetParam() == "jsonl") {
        EXPECT_EQ(first, "{\"host\":\"a\",\"n\":1}\n");
    }
    ::close(fds[0]);
    ::close(fds[1]);
}

INSTANTIATE_TEST_SUITE_P(Formats, StdoutStreamingTest, ::testing::Values("jsonl", "csv", "table"),
                         [](const auto& param_info) { return param_info.param; });

} // namespace
} // namespace conveyor
