// `conveyor worker` under chaos, with real processes, a real queue engine on 127.0.0.1 (Redis
// and NATS, one run each) and a W1-like pipeline: csv.read -> filter.apply -> http.fetch (a
// loopback server of the test's) -> json.write, over 32 chunks of 100 rows. Three workers: A is
// killed with SIGKILL in the middle of its chunk, B is stopped with SIGSTOP in the middle of
// its chunk until another worker committed that chunk, then resumed; chunk 7 has a malformed
// row and fails every time. Workers are caught mid-chunk without timing: the fetch of a chosen
// row of chunk 0 never gets an answer, and that of chunk 1 is answered only after one more
// request reaches the server (http.fetch sends one at a time), which only the third worker,
// started after B is stopped, sends.
//
// What "identical to a single run" means with a poison chunk: the chunk's part is never
// committed, so `conveyor finalize` refuses (66, naming the part) rather than write an output
// without those rows; the committed parts together are byte for byte the output of one
// `conveyor run` over the input less the poison chunk's rows; and once the operator runs the
// poison chunk again with the bad row skipped (`--shard 7/32 --set
// error_handling.strategy=continue`), finalize writes exactly what one `conveyor run` with that
// setting writes.

#include "conveyor/queue/work_queue.hpp"
#include "support/http_test_server.hpp"
#include "support/loopback_server.hpp"
#include "support/process.hpp"
#include "support/queue_checks.hpp"

#include <csignal>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr int kChunks = 32;
constexpr int kRows = 100; ///< per chunk
constexpr int kPoison = 7;

int amount(int row) {
    return row * 37 % 1000;
}
std::string id(int row) {
    return fmt::format("{:06}", row);
}
/// The first row of `chunk` that passes the filter (amount >= 500), whose fetch is held.
int first_kept(int chunk) {
    for (int r = chunk * kRows;; ++r)
        if (amount(r) >= 500) return r;
}

/// Rows of the same width, so that byte ranges cut the file at chunk * kRows exactly; row 3 of
/// the poison chunk has a fourth field. `skip` leaves a chunk out.
std::string input_csv(int skip) {
    std::string s = "id,amount,tag\n";
    for (int r = 0; r < kChunks * kRows; ++r) {
        if (r / kRows == skip) continue;
        const bool poison = r == kPoison * kRows + 3;
        s += fmt::format("{},{:03},{}\n", id(r), amount(r), poison ? "ab,c" : "abcd");
    }
    return s;
}

std::string pipeline(const TempDir& dir, const HttpTestServer& http,
                     const std::string& global = "") {
    return fmt::format(R"([pipeline]
name = "w1q"
{}
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "{}"
[[stages]]
id = "keep"
function = "filter.apply"
inputs = ["load"]
[stages.config]
column = "amount"
operator = ">="
value = 500
[[stages]]
id = "fetch"
function = "http.fetch"
inputs = ["keep"]
[stages.config]
url = "{}/v/{{{{ id }}}}"
concurrency = 1
[[stages]]
id = "save"
function = "json.write"
inputs = ["fetch"]
[stages.config]
path = "{}"
)",
                       global, dir.file("in.csv"), http.url(), dir.file("out.jsonl"));
}

std::string part(const TempDir& dir, int chunk) {
    return dir.file(fmt::format("out.part-{:05}-of-{:05}.jsonl", chunk, kChunks));
}

class QueueWorker : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Engines, QueueWorker, ::testing::Values("redis", "nats"));

