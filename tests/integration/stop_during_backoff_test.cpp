// A stop (SIGTERM) while http.fetch waits to try a request again: a server answering 429 with
// Retry-After: 100 (and max_retry_delay_ms = 60 s) used to hold the run in the wait until the
// grace period ended and aborted it ("aborted by SIGTERM"), deleting every output; in
// streaming mode what had arrived was lost. Now the wait ends at the stop: in batch mode the
// record is left for --resume (which then gets it), in streaming mode it fails for good with
// its last error and on_error decides (here: the dead-letter queue), and the run exits 143.
// Synchronisation: the server's count of answered requests, never a sleep.

#include "support/http_test_server.hpp"
#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <sstream>

namespace conveyor {
namespace {

using test::HttpTestReply;
using test::HttpTestRequest;
using test::stage_toml;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kRecords = 3;
/// Long enough that only the grace period's abort could have ended the run without the fix.
constexpr int kGraceSeconds = 40;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

/// /items/ID answers 429 with Retry-After: 100 until `healthy` is set, then 200.
void serve_items(test::HttpTestServer& server, std::shared_ptr<std::atomic<bool>> healthy) {
    server.route("/items/", [healthy](const HttpTestRequest& req) {
        if (!healthy->load()) return HttpTestReply::retry_after(429, "100");
        const std::string id = req.path.substr(req.path.rfind('/') + 1);
        return HttpTestReply::json(R"({"seen":)" + id + "}");
    });
}

std::string pipeline(const std::string& url, const std::string& executor,
                     const std::string& global) {
    return "[global]\nexecutor = \"" + executor +
           "\"\ncheckpoint_interval = 1\nstate_dir = \"state\"\nshutdown_timeout_seconds = " +
           std::to_string(kGraceSeconds) + "\n" + global + "\n" +
           stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
           stage_toml("fetch", "http.fetch", "\"items\"",
                      "url = \"" + url +
                          "/items/{{ id }}\"\nresult_field = \"detail\"\nretries = 5\n"
                          "max_retry_delay_ms = \"60s\"\nconcurrency = 4") +
           stage_toml("save", "json.write", "\"fetch\"",
                      "path = \"out.jsonl\"\nformat = \"jsonl\"");
}

/// Runs the pipeline, sends SIGTERM once every record's first request was answered (429),
/// and returns how the run ended and how long it took.
std::pair<test::ProcessResult, std::chrono::steady_clock::duration>
stop_while_waiting(const test::TempDir& dir, const test::HttpTestServer& server,
                   const std::vector<std::string>& args) {
    test::ProcessOptions o;
    o.cwd = dir.path();
    const auto t0 = std::chrono::steady_clock::now();
    auto child = test::spawn_conveyor(args, o);
    EXPECT_TRUE(server.wait_for_answered(kRecords, std::chrono::seconds(30)));
    child->signal(SIGTERM);
    auto r = child->wait();
    return {r, std::chrono::steady_clock::now() - t0};
}

class StopDuringBackoffTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StopDuringBackoffTest, BatchModeEndsTheWaitAndResumeGetsTheRecords) {
    test::HttpTestServer server;
    auto healthy = std::make_shared<std::atomic<bool>>(false);
    serve_items(server, healthy);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    const std::string previous = "{\"from\":\"the last complete run\"}\n";
    dir.write("out.jsonl", previous);
    dir.write("p.toml", pipeline(server.url(), GetParam(), ""));

    auto [r, took] = stop_while_waiting(dir, server, {"run", "p.toml"});
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, HasSubstr("interrupted by SIGTERM"));
    EXPECT_THAT(r.err, Not(HasSubstr("aborted"))) << r.err;
    EXPECT_LT(took, std::chrono::seconds(kGraceSeconds / 2)) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")), previous) << "nothing committed";

    // The records were left for --resume, which asks for them again and gets them.
    healthy->store(true);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto resumed = test::run_conveyor({"run", "p.toml", "--resume", "-q"}, o);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    const auto lines = lines_of(test::read_file(dir.file("out.jsonl")));
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(kRecords)) << resumed.err;
    for (int id = 1; id <= kRecords; ++id)
        EXPECT_THAT(lines[static_cast<std::size_t>(id - 1)],
                    HasSubstr("\"detail\":{\"seen\":" + std::to_string(id) + "}"));
}

TEST_P(StopDuringBackoffTest, StreamingModeEndsTheWaitAndDeadLettersTheRecords) {
    test::HttpTestServer server;
    auto healthy = std::make_shared<std::atomic<bool>>(false);
    serve_items(server, healthy);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    dir.write("p.toml", pipeline(server.url(), GetParam(),
                                 "execution_mode = \"streaming\"\n[error_handling]\nstrategy = "
                                 "\"continue\"\ndead_letter_queue = { enabled = true, path = "
                                 "\"dead.jsonl\" }"));

    auto [r, took] = stop_while_waiting(dir, server, {"run", "p.toml"});
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("aborted"))) << r.err;
    EXPECT_LT(took, std::chrono::seconds(kGraceSeconds / 2)) << r.err;
    // Every record is accounted for: none went out, each is a dead letter saying why.
    EXPECT_TRUE(lines_of(test::read_file(dir.file("out.jsonl"))).empty());
    const auto dead = lines_of(test::read_file(dir.file("dead.jsonl")));
    ASSERT_EQ(dead.size(), static_cast<std::size_t>(kRecords)) << r.err;
    for (const std::string& l : dead) {
        EXPECT_THAT(l, HasSubstr("HTTP 429"));
        EXPECT_THAT(l, HasSubstr("not tried again: the run was asked to stop"));
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, StopDuringBackoffTest,
                         ::testing::Values("dag", "channel", "async"));

} // namespace
} // namespace conveyor
