// http.fetch through real pipelines under every executor: order, concurrency, connection
// reuse, pulling input across batches, chained stages, graceful stop and cancellation.

#include "plugins/http/http_test_util.hpp"

#include <gtest/gtest.h>
#include <set>
#include <thread>
#include <unistd.h>

namespace conveyor::plugins::http {
namespace {

using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using namespace test_util;
using std::chrono::milliseconds;

std::string url_line(const HttpTestServer& s, const std::string& path = "/users/{{ id }}") {
    return "url = \"" + s.url(path) + "\"\n";
}

/// Answers /users/N with {"user":N}.
void route_users(HttpTestServer& s, std::function<void(int, HttpTestReply&)> tweak = {}) {
    s.route("/users/", [tweak](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        HttpTestReply reply = HttpTestReply::json("{\"user\":" + std::to_string(id) + "}");
        if (tweak) tweak(id, reply);
        return reply;
    });
}

std::string expected_line(int id) {
    return "{\"id\":" + std::to_string(id) + ",\"name\":\"n" + std::to_string(id) +
           "\",\"http_result\":{\"user\":" + std::to_string(id) + "}}";
}

class HttpFetchFlow : public ::testing::TestWithParam<ExecutorKind> {};

TEST_P(HttpFetchFlow, OrderedOutputKeepsInputOrderWhateverTheCompletionOrder) {
    HttpTestServer server;
    // Later records answer sooner: completion order is roughly the reverse of input order.
    route_users(server,
                [](int id, HttpTestReply& r) { r.delay = milliseconds{(40 - id % 40) / 4}; });
    PipelineFixture fx(120);
    Outcome o = fx.run(fx.pipeline(GetParam(), url_line(server) + "concurrency = 8\n"));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 120u);
    for (int i = 1; i <= 120; ++i)
        EXPECT_EQ(o.lines[static_cast<std::size_t>(i - 1)], expected_line(i));
    expect_accounting(o, 120);
    EXPECT_EQ(records_ok(o), 120u);
    EXPECT_EQ(o.http().requests.value(), 120u);
    EXPECT_EQ(o.http().responses(200).value(), 120u);
}

TEST_P(HttpFetchFlow, UnorderedOutputLetsASlowRecordFinishLast) {
    HttpTestServer server;
    // Record 1 is answered only after all 40 requests have arrived: with ordered = false most
    // of the others are emitted before it (with ordered = true it still comes first).
    route_users(server, [](int id, HttpTestReply& r) {
        if (id == 1) r.hold_until_requests = 40;
    });
    PipelineFixture fx(40);
    Outcome o =
        fx.run(fx.pipeline(GetParam(), url_line(server) + "concurrency = 4\nordered = false\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 40u);
    const auto first = std::find(o.lines.begin(), o.lines.end(), expected_line(1));
    ASSERT_NE(first, o.lines.end());
    // Records 2..36 completed (and were flushed, 4 at a time) while record 1 was held; only
    // the last ones can share its final flush, where records go in input order.
    EXPECT_GE(first - o.lines.begin(), 30);
    std::set<std::string> got(o.lines.begin(), o.lines.end());
    for (int i = 1; i <= 40; ++i)
        EXPECT_TRUE(got.count(expected_line(i))) << i;
    expect_accounting(o, 40);

    HttpTestServer server2;
    route_users(server2, [](int id, HttpTestReply& r) {
        if (id == 1) r.hold_until_requests = 40;
    });
    Outcome ordered = fx.run(fx.pipeline(GetParam(), url_line(server2) + "concurrency = 4\n"));
    ASSERT_TRUE(ordered.report.status);
    ASSERT_EQ(ordered.lines.size(), 40u);
    EXPECT_EQ(ordered.lines.front(), expected_line(1));
}

TEST_P(HttpFetchFlow, ExactlyConcurrencyRequestsInFlightOverReusedConnections) {
    HttpTestServer server;
    route_users(server);
    // Hold requests until 8 are in flight: a client that never reaches 8 would hang here
    // (bounded by [global] timeout_seconds), one that exceeds 8 shows it in max_concurrent.
    server.gate(8, 100);
    PipelineFixture fx(100);
    // Small batches: the stage must keep reading the next batch while the previous one's
    // requests are still in flight, or the tail of each batch could never reach 8.
    Outcome o =
        fx.run(fx.pipeline(GetParam(), url_line(server) + "concurrency = 8\n",
                           "batch_size = 10\nchannel_buffer_size = 10\ntimeout_seconds = 60\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(o.lines.size(), 100u);
    // In flight at once, as the server saw them: exactly `concurrency`.
    EXPECT_EQ(server.max_concurrent(), 8u);
    EXPECT_LE(server.connections_opened(), 8u);
    EXPECT_GE(server.connections_opened(), 1u);
    EXPECT_EQ(server.requests(), 100u);
    EXPECT_EQ(o.http().requests.value(), 100u);
    expect_accounting(o, 100);
}

TEST_P(HttpFetchFlow, GlobalConcurrencyAppliesAndTheStageOptionOverridesIt) {
    HttpTestServer server;
    route_users(server);
    server.gate(3, 30);
    PipelineFixture fx(30);
    Outcome o = fx.run(
        fx.pipeline(GetParam(), url_line(server), "concurrency = 3\ntimeout_seconds = 60\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(server.max_concurrent(), 3u);

    HttpTestServer server2;
    route_users(server2);
    server2.gate(6, 30);
    Outcome o2 = fx.run(fx.pipeline(GetParam(), url_line(server2) + "concurrency = 6\n",
                                    "concurrency = 3\ntimeout_seconds = 60\n"));
    ASSERT_TRUE(o2.report.status) << o2.report.status.error().to_string();
    EXPECT_EQ(server2.max_concurrent(), 6u);
}

TEST_P(HttpFetchFlow, TwoChainedFetchStages) {
    HttpTestServer server;
    server.route("/profile/", [](const HttpTestRequest& r) {
        return HttpTestReply::json("{\"p\":\"" + r.path.substr(9) + "\"}");
    });
    server.route("/orders/", [](const HttpTestRequest& r) {
        return HttpTestReply::json("[" + r.path.substr(8) + "]");
    });
    PipelineFixture fx(25);
    std::string text = fx.pipeline(GetParam(), url_line(server, "/profile/{{ id }}") +
                                                   "result_field = \"profile\"\nconcurrency = 4\n");
    // Insert a second fetch between "fetch" and "save".
    const std::string save = "[[stages]]\nid = \"save\"";
    text.replace(text.find(save), save.size(),
                 "[[stages]]\nid = \"orders\"\nfunction = \"http.fetch\"\ninputs = [\"fetch\"]\n"
                 "[stages.config]\n" +
                     url_line(server, "/orders/{{ profile.p }}") +
                     "result_field = \"orders\"\nconcurrency = 4\n\n" + save);
    text.replace(text.find("inputs = [\"fetch\"]\n[stages.config]\npath"), 18,
                 "inputs = [\"orders\"]");
    Outcome o = fx.run(text);
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 25u);
    EXPECT_EQ(o.lines[6], R"({"id":7,"name":"n7","profile":{"p":"7"},"orders":[7]})");
    EXPECT_EQ(server.requests(), 50u);
}

TEST_P(HttpFetchFlow, CancellationAbortsHangingRequestsPromptly) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::hang(); });
    PipelineFixture fx(50);
    const std::string text =
        fx.pipeline(GetParam(), url_line(server) + "concurrency = 4\ntimeout_ms = 600000\n");
    Outcome o = fx.run(text, [&](RunContext& ctx) {
        // Once four requests hang, a sibling failure cancels the run (as settle_stage does).
        ASSERT_TRUE(server.wait_for_concurrent(4, milliseconds{30000}));
        ctx.cancel(Error(ErrorKind::Data, "a sibling stage failed", {}, "sibling"));
    });
    ASSERT_FALSE(o.report.status);
    EXPECT_EQ(o.report.status.error().message, "a sibling stage failed");
    EXPECT_LT(o.report.wall, std::chrono::seconds{30}); // not the 600 s request timeout
    EXPECT_FALSE(o.output_exists);                      // the sink rolled back
    ASSERT_NE(o.fetch, nullptr);
    // Four in flight, and never more: four requests sent in all, none answered.
    EXPECT_EQ(server.max_concurrent(), 4u);
    EXPECT_EQ(o.http().requests.value(), 4u);
    EXPECT_EQ(o.fetch->records_out.load(), 0u);
    expect_accounting(o, o.fetch->records_in.load());
}

TEST_P(HttpFetchFlow, AFailingSiblingStageEndsTheRunWhileRequestsHang) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::hang(); });
    PipelineFixture fx(20);
    const std::string bad_json = fx.dir().write("bad.json", "[{\"a\":1},{\"a\":]");
    std::string text =
        fx.pipeline(GetParam(), url_line(server) + "concurrency = 4\ntimeout_ms = 600000\n");
    text += "\n[[stages]]\nid = \"broken\"\nfunction = \"json.read\"\ninputs = "
            "[]\n[stages.config]\npath = \"" +
            bad_json + "\"\n";
    text += "\n[[stages]]\nid = \"sink2\"\nfunction = \"json.write\"\ninputs = "
            "[\"broken\"]\n[stages.config]\npath = \"" +
            fx.dir().file("other.json") + "\"\n";
    Outcome o = fx.run(text);
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_FALSE(o.report.status);
    EXPECT_EQ(o.report.status.error().kind, ErrorKind::Data) << o.report.status.error().to_string();
    EXPECT_EQ(o.report.status.error().stage, "broken");
    EXPECT_LT(o.report.wall, std::chrono::seconds{30});
    EXPECT_FALSE(o.output_exists);
}