TEST_P(QueueWorker, KilledPausedAndPoisonedWorkersCommitEveryGoodChunkOnceAndFinalizeAsOneRun) {
    std::unique_ptr<LoopbackServer> engine = start_queue_engine(GetParam());
    ASSERT_EQ(engine->error(), "");
    HttpTestServer http;
    const std::string hang = "/v/" + id(first_kept(0)), hold = "/v/" + id(first_kept(1));
    std::map<std::string, int> seen; // handlers run one at a time
    http.route("/v/", [&](const HttpTestRequest& req) {
        HttpTestReply reply = HttpTestReply::json("{\"v\":\"" + req.path.substr(3) + "\"}");
        const int n = seen[req.path]++;
        if (req.path == hang && n == 0) return HttpTestReply::hang();
        if (req.path == hold && n == 0) reply.hold_until_requests = req.index + 2;
        return reply;
    });
    TempDir dir;
    dir.write("in.csv", input_csv(-1));
    const std::string p = dir.write("p.toml", pipeline(dir, http));
    const std::string url = engine->url("w1");
    auto pushed = run_conveyor({"queue", "push", p, "--chunks", std::to_string(kChunks), "--queue",
                                url, "--lease", "1s", "--max-deliveries", "3"});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
    ProcessOptions in_dir;
    in_dir.cwd = dir.path();
    const std::vector<std::string> worker = {"worker", "--queue", url, "--exit-when-empty"};

    auto a = spawn_conveyor(worker, in_dir);
    ASSERT_TRUE(http.wait_for_concurrent(1, 20s)) << "A never reached its chunk's held row";
    auto b = spawn_conveyor(worker, in_dir);
    ASSERT_TRUE(http.wait_for_concurrent(2, 20s)) << "B never reached its chunk's held row";
    a->signal(SIGKILL);
    b->signal(SIGSTOP);
    auto c = spawn_conveyor(worker, in_dir);

    // C takes chunks 0 and 1 over once A's and B's leases run out; then B goes on.
    std::unique_ptr<queue::WorkQueue> q = open_test_queue(url);
    ASSERT_TRUE(q);
    ASSERT_TRUE(wait_until_committed(*c, *q, 1, kChunks, 60s))
        << "chunk 1 was not taken over after B's lease";
    b->signal(SIGCONT);
    ProcessResult rc = c->wait(60s), rb = b->wait(60s);
    EXPECT_EQ(rc.exit_code, 0) << rc.err;
    EXPECT_EQ(rb.exit_code, 0) << rb.err;
    EXPECT_THAT(rb.err, HasSubstr("chunk 1: committed by another attempt"));

    // The queue: every good chunk done once, the poison chunk dead with its error.
    auto st = q->status();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->done, kChunks - 1u);
    EXPECT_EQ(st->dead, 1u);
    EXPECT_EQ(st->in_flight + st->pending, 0u);
    auto dead = q->dead_letters();
    ASSERT_TRUE(dead);
    ASSERT_EQ(dead->size(), 1u);
    EXPECT_EQ(dead->front().chunk, static_cast<std::uint32_t>(kPoison));
    EXPECT_EQ(dead->front().deliveries, 3u);
    EXPECT_THAT(dead->front().error, HasSubstr("chunk 7 of 32 failed (exit 65)"));
    EXPECT_THAT(dead->front().error, HasSubstr("fields"));
    auto done = q->done();
    ASSERT_TRUE(done);
    ASSERT_EQ(done->size(), kChunks - 1u);
    EXPECT_EQ(commits_logged(rb.err) + commits_logged(rc.err), kChunks - 1) << rb.err << rc.err;

    // Each good chunk's part is there once, its manifest naming the attempt the queue recorded
    // (chunks 0 and 1 on a later delivery); the parts together are one run over the input less
    // the poison chunk.
    std::string parts;
    for (const auto& [chunk, attempt] : *done) {
        EXPECT_THAT(read_file(part(dir, static_cast<int>(chunk)) + ".manifest"),
                    HasSubstr("attempt " + attempt))
            << chunk;
        if (chunk <= 1) {
            EXPECT_FALSE(attempt.ends_with("_1")) << chunk << " " << attempt;
        }
        parts += read_file(part(dir, static_cast<int>(chunk)));
    }
    EXPECT_FALSE(file_exists(part(dir, kPoison)));
    dir.write("without-7.csv", input_csv(kPoison));
    auto single = run_conveyor({"run", p, "-q", "--set",
                                "stages.load.path=\"" + dir.file("without-7.csv") + "\"", "--set",
                                "stages.save.path=\"" + dir.file("single.jsonl") + "\""});
    ASSERT_EQ(single.exit_code, 0) << single.err;
    EXPECT_EQ(parts, read_file(dir.file("single.jsonl")));

    // finalize will not write an output without chunk 7; once it is run again with the bad row
    // skipped, it writes what one run with that setting writes.
    auto refused = run_conveyor({"finalize", p});
    EXPECT_EQ(refused.exit_code, 66) << refused.err;
    EXPECT_THAT(refused.err, HasSubstr("part-00007-of-00032"));
    const std::string skip_bad = "error_handling.strategy=\"continue\"";
    auto repaired = run_conveyor({"run", p, "-q", "--shard", "7/32", "--set", skip_bad});
    EXPECT_EQ(repaired.exit_code, 3) << repaired.err;
    auto finalized = run_conveyor({"finalize", p});
    ASSERT_EQ(finalized.exit_code, 0) << finalized.err;
    auto whole = run_conveyor({"run", p, "-q", "--set", skip_bad, "--set",
                               "stages.save.path=\"" + dir.file("whole.jsonl") + "\""});
    EXPECT_EQ(whole.exit_code, 3) << whole.err;
    EXPECT_EQ(read_file(dir.file("out.jsonl")), read_file(dir.file("whole.jsonl")));
    EXPECT_GT(read_file(dir.file("out.jsonl")).size(), parts.size())
        << "chunk 7's good rows are in the output";
}

