// The executor's observability hooks: RunOptions::observer sees every batch leaving an observed
// stage without changing what flows downstream, and input queues publish their fill level.

#include "conveyor/core/batch.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/obs/batch_observer.hpp"
#include "conveyor/obs/metrics.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>
#include <map>
#include <mutex>

namespace conveyor {
namespace {

class Recorder final : public BatchObserver {
public:
    explicit Recorder(std::set<std::string> stages) : stages_(std::move(stages)) {}
    bool observes(std::string_view id) const override { return stages_.count(std::string(id)) > 0; }
    void on_batch(std::string_view id, const Batch& batch) override {
        std::lock_guard lock(mu_);
        rows[std::string(id)] += batch.rows();
        if (batch.rows()) first_ids.emplace(std::string(id), batch.at(0, 0).as_int());
    }
    std::map<std::string, std::size_t> rows;
    std::map<std::string, std::int64_t> first_ids;

private:
    std::set<std::string> stages_;
    std::mutex mu_;
};

class ExecutorHooks : public ::testing::TestWithParam<ExecutorKind> {};

TEST_P(ExecutorHooks, ObserverSeesEveryBatchLeavingObservedStagesAndChangesNothing) {
    auto out = std::make_shared<test::Collected>();
    test::SpecBuilder b;
    b.executor(GetParam()).buffer(100).batch_size(64);
    auto p = b.stage("src", test::memory_source(3000))
                 .stage("mid", test::failing_transform(1000000), {"src"})
                 .stage("sink", test::collect_sink(out), {"mid"})
                 .build();
    Recorder rec({"src", "mid"});
    RunContext ctx;
    RunOptions o;
    o.observer = &rec;
    RunReport r = run_pipeline(p, ctx, o);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    EXPECT_EQ(rec.rows["src"], 3000u);
    EXPECT_EQ(rec.rows["mid"], 3000u);
    EXPECT_EQ(rec.rows.count("sink"), 0u) << "unobserved stages are not reported";
    EXPECT_EQ(rec.first_ids["src"], 0);
    ASSERT_EQ(out->rows.size(), 3000u);
    EXPECT_EQ(out->rows.front(), "id=0;group=g0;value=0");
    EXPECT_EQ(out->rows.back(), "id=2999;group=g2;value=29990");
}

TEST_P(ExecutorHooks, InputQueuesPublishTheirCapacityAndDrainToZero) {
    auto out = std::make_shared<test::Collected>();
    test::SpecBuilder b;
    b.executor(GetParam()).buffer(100).batch_size(64);
    auto p = b.stage("a", test::memory_source(500))
                 .stage("b", test::memory_source(500, 3, 10000))
                 .stage("sink", test::collect_sink(out), {"a", "b"})
                 .build();
    MetricsRegistry m;
    RunContext ctx;
    RunOptions o;
    o.metrics = &m;
    RunReport r = run_pipeline(p, ctx, o);
    ASSERT_TRUE(r.status) << r.status.error().to_string();
    const StageMetrics& sink = *m.find("sink");
    switch (GetParam()) {
    case ExecutorKind::Dag:
        EXPECT_EQ(sink.queue_capacity.load(), 0u) << "dag edges are not bounded in records";
        break;
    case ExecutorKind::Channel:
        EXPECT_EQ(sink.queue_capacity.load(), 200u) << "100 per input edge";
        break;
    case ExecutorKind::Async:
        EXPECT_EQ(sink.queue_capacity.load(), 100u) << "one mailbox";
        break;
    }
    EXPECT_EQ(m.find("a")->queue_capacity.load(), 0u) << "a source has no input queue";
    EXPECT_EQ(sink.queued_records.load(), 0u) << "everything was consumed";
    EXPECT_GT(sink.started_ns.load(), 0);
    EXPECT_GE(sink.ended_ns.load(), sink.started_ns.load());
}

INSTANTIATE_TEST_SUITE_P(AllExecutors, ExecutorHooks,
                         ::testing::Values(ExecutorKind::Dag, ExecutorKind::Channel,
                                           ExecutorKind::Async),
                         [](const auto& param_info) {
                             return std::string(to_string(param_info.param));
                         });

} // namespace
} // namespace conveyor
