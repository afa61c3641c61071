// The work queue under chaos, with real processes and a real server on 127.0.0.1 (redis-server,
// nats-server with JetStream; the test runs once with each): three
// worker processes over 32 chunks; one is killed with SIGKILL in the middle of a chunk, one is
// paused (SIGSTOP) past its lease and resumed after another worker committed its chunk, and one
// chunk always fails. Every good chunk must be committed exactly once (one part, whose manifest
// names the attempt the queue recorded), the bad one must be a dead letter with its error, and
// the parts put together must be the output of a run without workers, less the bad chunk's rows.
// The workers run the real worker loop (queue::run_worker) with the test's chunk runner
// (tests/queue_worker): what is under test here is the queue's protocol, leases and fence.
// Nothing sleeps: the test waits on what it can observe (a worker's stderr, the queue's state).

#include "conveyor/queue/work_queue.hpp"
#include "support/loopback_server.hpp"
#include "support/process.hpp"
#include "support/queue_checks.hpp"

#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace conveyor::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t kChunks = 32;
constexpr std::uint32_t kPoison = 7;

std::string expected_part(std::uint32_t chunk) {
    std::string s;
    for (int k = 0; k < 100; ++k)
        s += "chunk " + std::to_string(chunk) + " row " + std::to_string(k) + "\n";
    return s;
}

std::unique_ptr<Child> worker(const std::string& url, const std::string& out,
                              std::vector<std::string> extra) {
    std::vector<std::string> argv = {CONVEYOR_QUEUE_TEST_WORKER, url, out, "--poison",
                                     std::to_string(kPoison)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Child>(argv);
}

class QueueChaos : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Engines, QueueChaos, ::testing::Values("redis", "nats"));

TEST_P(QueueChaos, KilledPausedAndPoisonedWorkersCommitEveryGoodChunkExactlyOnce) {
    std::unique_ptr<LoopbackServer> engine = start_queue_engine(GetParam());
    const LoopbackServer& server = *engine;
    ASSERT_EQ(server.error(), "");
    TempDir dir;
    const std::string out = dir.file("out");
    ASSERT_EQ(::mkdir(out.c_str(), 0755), 0);
    const std::string url = server.url("chaos");
    std::unique_ptr<queue::WorkQueue> q = open_test_queue(url);
    ASSERT_TRUE(q);
    queue::QueueSpec spec;
    spec.pipeline = "unused";
    spec.chunks = kChunks;
    spec.lease = 1s;
    spec.max_deliveries = 3;
    ASSERT_TRUE(q->push(spec));
    const std::string gate_a = dir.file("gate-a"), gate_b = dir.file("gate-b");
    ASSERT_EQ(::mkfifo(gate_a.c_str(), 0600), 0);
    ASSERT_EQ(::mkfifo(gate_b.c_str(), 0600), 0);

    // A takes chunk 0 and B chunk 1 (one after the other) and both stop in the middle of it.
    auto killed = worker(url, out, {"--hold-first", gate_a});
    ASSERT_TRUE(killed->wait_for_stderr("holding chunk 0", 20s));
    auto paused = worker(url, out, {"--hold-first", gate_b});
    ASSERT_TRUE(paused->wait_for_stderr("holding chunk 1", 20s));
    killed->signal(SIGKILL);
    paused->signal(SIGSTOP);
    auto healthy = worker(url, out, {});

    // The healthy worker takes chunk 1 over once B's lease runs out, and commits it.
    ASSERT_TRUE(wait_until_committed(*healthy, *q, 1, kChunks, 30s))
        << "chunk 1 was not taken over after B's lease";
    // B wakes up and finishes its chunk 1 (its runner pays no attention to its heartbeat, which
    // may have heard that the lease is gone): the fence stops the commit.
    paused->signal(SIGCONT);
    { std::ofstream(gate_b).put('x'); }

    ProcessResult h = healthy->wait(60s);
    ProcessResult p = paused->wait(60s);
    EXPECT_EQ(h.exit_code, 0) << h.err;
    EXPECT_EQ(p.exit_code, 0) << p.err;
    EXPECT_NE(p.err.find("chunk 1: committed by another attempt"), std::string::npos) << p.err;

    // The queue: 31 done, the poison chunk dead with its error after 3 deliveries.
    Result<queue::QueueStatus> st = q->status();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->done, kChunks - 1);
    EXPECT_EQ(st->dead, 1u);
    EXPECT_EQ(st->in_flight + st->pending, 0u);
    auto dead = q->dead_letters();
    ASSERT_TRUE(dead);
    ASSERT_EQ(dead->size(), 1u);
    EXPECT_EQ(dead->front().chunk, kPoison);
    EXPECT_EQ(dead->front().deliveries, 3u);
    EXPECT_NE(dead->front().error.find("row 3 is poison"), std::string::npos);

    // Every good chunk committed exactly once: one part each, by the attempt the queue
    // recorded; a commit logged once in all; nothing of the resumed worker's attempt left.
    auto done = q->done();
    ASSERT_TRUE(done);
    ASSERT_EQ(done->size(), kChunks - 1);
    std::string all, single_run;
    for (const auto& [chunk, attempt] : *done) {
        const std::string part = out + "/part-" + std::to_string(chunk);
        EXPECT_EQ(read_file(part + "/manifest"), attempt + "\n") << chunk;
        all += read_file(part + "/data");
    }
    for (std::uint32_t c = 0; c < kChunks; ++c)
        if (c != kPoison) single_run += expected_part(c);
    EXPECT_EQ(all, single_run);
    EXPECT_EQ(commits_logged(h.err) + commits_logged(p.err), kChunks - 1) << h.err << p.err;
    // Chunks 0 and 1 went to the healthy worker on a later delivery.
    for (const auto& [chunk, attempt] : *done)
        if (chunk <= 1) {
            EXPECT_FALSE(attempt.ends_with("_1")) << chunk << " " << attempt;
        }
    std::vector<std::string> leftovers;
    for (const std::string& name : list_dir(out))
        if (name.starts_with(".attempt-")) leftovers.push_back(name);
    // Only the killed worker's staging of chunk 0 is left (no destructor ran there).
    ASSERT_EQ(leftovers.size(), 1u);
    EXPECT_TRUE(leftovers[0].ends_with("_1"));
}

} // namespace
} // namespace conveyor::test