// Streaming mode: a stop drains everything that arrived and commits it. (Batch mode is below:
// until issue 13 this test ran in batch mode, where every record already read was requested.)
TEST_P(HttpFetchFlow, GracefulStopInStreamingModeFinishesRequestsInFlight) {
    HttpTestServer server;
    route_users(server);
    server.gate(3, 1000000); // with concurrency = 2 nothing is answered until open_gate()
    PipelineFixture fx(1000);
    const std::string text =
        fx.pipeline(GetParam(), url_line(server) + "concurrency = 2\n",
                    "batch_size = 10\nchannel_buffer_size = 10\nexecution_mode = \"streaming\"\n");
    Outcome o = fx.run(text, [&](RunContext& ctx) {
        ASSERT_TRUE(server.wait_for_concurrent(2, milliseconds{30000}));
        ctx.request_stop(); // sources end early; what is in flight must still come out
        server.open_gate();
    });
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_NE(o.fetch, nullptr);
    // Every record the stage received was fetched and written, none abandoned or nulled.
    EXPECT_EQ(o.lines.size(), o.fetch->records_in.load());
    EXPECT_EQ(records_ok(o), o.fetch->records_in.load());
    EXPECT_EQ(o.fetch->records_pending.load(), 0u);
    EXPECT_GE(o.lines.size(), 2u);
    for (std::size_t i = 0; i < o.lines.size(); ++i)
        EXPECT_EQ(o.lines[i], expected_line(static_cast<int>(i + 1)));
    // (A stopped source still passes on what it had read: this small file was read at once,
    // so every record may come through; what matters is that none is lost or half-done.)
    expect_accounting(o, o.lines.size());
}

