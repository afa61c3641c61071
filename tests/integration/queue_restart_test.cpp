// A work queue's engine restarted under its workers (Redis killed with -9 and started again
// with its data): an idle worker waits for it and goes on, and a chunk in hand keeps its lease,
// instead of ending with 75.

#include "support/process.hpp"
#include "support/restarting_redis.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

const char* kPipeline = R"([[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "in.csv"
[[stages]]
id = "save"
function = "json.write"
inputs = ["load"]
[stages.config]
path = "out.jsonl"
)";

TEST(QueueRestart, AnIdleWorkerWaitsForARestartedRedisAndGoesOn) {
    // A Redis restart ended every worker that looked at the queue meanwhile with 75 ("cannot
    // reach Redis"), although the queue came back as it was.
    test::RestartingRedis redis;
    ASSERT_EQ(redis.error(), "");
    test::TempDir dir;
    const std::string p = dir.write("p.toml", kPipeline);
    dir.write("in.csv", "a\n1\n2\n3\n4\n");
    auto pushed = run_conveyor({"queue", "push", p, "--chunks", "2", "--queue", redis.url("q")},
                               {.cwd = dir.path()});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
    auto worker = test::spawn_conveyor(
        {"worker", "--queue", redis.url("q"), "--log-level", "debug"}, {.cwd = dir.path()});
    // Idle once both chunks are committed and acknowledged (it says so at debug level).
    ASSERT_TRUE(worker->wait_for_stderr(
        [](const std::string& err) {
            const std::size_t second = err.find("chunk 1 of 2: committed");
            const std::size_t first = err.find("chunk 0 of 2: committed");
            return first != std::string::npos && second != std::string::npos &&
                   err.find("no chunk to take", std::max(first, second)) != std::string::npos;
        },
        std::chrono::seconds(60)))
        << "the worker did not commit both chunks";
    redis.kill();
    ASSERT_TRUE(worker->wait_for_stderr("trying again in", std::chrono::seconds(30)))
        << "the worker did not wait for the engine";
    ASSERT_TRUE(redis.start());
    ASSERT_TRUE(worker->wait_for_stderr("the queue answers again", std::chrono::seconds(30)));
    auto st = run_conveyor({"queue", "status", "--queue", redis.url("q")});
    EXPECT_EQ(st.exit_code, 0) << st.err;
    EXPECT_THAT(st.out, HasSubstr("2 chunks: done 2, in-flight 0, pending 0, dead 0"));
    worker->signal(SIGTERM);
    const test::ProcessResult r = worker->wait(std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cannot reach Redis"));
}

TEST(QueueRestart, AChunkInHandKeepsItsLeaseThroughARedisRestart) {
    // The first renewal of a chunk's lease that could not reach Redis gave the chunk up: a
    // restart of a second lost the work of every chunk in hand, and the worker ended with 75.
    test::RestartingRedis redis;
    ASSERT_EQ(redis.error(), "");
    test::TempDir dir;
    const std::string p = dir.write("p.toml", kPipeline);
    dir.write("in.csv", "a\n1\n");
    // Renewed every 2 s: after the renewal that fails, the next one is 2 s later.
    auto pushed = run_conveyor(
        {"queue", "push", p, "--chunks", "1", "--lease", "6s", "--queue", redis.url("held")},
        {.cwd = dir.path()});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
    const std::string gate = dir.file("gate");
    ASSERT_EQ(::mkfifo(gate.c_str(), 0600), 0);
    test::Child worker(
        {CONVEYOR_QUEUE_TEST_WORKER, redis.url("held"), dir.file("out"), "--hold-first", gate});
    ASSERT_TRUE(worker.wait_for_stderr("holding chunk 0", std::chrono::seconds(30)));
    redis.kill();
    ASSERT_TRUE(worker.wait_for_stderr("chunk 0: cannot renew its lease", std::chrono::seconds(30)))
        << "the chunk was given up";
    ASSERT_TRUE(redis.start());
    ASSERT_TRUE(
        worker.wait_for_stderr("chunk 0: its lease is renewed again", std::chrono::seconds(30)));
    // The chunk goes on: released, it is committed by this attempt.
    const int fd = ::open(gate.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ::close(fd);
    const test::ProcessResult r = worker.wait(std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("report: committed 1, already 0, lost 0, failed 0, abandoned 0"));
    EXPECT_TRUE(test::file_exists(dir.file("out/part-0/data")));
}

} // namespace
} // namespace conveyor
