// `conveyor queue push`, `conveyor queue status` and `conveyor worker` as a user meets them, with
// a real redis-server on 127.0.0.1: what they print and their exit codes (64 usage, 66 no such
// queue, 75 engine unreachable, 78 a pipeline that differs from the pushed one).

#include "support/loopback_server.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

const char* kPipeline = R"([pipeline]
name = "q"
[[stages]]
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

TEST(QueueCli, PushThenStatusCountsTheChunks) {
    test::RedisServer server;
    ASSERT_EQ(server.error(), "");
    test::TempDir dir;
    const std::string p = dir.write("p.toml", kPipeline);
    dir.write("in.csv", "a\n1\n");
    auto pushed = run_conveyor({"queue", "push", p, "--chunks", "8", "--queue", server.url("q1"),
                                "--lease", "2s", "--max-deliveries", "2"});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
    EXPECT_THAT(pushed.out, HasSubstr("queued 8 chunks of " + p));
    auto st = run_conveyor({"queue", "status", "--queue", server.url("q1")});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    EXPECT_THAT(st.out, HasSubstr("8 chunks: done 0, in-flight 0, pending 8, dead 0"));
    auto json = run_conveyor({"queue", "status", "--queue", server.url("q1"), "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_THAT(json.out, HasSubstr("\"pending\": 8"));
    // A second push under the same name would hand every chunk out twice.
    auto again = run_conveyor({"queue", "push", p, "--chunks", "8", "--queue", server.url("q1")});
    EXPECT_EQ(again.exit_code, 64);
    EXPECT_THAT(again.err, HasSubstr("exists already"));
    // A worker whose pipeline file is not the pushed one refuses to start.
    dir.write("p.toml", std::string(kPipeline) + "# edited\n");
    auto w = run_conveyor({"worker", "--queue", server.url("q1"), "--exit-when-empty"});
    EXPECT_EQ(w.exit_code, 78) << w.err;
    EXPECT_THAT(w.err, HasSubstr("differs from the file pushed"));
}

TEST(QueueCli, BadUrlsMissingQueuesAndDownServersHaveTheirExitCodes) {
    test::TempDir dir;
    const std::string p = dir.write("p.toml", kPipeline);
    for (const char* bad : {"redis:/q", "kafka://h:1/q", "redis://h:1/", "redis://h:0/q"}) {
        auto r = run_conveyor({"queue", "status", "--queue", bad});
        EXPECT_EQ(r.exit_code, 64) << bad << r.err;
        EXPECT_THAT(r.err, HasSubstr("expected redis://HOST:PORT/NAME")) << bad;
    }
    auto lease = run_conveyor({"queue", "push", p, "--chunks", "2", "--queue",
                               "redis://127.0.0.1:1/q", "--lease", "soon"});
    EXPECT_EQ(lease.exit_code, 64) << lease.err;
    const std::string down =
        "redis://127.0.0.1:" + std::to_string(test::free_loopback_port()) + "/q";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"queue", "status", "--queue", down},
          std::vector<std::string>{"worker", "--queue", down},
          std::vector<std::string>{"queue", "push", p, "--chunks", "2", "--queue", down}}) {
        auto r = run_conveyor(args);
        EXPECT_EQ(r.exit_code, 75) << args[0] << " " << args[1] << r.err;
        EXPECT_THAT(r.err, HasSubstr("cannot reach Redis"));
    }
    test::RedisServer server;
    ASSERT_EQ(server.error(), "");
    auto missing = run_conveyor({"queue", "status", "--queue", server.url("never-pushed")});
    EXPECT_EQ(missing.exit_code, 66) << missing.err;
    EXPECT_THAT(missing.err, HasSubstr("conveyor queue push"));
    // A pipeline whose chunks could not make one run's output is refused before anything is
    // queued: one JSON array per chunk cannot be concatenated.
    std::string array = kPipeline;
    array.replace(array.find("out.jsonl"), 9, "out.json");
    auto unshardable = run_conveyor({"queue", "push", dir.write("array.toml", array), "--chunks",
                                     "2", "--queue", server.url("a")});
    EXPECT_EQ(unshardable.exit_code, 78) << unshardable.err;
    EXPECT_THAT(unshardable.err, HasSubstr("use format = \"jsonl\""));
    // An invalid pipeline is refused before anything is queued.
    const std::string broken = dir.write("broken.toml", "[[stages]]\nid = 3\n");
    auto invalid =
        run_conveyor({"queue", "push", broken, "--chunks", "2", "--queue", server.url("b")});
    EXPECT_EQ(invalid.exit_code, 78) << invalid.err;
    auto none = run_conveyor({"queue", "status", "--queue", server.url("b")});
    EXPECT_EQ(none.exit_code, 66);
}

/// `redis-cli` against `server`: its output (a failure when it fails).
std::string redis_cli(const test::LoopbackServer& server, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/redis-cli", "-p", std::to_string(server.port())};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::run_process(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
}

TEST(QueueCli, APushThatEndsBeforeEveryChunkIsOnTheQueueLeavesNoQueueToWorkOn) {
    // A push that failed half way (here Redis refuses more data past its maxmemory; a kill or a
    // lost connection alike) left the queue's name taken with some of the chunks: `status`
    // counted the missing ones as pending for ever, and `worker --exit-when-empty` waited for
    // them without end.
    test::RedisServer server;
    ASSERT_EQ(server.error(), "");
    test::TempDir dir;
    const std::string p = dir.write("p.toml", kPipeline);
    dir.write("in.csv", "a\n1\n");
    const std::string info = redis_cli(server, {"INFO", "memory"});
    const auto at = info.find("used_memory:");
    ASSERT_NE(at, std::string::npos) << info;
    const long used = std::stol(info.substr(at + 12));
    redis_cli(server, {"CONFIG", "SET", "maxmemory", std::to_string(used + 200000)});
    auto pushed =
        run_conveyor({"queue", "push", p, "--chunks", "50000", "--queue", server.url("half")},
                     {.cwd = dir.path()});
    EXPECT_NE(pushed.exit_code, 0) << pushed.out;
    EXPECT_THAT(pushed.err, HasSubstr("OOM"));
    redis_cli(server, {"CONFIG", "SET", "maxmemory", "0"});
    ASSERT_NE(redis_cli(server, {"XLEN", "half:chunks"}), "0\n") << "no chunk was pushed";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"queue", "status", "--queue", server.url("half")},
          std::vector<std::string>{"worker", "--queue", server.url("half"), "--exit-when-empty"}}) {
        auto r = run_conveyor(args, {.cwd = dir.path(), .timeout = std::chrono::seconds(20)});
        EXPECT_EQ(r.exit_code, 66) << args[0] << ": " << r.out << r.err;
        EXPECT_THAT(r.err, HasSubstr("was never completely pushed")) << args[0];
    }
    EXPECT_FALSE(test::file_exists(dir.file("out.jsonl")));
}

} // namespace
} // namespace conveyor
