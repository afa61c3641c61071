// http.fetch and checkpoints: a checkpoint marker leaves the stage after every record that came
// before it and before any record after it, whatever order the responses arrive in, ordered
// or not; so a checkpoint a sink reports covers exactly the records the source had emitted.

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/journal.hpp"
#include "http_test_util.hpp"
#include "support/checkpoint_stages.hpp"
#include "support/stage_harness.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

namespace conveyor::plugins::http {
namespace {

using namespace std::chrono_literals;
using conveyor::test::HttpTestReply;
using conveyor::test::HttpTestRequest;
using conveyor::test::HttpTestServer;

class HttpFetchCheckpoints : public ::testing::TestWithParam<std::tuple<ExecutorKind, bool>> {};

TEST_P(HttpFetchCheckpoints, MarkersLeaveAfterTheRecordsBeforeThem) {
    const auto [executor, ordered] = GetParam();
    HttpTestServer server;
    // Answers come back out of order: later records of a group of 8 answer sooner.
    server.route("/users/", [](const HttpTestRequest& r) {
        const int id = std::atoi(r.path.c_str() + 7);
        HttpTestReply reply = HttpTestReply::json(R"({"ok":true})");
        reply.delay = std::chrono::milliseconds((8 - id % 8) / 2);
        return reply;
    });
    conveyor::test::TempDir dir;
    auto ledger = std::make_shared<conveyor::test::Ledger>();
    auto out = std::make_shared<conveyor::test::Output>();
    auto fetch = conveyor::test::build_stage("http.fetch",
                                             {{"url", OptionValue(server.url("/users/{{ id }}"))},
                                              {"concurrency", OptionValue(std::int64_t{8})},
                                              {"ordered", OptionValue(ordered)}});
    ASSERT_TRUE(fetch.stage) << fetch.errors();
    conveyor::test::SpecBuilder b;
    b.executor(executor).buffer(30).batch_size(10);
    b.global().checkpoint_interval = 15;
    b.global().state_dir = dir.path();
    b.stage("src", conveyor::test::count_source("src", 200, 1, ledger).stage)
        .stage("fetch", std::shared_ptr<const Stage>(std::move(fetch.stage)), {"src"})
        .stage("sink", conveyor::test::resumable_sink(out, 0, ledger), {"fetch"});
    PipelineSpec p = b.build();
    p.file = dir.write("p.toml", "# http.fetch checkpoints\n");
    auto journal = RunJournal::open(p, RunJournal::Mode::Fresh, nullptr);
    ASSERT_TRUE(journal);
    RunContext ctx;
    ctx.journal = journal->get();
    RunReport report = run_pipeline(p, ctx, RunOptions{});
    ASSERT_TRUE(report.status) << report.status.error().to_string();
    EXPECT_EQ(server.requests(), 200u);
    ASSERT_EQ(out->rows.size(), 200u);
    const auto& sink = ledger->at["sink"];
    ASSERT_GE(sink.size(), 10u) << "a checkpoint about every 15 records";
    for (const auto& [id, n] : sink)
        EXPECT_EQ(n, ledger->position("src", id)) << "checkpoint " << id;
    if (ordered) {
        for (std::size_t i = 0; i < out->rows.size(); ++i)
            EXPECT_EQ(out->rows[i], static_cast<std::int64_t>(i + 1));
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, HttpFetchCheckpoints,
                         ::testing::Combine(::testing::Values(ExecutorKind::Dag,
                                                              ExecutorKind::Channel,
                                                              ExecutorKind::Async),
                                            ::testing::Bool()),
                         [](const auto& p) {
                             return std::string(to_string(std::get<0>(p.param))) +
                                    (std::get<1>(p.param) ? "_ordered" : "_unordered");
                         });

} // namespace
} // namespace conveyor::plugins::http
