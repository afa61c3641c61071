// Sharded runs stopped and resumed (issue 21 with the runtime's --resume), reading CSV and
// JSON lines by rows: a shard killed (-9) twice mid-run and resumed twice commits exactly the
// part an uninterrupted shard commits, and a local-backend run interrupted with Ctrl-C
// (SIGINT, forwarded to its shard processes) and run again with --resume finalizes the single
// run's output; signalled as a process group (Ctrl-C, timeout(1)) its shards stop once,
// gracefully, and killed with SIGKILL it stops its shards. The run is paced by a slow
// http.fetch against a loopback server, whose answered-request count says when to stop it.

#include "support/http_test_server.hpp"
#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kRows = 240;

void serve_items(HttpTestServer& server) {
    server.route("/items/", [](const HttpTestRequest& r) {
        HttpTestReply reply = HttpTestReply::json(R"({"item":")" + r.path.substr(7) + "\"}");
        reply.delay = 3ms;
        return reply;
    });
}

/// fetch_items_pipeline with row partitioning and `global` added to [global], reading the
/// items with `source` (csv.read: items.csv; json.read: the same items as JSON lines).
std::string sharded_pipeline(const HttpTestServer& server, const std::string& source,
                             const std::string& global) {
    std::string toml = test::fetch_items_pipeline(server.url("/items/{{ id }}"), "channel", 4);
    toml.replace(toml.find("[global]\n"), 9, "[global]\npartition = \"rows\"\n" + global);
    auto swap = [&toml](const std::string& from, const std::string& to) {
        toml.replace(toml.find(from), from.size(), to);
    };
    if (source == "json.read") {
        swap("function = \"csv.read\"", "function = \"json.read\"");
        swap("path = \"items.csv\"", "path = \"items.jsonl\"\nformat = \"jsonl\"");
    }
    return toml;
}

/// The items of test::items_csv as JSON lines.
std::string items_jsonl(int rows) {
    std::string out;
    for (int i = 1; i <= rows; ++i)
        out += "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i) + "\"}\n";
    return out;
}

/// Names in `dir` (recursively) that a finished run must not leave: attempt files, staged
/// or unfinished parts.
std::vector<std::string> leftovers(const std::string& dir) {
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.ends_with(".attempt") || name.ends_with(".tmp") ||
            name.find(".attempt-") != std::string::npos)
            found.push_back(e.path().string());
    }
    return found;
}

/// A loopback server, the items file and the sharded pipeline in a directory of their own.
struct Scene {
    HttpTestServer server;
    test::TempDir dir;
    test::ProcessOptions o;

    explicit Scene(const std::string& source, const std::string& global = {}) {
        serve_items(server);
        dir.write("items.csv", test::items_csv(kRows));
        dir.write("items.jsonl", items_jsonl(kRows));
        dir.write("p.toml", sharded_pipeline(server, source, global));
        o.cwd = dir.path();
    }
};

/// What an uninterrupted run with `args` writes to `output` (in a scene of its own).
std::string uninterrupted(const std::string& source, const std::vector<std::string>& args,
                          const std::string& output) {
    Scene scene(source);
    auto r = test::run_conveyor(args, scene.o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return test::read_file(scene.dir.file(output));
}

class ShardResume : public ::testing::TestWithParam<std::string> {};

TEST_P(ShardResume, AShardKilledTwiceAndResumedCommitsTheUninterruptedShardsPart) {
    const std::string part = "out/items.part-00001-of-00002.jsonl";
    const std::string clean =
        uninterrupted(GetParam(), {"run", "p.toml", "-q", "--shard", "1/2"}, part);
    ASSERT_GT(clean.size(), 0U);
    Scene scene(GetParam());
    bool first = true;
    for (std::size_t answered : {40U, 80U}) {
        std::vector<std::string> args{"run", "p.toml", "--shard", "1/2"};
        if (!first) args.emplace_back("--resume");
        first = false;
        auto child = test::spawn_conveyor(args, scene.o);
        EXPECT_TRUE(scene.server.wait_for_answered(answered, 60s));
        child->signal(SIGKILL);
        EXPECT_EQ(child->wait().exit_code, 128 + SIGKILL);
        EXPECT_FALSE(test::file_exists(scene.dir.file(part))) << "never a partial part";
    }
    const std::size_t asked_before = scene.server.requests();
    auto r = test::run_conveyor({"run", "p.toml", "--shard", "1/2", "--resume"}, scene.o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("from checkpoint")) << "the same attempt went on";
    EXPECT_EQ(test::read_file(scene.dir.file(part)), clean) << "byte for byte";
    // Going on from a checkpoint, not from the shard's first record (its ~120 records).
    EXPECT_LT(scene.server.requests() - asked_before, static_cast<std::size_t>(kRows / 2 - 40));
    EXPECT_THAT(leftovers(scene.dir.path()), ::testing::IsEmpty());
}

TEST_P(ShardResume, ALocalBackendRunStoppedWithCtrlCResumesToTheSingleRunsOutput) {
    const std::string clean = uninterrupted(GetParam(), {"run", "p.toml", "-q"}, "out/items.jsonl");
    ASSERT_GT(clean.size(), 0U);
    Scene scene(GetParam(), "backend = \"local\"\nprocesses = 2\n");
    auto child = test::spawn_conveyor({"run", "p.toml"}, scene.o);
    EXPECT_TRUE(scene.server.wait_for_answered(100, 60s));
    child->signal(SIGINT);
    const auto stopped = child->wait();
    EXPECT_EQ(stopped.exit_code, 130) << stopped.err;
    EXPECT_THAT(stopped.err, HasSubstr("not finalized"));
    EXPECT_FALSE(test::file_exists(scene.dir.file("out/items.jsonl")));
    auto r = test::run_conveyor({"run", "p.toml", "--resume"}, scene.o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(scene.dir.file("out/items.jsonl")), clean) << "byte for byte";
    EXPECT_THAT(leftovers(scene.dir.path()), ::testing::IsEmpty());
}

/// The processes whose parent is `parent` (from /proc/PID/stat).
std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> found;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const std::string stat = test::read_file(e.path().string() + "/stat");
        // pid (comm) state ppid ...: comm may hold spaces, so read after its last ')'.
        const std::size_t close = stat.rfind(')');
        if (close == std::string::npos) continue;
        int ppid = 0;
        if (std::sscanf(stat.c_str() + close + 1, " %*c %d", &ppid) == 1 && ppid == parent)
            found.push_back(static_cast<pid_t>(std::stoi(name)));
    }
    return found;
}

