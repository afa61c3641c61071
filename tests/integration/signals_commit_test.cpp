// What a stop does to the outputs. A batch run stopped by SIGTERM/SIGINT commits nothing (the
// previous output stays byte for byte), keeps its last checkpoint and says how to continue;
// `--resume` then ends with exactly the output of an uninterrupted run. http.fetch starts no
// request after the stop. Dead letters that cannot be written (a file-size limit standing in
// for a full disk) fail the run and nothing is committed.
// The stop lands mid-run deterministically: the loopback server holds every response from some
// point on, and lets them go only after conveyor has logged that it received the signal.

#include "support/http_test_server.hpp"
#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <tuple>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kRows = 400;
constexpr std::size_t kConcurrency = 4;
const std::string kPrevious = "{\"the\":\"previous, complete output\"}\n";

std::string fetch_pipeline(const HttpTestServer& server, const std::string& executor) {
    return test::fetch_items_pipeline(server.url("/items/{{ id }}"), executor, kConcurrency);
}

void serve_items(HttpTestServer& server) {
    server.route("/items/", [](const HttpTestRequest& r) {
        return HttpTestReply::json(R"({"item":")" + r.path.substr(7) + R"(","ok":true})");
    });
}

/// The output of an uninterrupted run of the pipeline.
std::string clean_output(const std::string& executor) {
    HttpTestServer server;
    serve_items(server);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRows));
    dir.write("p.toml", fetch_pipeline(server, executor));
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor({"run", "p.toml", "-q"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return test::read_file(dir.file("out/items.jsonl"));
}

class BatchStopTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(BatchStopTest, KeepsThePreviousOutputStartsNoRequestAndResumesToTheCleanOutput) {
    const auto& [executor, sig] = GetParam();
    const std::string clean = clean_output(executor);
    ASSERT_FALSE(clean.empty());

    HttpTestServer server;
    serve_items(server);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRows));
    dir.write("p.toml", fetch_pipeline(server, executor));
    dir.write("out/items.jsonl", kPrevious);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    // Past a few checkpoints, hold every response: the run cannot get further until the
    // test lets them go, after the signal.
    ASSERT_TRUE(server.wait_for_answered(60, 60s));
    server.gate(1000, 1000000);
    ASSERT_TRUE(server.wait_for_concurrent(kConcurrency, 60s));
    child->signal(sig);
    ASSERT_TRUE(
        child->wait_for_stderr(sig == SIGINT ? "received SIGINT" : "received SIGTERM", 60s));
    const std::size_t requested_before_stop = server.requests();
    server.open_gate();
    auto r = child->wait();
    EXPECT_EQ(r.exit_code, sig == SIGINT ? 130 : 143) << r.err;
    EXPECT_EQ(server.requests(), requested_before_stop)
        << "http.fetch started requests after the stop";
    EXPECT_LT(requested_before_stop, static_cast<std::size_t>(kRows));
    EXPECT_EQ(test::read_file(dir.file("out/items.jsonl")), kPrevious)
        << "a stopped batch run must not replace the previous output";
    EXPECT_THAT(r.err, HasSubstr("conveyor run p.toml --resume")) << r.err;

    auto resumed = test::run_conveyor({"run", "p.toml", "--resume", "-q"}, o);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(test::read_file(dir.file("out/items.jsonl")), clean);
    // Requests answered before the stop came from the journal.
    EXPECT_EQ(server.requests(), static_cast<std::size_t>(kRows));
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"items.jsonl"})
        << "no temporary file left";
}

INSTANTIATE_TEST_SUITE_P(ExecutorsAndSignals, BatchStopTest,
                         ::testing::Combine(::testing::Values("dag", "channel", "async"),
                                            ::testing::Values(SIGTERM, SIGINT)));

class DeadLetterFullDiskTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DeadLetterFullDiskTest, AFailedDeadLetterWriteCommitsNothingAndSaysSo) {
    test::TempDir dir;
    // A few good rows (a small output) and many bad ones (a large dead-letter queue).
    std::string csv = "id,amount\n";
    for (int i = 1; i <= 5; ++i)
        csv += std::to_string(i) + ",100\n";
    for (int i = 6; i <= 3000; ++i)
        csv += std::to_string(i) + ",20,oops\n";
    dir.write("orders.csv", csv);
    dir.write("out/orders.jsonl", kPrevious);
    dir.write("p.toml", R"([global]
executor = ")" + GetParam() +
                            R"("

[error_handling]
strategy = "continue"
dead_letter_queue = { enabled = true, path = "dlq/failed.jsonl" }

[[stages]]
id = "orders"
function = "csv.read"
inputs = []
[stages.config]
path = "orders.csv"

[[stages]]
id = "save"
function = "json.write"
inputs = ["orders"]
[stages.config]
path = "out/orders.jsonl"
)");
    test::ProcessOptions o;
    o.cwd = dir.path();
    // The dead letters (some 400 KB) cannot be written past 64 KB: as on a full disk.
    o.file_size_limit = 64 * 1024;
    auto r = test::run_conveyor({"run", "p.toml"}, o);
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("dlq/failed.jsonl"));
    EXPECT_EQ(test::read_file(dir.file("out/orders.jsonl")), kPrevious)
        << "nothing may be committed when the dead letters cannot be written";
    EXPECT_FALSE(test::file_exists(dir.file("dlq/failed.jsonl")));
    EXPECT_THAT(r.err, Not(HasSubstr("written to the dead-letter queue"))) << r.err;
    EXPECT_THAT(r.err, HasSubstr("not written")) << r.err;
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"orders.jsonl"});
    for (const std::string& f : test::list_dir(dir.file("dlq")))
        ADD_FAILURE() << "left in dlq/: " << f;

    // With room, the same run commits both.
    o.file_size_limit.reset();
    auto ok = test::run_conveyor({"run", "p.toml"}, o);
    EXPECT_EQ(ok.exit_code, 3) << ok.err;
    EXPECT_THAT(ok.err,
                HasSubstr("2995 records written to the dead-letter queue dlq/failed.jsonl"));
    EXPECT_TRUE(test::file_exists(dir.file("dlq/failed.jsonl")));
    EXPECT_NE(test::read_file(dir.file("out/orders.jsonl")), kPrevious);
}

INSTANTIATE_TEST_SUITE_P(Executors, DeadLetterFullDiskTest,
                         ::testing::Values("dag", "channel", "async"));

} // namespace
} // namespace conveyor
