#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/obs/metrics.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"
#include "support/test_stages.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <thread>

namespace conveyor {
namespace {

using test::Collected;
using test::SpecBuilder;

class ExecutorTest : public ::testing::TestWithParam<ExecutorKind> {
protected:
    SpecBuilder builder() {
        SpecBuilder b;
        b.executor(GetParam()).buffer(100).batch_size(64);
        return b;
    }
    RunReport run(const PipelineSpec& p, MetricsRegistry* metrics = nullptr) {
        RunContext ctx;
        RunOptions o;
        o.metrics = metrics;
        return run_pipeline(p, ctx, o);
    }
    static std::vector<std::string> sorted(std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    }
    static std::vector<std::string> expected_rows(std::size_t n, std::int64_t offset = 0) {
        std::vector<std::string> v;
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t id = offset + static_cast<std::int64_t>(i);
            v.push_back("id=" + std::to_string(id) + ";group=g" + std::to_string(i % 3) +
                        ";value=" + std::to_string(id * 10));
        }
        return v;
    }
};

TEST_P(ExecutorTest, LinearPipelineDeliversEveryRecordInOrder) {
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .stage("src", test::memory_source(5000))
                 .stage("sink", test::collect_sink(out), {"src"})
                 .build();
    MetricsRegistry m;
    RunReport r = run(p, &m);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_TRUE(out->finished);
    EXPECT_EQ(out->rows, expected_rows(5000));
    EXPECT_EQ(m.find("src")->records_out.load(), 5000u);
    EXPECT_EQ(m.find("sink")->records_in.load(), 5000u);
}

TEST_P(ExecutorTest, FanOutBroadcastsEveryRecordToEveryConsumer) {
    auto a = std::make_shared<Collected>();
    auto b = std::make_shared<Collected>();
    auto c = std::make_shared<Collected>();
    auto p = builder()
                 .stage("src", test::memory_source(3000))
                 .stage("a", test::collect_sink(a), {"src"})
                 .stage("b", test::collect_sink(b), {"src"})
                 .stage("c", test::collect_sink(c), {"src"})
                 .build();
    RunReport r = run(p);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_EQ(a->rows, expected_rows(3000));
    EXPECT_EQ(b->rows, expected_rows(3000));
    EXPECT_EQ(c->rows, expected_rows(3000));
}

TEST_P(ExecutorTest, FanInReceivesEveryRecordOfEveryInput) {
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .stage("left", test::memory_source(2000, 3, 0))
                 .stage("right", test::memory_source(1500, 3, 100000))
                 .stage("sink", test::collect_sink(out), {"left", "right"})
                 .build();
    RunReport r = run(p);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    auto want = expected_rows(2000);
    auto more = expected_rows(1500, 100000);
    want.insert(want.end(), more.begin(), more.end());
    EXPECT_EQ(sorted(out->rows), sorted(want));
    if (GetParam() == ExecutorKind::Dag) {
        EXPECT_EQ(out->rows, want) << "dag concatenates in input order";
    }
}

TEST_P(ExecutorTest, DiamondWithFanOutAndFanInCompletes) {
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .stage("src", test::memory_source(4000))
                 .stage("x", test::failing_transform(1000000), {"src"})
                 .stage("y", test::failing_transform(1000000), {"src"})
                 .stage("sink", test::collect_sink(out), {"x", "y"})
                 .build();
    RunReport r = run(p);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    auto want = expected_rows(4000);
    const auto twice = want;
    want.insert(want.end(), twice.begin(), twice.end());
    EXPECT_EQ(sorted(out->rows), sorted(want));
}

TEST_P(ExecutorTest, StopStrategyFailsTheRunNamingTheStage) {
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .stage("src", test::memory_source(10000))
                 .stage("bad", test::failing_transform(3, ErrorKind::Data), {"src"})
                 .stage("sink", test::collect_sink(out), {"bad"})
                 .build();
    RunReport r = run(p);
    ASSERT_FALSE(r.status);
    EXPECT_EQ(r.status.error().kind, ErrorKind::Data);
    EXPECT_EQ(r.status.error().stage, "bad");
    EXPECT_NE(r.status.error().to_string().find("injected failure on batch 3"), std::string::npos);
    EXPECT_EQ(r.exit_code(), 65);
    EXPECT_FALSE(out->finished) << "a sink must not finish (commit) a failed run";
    EXPECT_TRUE(out->aborted);
}

TEST_P(ExecutorTest, FailingStageCancelsAnEndlessSourcePromptly) {
    // The source would run for hours; only cancellation can end this run.
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .stage("endless", test::memory_source(std::size_t{1} << 50))
                 .stage("bad", test::failing_transform(5, ErrorKind::Runtime), {"endless"})
                 .stage("sink", test::collect_sink(out), {"bad"})
                 .build();
    RunReport r = run(p);
    ASSERT_FALSE(r.status);
    EXPECT_EQ(r.status.error().stage, "bad");
    EXPECT_EQ(r.exit_code(), 1);
}

TEST_P(ExecutorTest, ContinueStrategyIsolatesAFailingBranch) {
    auto good = std::make_shared<Collected>();
    auto after_bad = std::make_shared<Collected>();
    auto p = builder()
                 .strategy(ErrorStrategy::Continue)
                 .stage("src", test::memory_source(3000))
                 .stage("bad", test::failing_transform(2, ErrorKind::Data), {"src"})
                 .stage("after_bad", test::collect_sink(after_bad), {"bad"})
                 .stage("good", test::collect_sink(good), {"src"})
                 .build();
    RunReport r = run(p);
    EXPECT_TRUE(r.status);
    EXPECT_TRUE(r.completed_with_failures);
    EXPECT_EQ(r.exit_code(), 3);
    EXPECT_EQ(good->rows, expected_rows(3000)) << "the sibling sink runs to completion";
    EXPECT_TRUE(good->finished);
    EXPECT_TRUE(after_bad->finished) << "dependants of a failed stage see their input end";
    EXPECT_LE(after_bad->rows.size(), 64u) << "only the batch before the failure got through";
    auto failed = std::count_if(r.stages.begin(), r.stages.end(), [](auto& s) { return s.failed; });
    EXPECT_EQ(failed, 1);
}

TEST_P(ExecutorTest, OpenFailureStopsTheRunWithItsExitCode) {
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .stage("missing", test::failing_source(ErrorKind::NoInput))
                 .stage("sink", test::collect_sink(out), {"missing"})
                 .build();
    RunReport r = run(p);
    ASSERT_FALSE(r.status);
    EXPECT_EQ(r.status.error().stage, "missing");
    EXPECT_EQ(r.exit_code(), 66);
}

TEST_P(ExecutorTest, OpenFailureUnderContinueLetsOtherBranchesRun) {
    auto a = std::make_shared<Collected>();
    auto b = std::make_shared<Collected>();
    auto p = builder()
                 .strategy(ErrorStrategy::Continue)
                 .stage("missing", test::failing_source(ErrorKind::NoInput))
                 .stage("ok", test::memory_source(500))
                 .stage("a", test::collect_sink(a), {"missing"})
                 .stage("b", test::collect_sink(b), {"ok"})
                 .build();
    RunReport r = run(p);
    EXPECT_TRUE(r.status);
    EXPECT_EQ(r.exit_code(), 3);
    EXPECT_TRUE(a->finished);
    EXPECT_TRUE(a->rows.empty());
    EXPECT_EQ(b->rows.size(), 500u);
}

TEST_P(ExecutorTest, TimeoutCancelsTheRun) {
    auto p = builder()
                 .stage("src", test::memory_source(1000))
                 .stage("stuck", test::blocking_sink(), {"src"})
                 .build();
    p.global.timeout_seconds = 0.2;
    RunReport r = run(p);
    ASSERT_FALSE(r.status);
    EXPECT_EQ(r.status.error().kind, ErrorKind::Timeout);
    EXPECT_EQ(r.exit_code(), 75);
}

TEST_P(ExecutorTest, GracefulStopEndsSourcesAndFinishesSinks) {
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .stage("endless", test::memory_source(std::size_t{1} << 50))
                 .stage("sink", test::collect_sink(out), {"endless"})
                 .build();
    RunContext ctx;
    MetricsRegistry m;
    RunOptions o;
    o.metrics = &m;
    RunReport r;
    std::thread t([&] { r = run_pipeline(p, ctx, o); });
    // Wait until records reach the sink, then ask for a graceful stop.
    for (;;) {
        StageMetrics* s = m.find("sink");
        if (s && s->records_in.load() > 0) break;
        if (s)
            s->state.wait(s->state.load());
        else
            std::this_thread::yield();
    }
    ctx.request_stop();
    t.join();
    EXPECT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_TRUE(out->finished);
    EXPECT_GT(out->rows.size(), 0u);
    EXPECT_EQ(m.find("sink")->records_in.load(), m.find("endless")->records_out.load())
        << "records in flight drained into the sink";
}

TEST_P(ExecutorTest, SatisfiedSinksEndAnEndlessRun) {
    // `| head`: a sink that wants no more input stops being fed, its producers stop sending,
    // and a source whose consumers are all satisfied stops reading. Only that ends this run.
    // Under dag a fork is a level barrier (an endless source would never end its level), so
    // there the source feeds one chain; the streaming executors also feed a second sink.
    const bool fork = GetParam() != ExecutorKind::Dag;
    auto few = std::make_shared<Collected>();
    auto more = std::make_shared<Collected>();
    auto b = builder();
    b.stage("endless", test::memory_source(std::size_t{1} << 50))
        .stage("pass", test::failing_transform(std::size_t{1} << 40), {"endless"})
        .stage("few", test::collect_sink(few, 10), {"pass"});
    if (fork) b.stage("more", test::collect_sink(more, 5000), {"endless"});
    auto p = b.build();
    MetricsRegistry m;
    RunContext ctx;
    RunOptions o;
    o.metrics = &m;
    RunReport r = run_pipeline(p, ctx, o);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_TRUE(few->finished) << "a satisfied sink still finishes (commits)";
    EXPECT_GE(few->rows.size(), 10u);
    if (fork) {
        EXPECT_TRUE(more->finished);
        EXPECT_GE(more->rows.size(), 5000u);
    }
    EXPECT_LT(m.find("endless")->records_out.load(), std::uint64_t{1} << 40);
}

TEST_P(ExecutorTest, RetryStrategyReopensAStageUntilItsInputAppears) {
    auto ready = std::make_shared<std::atomic<bool>>(false);
    auto opens = std::make_shared<std::atomic<int>>(0);
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .strategy(ErrorStrategy::Retry)
                 .stage("late", test::flaky_source(ready, opens, 100))
                 .stage("sink", test::collect_sink(out), {"late"})
                 .build();
    for (StageSpec& s : p.stages) {
        s.error_handling.max_retries = 5;
        s.error_handling.retry_delay_seconds = 0.002;
        s.error_handling.max_retry_delay_seconds = 0.006;
    }
    RunContext ctx;
    ctx.uniform01 = [] { return 0.5; }; // fixed jitter: every delay is half its cap
    std::vector<std::int64_t> delays;
    ctx.on_backoff = [&](std::string_view stage, std::chrono::milliseconds d) {
        EXPECT_EQ(stage, "late");
        delays.push_back(d.count());
        if (delays.size() == 3) ready->store(true); // the input appears during the third wait
    };
    MetricsRegistry m;
    RunOptions o;
    o.metrics = &m;
    RunReport r = run_pipeline(p, ctx, o);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_EQ(opens->load(), 4);
    // Caps 2, 4, 6 (max) ms; half of each, rounded.
    EXPECT_EQ(delays, (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_EQ(m.find("late")->retries.load(), 3u);
    EXPECT_EQ(out->rows.size(), 100u);
}

TEST_P(ExecutorTest, RetriesExhaustedFollowOnExhausted) {
    for (ErrorStrategy exhausted : {ErrorStrategy::Stop, ErrorStrategy::Continue}) {
        auto never = std::make_shared<std::atomic<bool>>(false);
        auto opens = std::make_shared<std::atomic<int>>(0);
        auto out = std::make_shared<Collected>();
        auto p = builder()
                     .strategy(ErrorStrategy::Retry)
                     .stage("late", test::flaky_source(never, opens, 10, ErrorKind::TempFail))
                     .stage("sink", test::collect_sink(out), {"late"})
                     .build();
        for (StageSpec& s : p.stages) {
            s.error_handling.max_retries = 2;
            s.error_handling.retry_delay_seconds = 0.001;
            s.error_handling.on_exhausted = exhausted;
        }
        RunContext ctx;
        RunReport r = run_pipeline(p, ctx);
        EXPECT_EQ(opens->load(), 3) << "one try and two retries";
        if (exhausted == ErrorStrategy::Stop) {
            ASSERT_FALSE(r.status);
            EXPECT_EQ(r.exit_code(), 75) << "a transient failure that outlasted its retries";
        } else {
            EXPECT_TRUE(r.status);
            EXPECT_EQ(r.exit_code(), 3);
            EXPECT_TRUE(out->finished);
        }
    }
}

TEST_P(ExecutorTest, DataErrorsAreNotRetried) {
    auto never = std::make_shared<std::atomic<bool>>(false);
    auto opens = std::make_shared<std::atomic<int>>(0);
    auto out = std::make_shared<Collected>();
    auto p = builder()
                 .strategy(ErrorStrategy::Retry)
                 .stage("bad", test::flaky_source(never, opens, 10, ErrorKind::Data))
                 .stage("sink", test::collect_sink(out), {"bad"})
                 .build();
    RunContext ctx;
    RunReport r = run_pipeline(p, ctx);
    EXPECT_EQ(opens->load(), 1);
    EXPECT_EQ(r.exit_code(), 65);
}

TEST_P(ExecutorTest, AccountingInvariantHoldsForEveryStageAndStrategy) {
    for (ErrorStrategy strategy : {ErrorStrategy::Stop, ErrorStrategy::Continue}) {
        auto a = std::make_shared<Collected>();
        auto b = std::make_shared<Collected>();
        auto p = builder()
                     .strategy(strategy)
                     .stage("src", test::memory_source(5000))
                     .stage("picky", test::record_failing_transform(7), {"src"})
                     .stage("sink_a", test::collect_sink(a), {"picky"})
                     .stage("sink_b", test::collect_sink(b), {"src"})
                     .build();
        MetricsRegistry m;
        RunReport r = run(p, &m);
        for (const auto& sm : m.all()) {
            // Under "stop" the run ends at the first failure: records in flight elsewhere
            // were neither passed on nor left out. Stages that finished must balance.
            if (strategy == ErrorStrategy::Stop && sm.get_state() != StageState::Done) continue;
            if (sm.id == "src") {
                EXPECT_EQ(sm.records_read.load(), sm.records_out.load());
                continue;
            }
            // records in = records out + filtered + dead-lettered + dropped
            EXPECT_EQ(sm.records_in.load(), sm.records_out.load() + sm.records_filtered.load() +
                                                sm.records_dead_lettered.load() +
                                                sm.records_dropped.load())
                << sm.id << " strategy " << to_string(strategy);
        }
        if (strategy == ErrorStrategy::Continue) {
            EXPECT_EQ(r.exit_code(), 3);
            EXPECT_EQ(m.find("picky")->records_failed.load(), 715u); // ids 0, 7, ..., 4998
            EXPECT_EQ(a->rows.size(), 5000u - 715u);
            EXPECT_EQ(b->rows.size(), 5000u);
        } else {
            EXPECT_EQ(r.exit_code(), 65);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllExecutors, ExecutorTest,
                         ::testing::Values(ExecutorKind::Dag, ExecutorKind::Channel,
                                           ExecutorKind::Async),
                         [](const auto& param_info) {
                             return std::string(to_string(param_info.param));
                         });

class BackpressureTest : public ::testing::TestWithParam<ExecutorKind> {};

namespace {

/// How far ahead of a slow sink the source got (records read, not yet taken by the sink).
std::shared_ptr<test::LeadProbe> run_behind_slow_sink(ExecutorKind executor, std::size_t buffer,
                                                      std::size_t batch) {
    MetricsRegistry m;
    auto probe = std::make_shared<test::LeadProbe>();
    auto out = std::make_shared<Collected>();
    SpecBuilder b;
    b.executor(executor).buffer(buffer).batch_size(batch);
    auto p = b.stage("src", test::memory_source(20000))
                 .stage("slow", test::stall_sink(&m, "src", probe, out), {"src"})
                 .build();
    RunContext ctx;
    RunOptions o;
    o.metrics = &m;
    RunReport r = run_pipeline(p, ctx, o);
    EXPECT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_EQ(out->rows.size(), 20000u);
    return probe;
}

} // namespace

TEST_P(BackpressureTest, SlowSinkThrottlesTheSourceToTheChannelBound) {
    constexpr std::size_t kBuffer = 50;
    constexpr std::size_t kBatch = 10;
    auto probe = run_behind_slow_sink(GetParam(), kBuffer, kBatch);
    // The source can be ahead by at most what the channel holds (kBuffer) plus the one batch
    // it is trying to send.
    EXPECT_LE(probe->max_lead.load(), kBuffer + kBatch);
    EXPECT_GE(probe->max_lead.load(), kBuffer) << "the sink was slower: the bound was reached";
    EXPECT_GT(probe->waits_blocked.load(), 0u);
}

TEST_P(BackpressureTest, ABatchLargerThanTheBoundMovesHandToHand) {
    // Batches are not cut to the channel size: one larger than the bound goes into the empty
    // channel and its producer waits until the consumer has taken it (inbox_test shows the
    // hand-over itself). So the source is ahead by that one batch at most, never by a batch in
    // the channel plus the next one it read meanwhile.
    constexpr std::size_t kBuffer = 50;
    constexpr std::size_t kBatch = 1000;
    auto probe = run_behind_slow_sink(GetParam(), kBuffer, kBatch);
    EXPECT_LE(probe->max_lead.load(), kBatch);
    EXPECT_GT(probe->waits_blocked.load(), 0u) << "the source waited for the slow sink";
}

INSTANTIATE_TEST_SUITE_P(StreamingExecutors, BackpressureTest,
                         ::testing::Values(ExecutorKind::Channel, ExecutorKind::Async),
                         [](const auto& param_info) {
                             return std::string(to_string(param_info.param));
                         });

TEST(Backoff, FullJitterUpToAnExponentialCap) {
    auto at = [](double u) { return [u] { return u; }; };
    EXPECT_EQ(backoff_delay(0, 1.0, 60.0, at(1.0)).count(), 1000);
    EXPECT_EQ(backoff_delay(3, 1.0, 60.0, at(1.0)).count(), 8000);
    EXPECT_EQ(backoff_delay(10, 1.0, 60.0, at(1.0)).count(), 60000) << "capped";
    EXPECT_EQ(backoff_delay(3, 1.0, 60.0, at(0.25)).count(), 2000);
    EXPECT_EQ(backoff_delay(3, 1.0, 60.0, at(0.0)).count(), 0) << "full jitter reaches zero";
    EXPECT_EQ(backoff_delay(1000, 0.5, 30.0, at(0.5)).count(), 15000) << "no overflow";
}

TEST(DagExecutorTest, EdgesBeyondTheirShareSpillAndEveryConsumerGetsEverything) {
    // A fork is a level barrier: the source's whole output is held for both sinks, 1 MiB of it
    // in memory and the rest in a spill file under state_dir.
    test::TempDir dir;
    auto run = [&](std::uint64_t cap, std::shared_ptr<Collected> out,
                   std::shared_ptr<Collected> other, std::uint64_t* spilled) {
        SpecBuilder b;
        b.executor(ExecutorKind::Dag).batch_size(1000);
        auto p = b.stage("big", test::memory_source(200000))
                     .stage("sink", test::collect_sink(out), {"big"})
                     .stage("copy", test::collect_sink(other), {"big"})
                     .build();
        p.global.max_buffered_bytes = cap;
        p.global.state_dir = dir.path();
        RunContext ctx;
        MetricsRegistry m;
        RunOptions o;
        o.metrics = &m;
        RunReport r = run_pipeline(p, ctx, o);
        ASSERT_TRUE(r.status) << r.status.error().to_string();
        *spilled = m.find("big")->records_spilled.load();
    };
    auto out = std::make_shared<Collected>();
    auto other = std::make_shared<Collected>();
    std::uint64_t spilled = 0;
    run(1 << 20, out, other, &spilled);
    EXPECT_GT(spilled, 100000u) << "most of the output went to disk";
    EXPECT_LT(spilled, 200000u) << "the first MiB stayed in memory";
    auto ref = std::make_shared<Collected>();
    auto ref_other = std::make_shared<Collected>();
    std::uint64_t none = 0;
    run(0, ref, ref_other, &none);
    EXPECT_EQ(none, 0u);
    ASSERT_EQ(ref->rows.size(), 200000u);
    EXPECT_EQ(out->rows, ref->rows) << "every record, in order, with its values";
    EXPECT_EQ(other->rows, ref->rows);
    EXPECT_EQ(test::count_files(dir.path() + "/spill"), 0u) << "spill files removed";
}

TEST(DagExecutorTest, AForkIsALevelBarrier) {
    // The sinks of level 1 only start after their source finished: they see every record.
    MetricsRegistry m;
    auto probe = std::make_shared<test::LeadProbe>();
    auto out = std::make_shared<Collected>();
    auto other = std::make_shared<Collected>();
    SpecBuilder b;
    b.executor(ExecutorKind::Dag).batch_size(100);
    auto p = b.stage("src", test::memory_source(1000))
                 .stage("sink", test::stall_sink(&m, "src", probe, out), {"src"})
                 .stage("copy", test::collect_sink(other), {"src"})
                 .build();
    RunContext ctx;
    RunOptions o;
    o.metrics = &m;
    RunReport r = run_pipeline(p, ctx, o);
    ASSERT_TRUE(r.status);
    // When the first batch (100 records) reaches the sink, all 1000 have been read.
    EXPECT_EQ(probe->max_lead.load(), 900u) << "dag materialises the whole edge";
    EXPECT_EQ(out->rows.size(), 1000u);
    EXPECT_EQ(other->rows.size(), 1000u);
}

TEST(DagExecutorTest, AChainStreamsWithinItsLevel) {
    // source -> transform -> sink, one producer and one consumer per link: one step of the
    // level, streamed through bounded queues rather than materialised.
    constexpr std::size_t kBuffer = 100;
    MetricsRegistry m;
    auto probe = std::make_shared<test::LeadProbe>();
    auto out = std::make_shared<Collected>();
    SpecBuilder b;
    b.executor(ExecutorKind::Dag).buffer(kBuffer).batch_size(kBuffer);
    auto p = b.stage("src", test::memory_source(20000))
                 .stage("sink", test::stall_sink(&m, "src", probe, out), {"src"})
                 .build();
    RunContext ctx;
    RunOptions o;
    o.metrics = &m;
    RunReport r = run_pipeline(p, ctx, o);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_EQ(out->rows.size(), 20000u);
    EXPECT_LE(probe->max_lead.load(), 2 * kBuffer) << "one queued batch and one being sent";
    EXPECT_GT(probe->waits_blocked.load(), 0u) << "the source waited for the slow sink";
}

} // namespace
} // namespace conveyor