/// Waits until process `pid` (not our child) has exited: true, or false after `deadline`.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds deadline) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return errno == ESRCH; // already gone
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(deadline.count()));
    ::close(fd);
    return ready == 1;
}

// Ctrl-C on a terminal, timeout(1) or kill -- -PGID signal the whole process group: the
// shards, which were in it, got the signal and then its forward from the backend, a second
// signal that aborted them at once.
TEST_P(ShardResume, ALocalBackendRunSignalledAsAProcessGroupStopsItsShardsOnce) {
    const std::string clean = uninterrupted(GetParam(), {"run", "p.toml", "-q"}, "out/items.jsonl");
    ASSERT_GT(clean.size(), 0U);
    Scene scene(GetParam(), "backend = \"local\"\nprocesses = 2\n");
    // setsid: a process group of its own (the test's must not get the signal), same pid.
    test::Child child({"/usr/bin/setsid", test::conveyor_binary(), "run", "p.toml"}, scene.o);
    EXPECT_TRUE(scene.server.wait_for_answered(100, 60s));
    ::kill(-child.pid(), SIGINT);
    const auto stopped = child.wait();
    EXPECT_EQ(stopped.exit_code, 130) << stopped.err;
    EXPECT_THAT(stopped.err, Not(HasSubstr("aborted"))) << "one signal, a graceful stop";
    auto r = test::run_conveyor({"run", "p.toml", "--resume"}, scene.o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("from checkpoint"));
    EXPECT_EQ(test::read_file(scene.dir.file("out/items.jsonl")), clean) << "byte for byte";
}

// A backend killed with SIGKILL left its shards running on their own, committing their parts.
TEST_P(ShardResume, ALocalBackendKilledWithSigkillStopsItsShards) {
    const std::string clean = uninterrupted(GetParam(), {"run", "p.toml", "-q"}, "out/items.jsonl");
    ASSERT_GT(clean.size(), 0U);
    Scene scene(GetParam(), "backend = \"local\"\nprocesses = 2\n");
    auto child = test::spawn_conveyor({"run", "p.toml"}, scene.o);
    EXPECT_TRUE(scene.server.wait_for_answered(100, 60s));
    const std::vector<pid_t> shards = children_of(child->pid());
    ASSERT_EQ(shards.size(), 2U);
    child->signal(SIGKILL);
    EXPECT_EQ(child->wait().exit_code, 128 + SIGKILL);
    for (const pid_t shard : shards)
        EXPECT_TRUE(wait_for_exit(shard, 60s)) << "shard " << shard << " still runs";
    EXPECT_LT(scene.server.requests(), static_cast<std::size_t>(kRows)) << "they stopped";
    for (const char* part :
         {"out/items.part-00000-of-00002.jsonl", "out/items.part-00001-of-00002.jsonl"})
        EXPECT_FALSE(test::file_exists(scene.dir.file(part))) << part;
    auto r = test::run_conveyor({"run", "p.toml", "--resume"}, scene.o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(scene.dir.file("out/items.jsonl")), clean) << "byte for byte";
    EXPECT_THAT(leftovers(scene.dir.path()), ::testing::IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Sources, ShardResume, ::testing::Values("csv.read", "json.read"),
                         [](const auto& source) {
                             return source.param == "csv.read" ? std::string("csv")
                                                               : std::string("json");
                         });

} // namespace
} // namespace conveyor
