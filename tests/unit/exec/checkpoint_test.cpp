// Checkpoints through the executors (stage/stage.hpp, Checkpoint): markers from the sources
// reach every stage in order and aligned at fan-in, each committed checkpoint is a consistent
// cut (what a sink had taken is exactly what the sources had emitted), and a run that died
// resumes from the last one, doing again only the records after it.

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/journal.hpp"
#include "support/checkpoint_stages.hpp"
#include "support/process.hpp"
#include "support/test_stages.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>
#include <mutex>

namespace conveyor {
namespace {

using test::Ledger;
using test::Output;
using test::SpecBuilder;

class CheckpointTest : public ::testing::TestWithParam<ExecutorKind> {
protected:
    SpecBuilder builder(std::uint64_t interval) {
        SpecBuilder b;
        b.executor(GetParam()).buffer(40).batch_size(16);
        b.global().checkpoint_interval = interval;
        b.global().state_dir = dir.path();
        return b;
    }
    PipelineSpec finish(SpecBuilder& b) {
        PipelineSpec p = b.build();
        p.file = dir.write("p.toml", "# checkpoint test\n");
        return p;
    }
    RunReport run(const PipelineSpec& p, RunJournal::Mode mode, std::string* note = nullptr) {
        auto journal = RunJournal::open(p, mode, note);
        EXPECT_TRUE(journal);
        RunContext ctx;
        ctx.journal = journal->get();
        return run_pipeline(p, ctx, RunOptions{});
    }
    std::optional<RunJournal::CommittedCheckpoint> last_checkpoint(const PipelineSpec& p) {
        auto journal = RunJournal::open(p, RunJournal::Mode::Resume, nullptr);
        if (!journal) return std::nullopt;
        return (*journal)->resumed_checkpoint();
    }
    test::TempDir dir;
};

std::vector<std::int64_t> range(std::int64_t from, std::int64_t n) {
    std::vector<std::int64_t> v;
    for (std::int64_t i = 0; i < n; ++i)
        v.push_back(from + i);
    return v;
}

TEST_P(CheckpointTest, ALinearRunResumesAfterItsLastCheckpoint) {
    constexpr std::uint64_t kInterval = 50;
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    auto crashing = test::count_source("src", 1000, 0, ledger);
    SpecBuilder b = builder(kInterval);
    b.stage("src", crashing.stage)
        .stage("pass", test::pass_stage(), {"src"})
        .stage("sink", test::resumable_sink(out, 537, ledger), {"pass"});
    PipelineSpec p = finish(b);
    RunReport first = run(p, RunJournal::Mode::Fresh);
    ASSERT_FALSE(first.status) << "the sink crashes";
    const std::uint64_t taken = out->rows.size();
    EXPECT_GE(taken, 537u);

    auto cp = last_checkpoint(p);
    ASSERT_TRUE(cp) << "checkpoints were committed before the crash";
    // Each committed checkpoint is a consistent cut: the sink had taken exactly what the
    // source had emitted.
    for (const auto& [id, n] : ledger->at["sink"])
        EXPECT_EQ(n, ledger->position("src", id)) << "checkpoint " << id;
    const std::uint64_t k = std::stoull(cp->states.at("sink"));
    EXPECT_EQ(k, ledger->at["sink"].rbegin()->second)
        << "the sink reports last: its last checkpoint is committed";
    EXPECT_EQ(cp->states.at("src"), std::to_string(k));
    EXPECT_LE(taken - k, kInterval + 16)
        << "at most one interval (plus the batch that crashed) is done again";

    // The resumed run: the source continues at the checkpoint, the sink keeps its first k rows.
    auto resumed = test::count_source("src", 1000, 0, ledger);
    SpecBuilder b2 = builder(kInterval);
    b2.stage("src", resumed.stage)
        .stage("pass", test::pass_stage(), {"src"})
        .stage("sink", test::resumable_sink(out, 0, ledger), {"pass"});
    std::string note;
    RunReport second = run(finish(b2), RunJournal::Mode::Resume, &note);
    ASSERT_TRUE(second.status) << second.status.error().to_string();
    EXPECT_NE(note.find("from checkpoint " + std::to_string(cp->id)), std::string::npos) << note;
    EXPECT_EQ(out->rows, range(0, 1000)) << "the output of an uninterrupted run";
    EXPECT_EQ(resumed.emitted->load(), 1000 - k)
        << "only the records after the checkpoint are read again";
}

TEST_P(CheckpointTest, MarkersAlignAtAFanInSoEveryCheckpointIsAConsistentCut) {
    constexpr std::uint64_t kInterval = 20;
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    SpecBuilder b = builder(kInterval);
    b.stage("a", test::count_source("a", 300, 0, ledger).stage)
        .stage("b", test::count_source("b", 130, 10000, ledger).stage)
        .stage("sink", test::resumable_sink(out, 250, ledger), {"a", "b"});
    PipelineSpec p = finish(b);
    ASSERT_FALSE(run(p, RunJournal::Mode::Fresh).status);
    const std::uint64_t taken = out->rows.size();
    ASSERT_FALSE(ledger->at["sink"].empty());
    for (const auto& [id, n] : ledger->at["sink"])
        EXPECT_EQ(n, ledger->position("a", id) + ledger->position("b", id)) << "checkpoint " << id;
    auto cp = last_checkpoint(p);
    ASSERT_TRUE(cp);
    const std::uint64_t k = std::stoull(cp->states.at("sink"));
    EXPECT_LE(taken - k, 2 * kInterval + 16);

    auto a = test::count_source("a", 300, 0, ledger);
    auto b_src = test::count_source("b", 130, 10000, ledger);
    SpecBuilder b2 = builder(kInterval);
    b2.stage("a", a.stage)
        .stage("b", b_src.stage)
        .stage("sink", test::resumable_sink(out, 0, ledger), {"a", "b"});
    RunReport second = run(finish(b2), RunJournal::Mode::Resume);
    ASSERT_TRUE(second.status) << second.status.error().to_string();
    std::vector<std::int64_t> got = out->rows;
    std::sort(got.begin(), got.end());
    std::vector<std::int64_t> want = range(0, 300);
    for (std::int64_t v : range(10000, 130))
        want.push_back(v);
    EXPECT_EQ(got, want) << "every record exactly once";
    EXPECT_EQ(a.emitted->load() + b_src.emitted->load(), 430 - k);
}

TEST_P(CheckpointTest, ADiamondAlignsTheMarkersOfBothBranches) {
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    SpecBuilder b = builder(25);
    b.stage("src", test::count_source("src", 400, 0, ledger).stage)
        .stage("left", test::pass_stage(), {"src"})
        .stage("right", test::pass_stage(), {"src"})
        .stage("sink", test::resumable_sink(out, 0, ledger), {"left", "right"});
    ASSERT_TRUE(run(finish(b), RunJournal::Mode::Fresh).status);
    ASSERT_FALSE(ledger->at["sink"].empty());
    for (const auto& [id, n] : ledger->at["sink"])
        EXPECT_EQ(n, 2 * ledger->position("src", id))
            << "checkpoint " << id << ": both copies of the same records";
    EXPECT_EQ(out->rows.size(), 800u);
}

TEST_P(CheckpointTest, AStageThatCannotTakePartTurnsCheckpointsOff) {
    auto ledger = std::make_shared<Ledger>();
    auto collected = std::make_shared<test::Collected>();
    SpecBuilder b = builder(10);
    b.stage("src", test::count_source("src", 200, 0, ledger).stage)
        .stage("sink", test::collect_sink(collected), {"src"});
    PipelineSpec p = finish(b);
    ASSERT_TRUE(run(p, RunJournal::Mode::Fresh).status);
    EXPECT_EQ(collected->snapshot().size(), 200u);
    EXPECT_TRUE(ledger->at["src"].empty()) << "no source was asked for a position";
    EXPECT_FALSE(last_checkpoint(p));
}

TEST_P(CheckpointTest, ASinkThatFinishedBeforeTheCrashIsLeftAlone) {
    auto ledger = std::make_shared<Ledger>();
    auto short_out = std::make_shared<Output>();
    auto long_out = std::make_shared<Output>();
    SpecBuilder b = builder(20);
    b.stage("few", test::count_source("few", 50, 0, ledger).stage)
        .stage("many", test::count_source("many", 1000, 5000, ledger).stage)
        .stage("short", test::resumable_sink(short_out, 0, ledger), {"few"})
        .stage("long", test::resumable_sink(long_out, 600, ledger, false, short_out), {"many"});
    b.global().workers = 2; // the crashing sink waits on one worker while the other finishes
    PipelineSpec p = finish(b);
    ASSERT_FALSE(run(p, RunJournal::Mode::Fresh).status);
    ASSERT_EQ(short_out->rows, range(0, 50)) << "finished before the other sink crashed";
    ASSERT_TRUE(last_checkpoint(p));

    auto few = test::count_source("few", 50, 0, ledger);
    SpecBuilder b2 = builder(20);
    b2.stage("few", few.stage)
        .stage("many", test::count_source("many", 1000, 5000, ledger).stage)
        // Opened again, this sink would start a new output: it must not be opened at all.
        .stage("short", test::resumable_sink(short_out, 1, ledger), {"few"})
        .stage("long", test::resumable_sink(long_out, 0, ledger), {"many"});
    RunReport second = run(finish(b2), RunJournal::Mode::Resume);
    ASSERT_TRUE(second.status) << second.status.error().to_string();
    EXPECT_EQ(short_out->rows, range(0, 50)) << "left as it was";
    EXPECT_EQ(long_out->rows, range(5000, 1000));
    EXPECT_EQ(few.emitted->load(), 0u) << "its only consumer had finished";
}

TEST_P(CheckpointTest, IntervalZeroTurnsCheckpointsOff) {
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    SpecBuilder b = builder(0);
    b.stage("src", test::count_source("src", 200, 0, ledger).stage)
        .stage("sink", test::resumable_sink(out, 0, ledger), {"src"});
    PipelineSpec p = finish(b);
    ASSERT_TRUE(run(p, RunJournal::Mode::Fresh).status);
    EXPECT_EQ(out->rows, range(0, 200));
    EXPECT_TRUE(ledger->at.empty()) << "no stage was asked for its state";
    EXPECT_FALSE(last_checkpoint(p));
}

TEST_P(CheckpointTest, AnOutputThatCannotBeCarriedOnMakesTheResumeStartFromTheBeginning) {
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    SpecBuilder b = builder(30);
    b.stage("src", test::count_source("src", 300, 0, ledger).stage)
        .stage("sink", test::resumable_sink(out, 200, ledger), {"src"});
    PipelineSpec p = finish(b);
    ASSERT_FALSE(run(p, RunJournal::Mode::Fresh).status);
    ASSERT_TRUE(last_checkpoint(p));

    auto again = test::count_source("src", 300, 0, ledger);
    SpecBuilder b2 = builder(30);
    b2.stage("src", again.stage).stage("sink", test::resumable_sink(out, 0, ledger, true), {"src"});
    RunReport second = run(finish(b2), RunJournal::Mode::Resume);
    ASSERT_TRUE(second.status) << second.status.error().to_string();
    EXPECT_EQ(out->rows, range(0, 300))
        << "a fresh sink (opened without a resume state) starts empty";
    EXPECT_EQ(again.emitted->load(), 300u) << "read again from the start";
}

INSTANTIATE_TEST_SUITE_P(Executors, CheckpointTest,
                         ::testing::Values(ExecutorKind::Dag, ExecutorKind::Channel,
                                           ExecutorKind::Async),
                         [](const auto& p) { return std::string(to_string(p.param)); });

} // namespace
} // namespace conveyor