TEST_P(QueueWorker, SigtermAbandonsTheChunkInHandWhichAnotherWorkerThenCommits) {
    std::unique_ptr<LoopbackServer> engine = start_queue_engine(GetParam());
    ASSERT_EQ(engine->error(), "");
    HttpTestServer http;
    const std::string hang = "/v/" + id(first_kept(0));
    bool hung = false;
    http.route("/v/", [&](const HttpTestRequest& req) {
        if (req.path == hang && !hung) {
            hung = true;
            return HttpTestReply::hang();
        }
        return HttpTestReply::json("{\"v\":\"" + req.path.substr(3) + "\"}");
    });
    TempDir dir;
    dir.write("in.csv", input_csv(kPoison)); // 31 good chunks' rows: chunks of 4 here
    // The fetch in flight is given up half a second after the signal.
    const std::string p =
        dir.write("p.toml", pipeline(dir, http, "[global]\nshutdown_timeout_seconds = 0.5"));
    const std::string url = engine->url("stop");
    ASSERT_EQ(run_conveyor({"queue", "push", p, "--chunks", "4", "--queue", url, "--lease", "1s"})
                  .exit_code,
              0);
    ProcessOptions in_dir;
    in_dir.cwd = dir.path();
    const std::vector<std::string> worker = {"worker", "--queue", url, "--exit-when-empty"};
    auto stopped = spawn_conveyor(worker, in_dir);
    ASSERT_TRUE(http.wait_for_concurrent(1, 20s));
    stopped->signal(SIGTERM);
    ProcessResult r = stopped->wait(30s);
    // The run stops (here by its shutdown timeout, the fetch being stuck) and the worker with
    // it, leaving nothing of chunk 0: no part, no staged file, no temporary file.
    EXPECT_EQ(r.exit_code, 143) << r.err;
    for (const std::string& name : list_dir(dir.path()))
        EXPECT_EQ(name.find("part-00000"), std::string::npos) << name;

    ProcessResult other = run_conveyor(worker, in_dir);
    EXPECT_EQ(other.exit_code, 0) << other.err;
    std::unique_ptr<queue::WorkQueue> q = open_test_queue(url);
    ASSERT_TRUE(q);
    auto done = q->done();
    ASSERT_TRUE(done);
    ASSERT_EQ(done->size(), 4u);
    EXPECT_TRUE(done->front().second.ends_with("_2")) << done->front().second;
    ASSERT_EQ(run_conveyor({"finalize", p}).exit_code, 0);
    auto single = run_conveyor(
        {"run", p, "-q", "--set", "stages.save.path=\"" + dir.file("single.jsonl") + "\""});
    ASSERT_EQ(single.exit_code, 0) << single.err;
    EXPECT_EQ(read_file(dir.file("out.jsonl")), read_file(dir.file("single.jsonl")));
}

} // namespace
} // namespace conveyor::test