// Batch mode: after a stop no request starts (those in flight finish), the records not
// requested are accounted as unfinished, and no output is committed (a resume requests them).
TEST_P(HttpFetchFlow, GracefulStopInBatchModeStartsNoNewRequest) {
    HttpTestServer server;
    route_users(server);
    server.gate(3, 1000000); // with concurrency = 2 nothing is answered until open_gate()
    PipelineFixture fx(1000);
    const std::string text = fx.pipeline(GetParam(), url_line(server) + "concurrency = 2\n",
                                         "batch_size = 10\nchannel_buffer_size = 10\n");
    std::size_t requested_at_stop = 0;
    Outcome o = fx.run(text, [&](RunContext& ctx) {
        ASSERT_TRUE(server.wait_for_concurrent(2, milliseconds{30000}));
        ctx.request_stop();
        requested_at_stop = server.requests();
        server.open_gate();
    });
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(requested_at_stop, 2u);
    EXPECT_EQ(server.requests(), requested_at_stop) << "requests started after the stop";
    ASSERT_NE(o.fetch, nullptr);
    EXPECT_EQ(records_ok(o), 2u);
    EXPECT_EQ(o.fetch->records_pending.load(), o.fetch->records_in.load() - 2);
    EXPECT_FALSE(o.output_exists) << "a stopped batch run commits no output";
}

// The rates of the progress line and summary count records finished: records http.fetch took
// but never got a response for are still pending, not finished.
TEST_P(HttpFetchFlow, RecordsWaitingForAResponseAreNotCountedAsFinished) {
    HttpTestServer server;
    route_users(server);
    server.gate(3, 1000000); // with concurrency = 2 nothing is answered until open_gate()
    PipelineFixture fx(1000);
    const std::string text = fx.pipeline(GetParam(), url_line(server) + "concurrency = 2\n",
                                         "batch_size = 10\nchannel_buffer_size = 10\n");
    Outcome o = fx.run(text, [&](RunContext& ctx) {
        ASSERT_TRUE(server.wait_for_concurrent(2, milliseconds{30000}));
        ctx.request_stop();
        server.open_gate();
    });
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    const StageMetrics* m = o.metrics->find("fetch");
    ASSERT_NE(m, nullptr);
    ASSERT_GT(m->records_in.load(), 2u);
    // Two were fetched; the rest were taken in and never requested.
    EXPECT_EQ(m->records_pending.load(), m->records_in.load() - 2);
}

/// on_error = "fail" must end the stage even while its reader waits for more input from an
/// upstream that has nothing to give (a stdin that stays open).
class HttpFetchStalledInput : public ::testing::TestWithParam<ExecutorKind> {};

TEST_P(HttpFetchStalledInput, FailEndsTheRunWhileUpstreamIsStalled) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::status_only(404); });
    PipelineFixture fx;
    std::string text = fx.pipeline(GetParam(), url_line(server) + "on_error = \"fail\"\n",
                                   "execution_mode = \"streaming\"\n");
    const std::size_t p = text.find(fx.dir().file("input.csv"));
    text.replace(p, fx.dir().file("input.csv").size(), "-");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string rows = "id,name\n1,n1\n2,n2\n";
    ASSERT_EQ(::write(fds[1], rows.data(), rows.size()), static_cast<ssize_t>(rows.size()));
    Outcome o = fx.run(text, {}, [&](RunContext& ctx) { ctx.stdin_fd = fds[0]; });
    ::close(fds[1]);
    ::close(fds[0]);
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_FALSE(o.report.status);
    EXPECT_EQ(o.report.status.error().kind, ErrorKind::Runtime)
        << o.report.status.error().to_string();
    EXPECT_NE(o.report.status.error().message.find("HTTP 404"), std::string::npos);
    EXPECT_EQ(o.report.status.error().stage, "fetch");
}

INSTANTIATE_TEST_SUITE_P(StreamingExecutors, HttpFetchStalledInput,
                         ::testing::Values(ExecutorKind::Channel, ExecutorKind::Async),
                         [](const ::testing::TestParamInfo<ExecutorKind>& p) {
                             return executor_name(p.param);
                         });

INSTANTIATE_TEST_SUITE_P(Executors, HttpFetchFlow,
                         ::testing::Values(ExecutorKind::Dag, ExecutorKind::Channel,
                                           ExecutorKind::Async),
                         [](const ::testing::TestParamInfo<ExecutorKind>& p) {
                             return executor_name(p.param);
                         });

} // namespace
} // namespace conveyor::plugins::http
