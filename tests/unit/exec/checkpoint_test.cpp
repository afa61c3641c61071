// Checkpoints through the executors (stage/stage.hpp, Checkpoint): markers from the sources
// reach every stage in order and aligned at fan-in, each committed checkpoint is a consistent
// cut (what a sink had taken is exactly what the sources had emitted), and a run that died
// resumes from the last one, doing again only the records after it.

#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/exec/run_context.hpp"
#include "support/process.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>

namespace conveyor {
namespace {

using test::SpecBuilder;

/// What every stage reported per checkpoint id: records emitted (sources) or taken (sinks).
struct Ledger {
    std::mutex mu;
    std::map<std::string, std::map<std::uint64_t, std::uint64_t>> at;
    void note(const std::string& stage, std::uint64_t id, std::uint64_t n) {
        std::lock_guard lock(mu);
        at[stage][id] = n;
    }
    /// The stage's count at checkpoint `id`: a source that ended before it stands at its end.
    std::uint64_t position(const std::string& stage, std::uint64_t id) {
        std::lock_guard lock(mu);
        auto& m = at[stage];
        if (auto it = m.find(id); it != m.end()) return it->second;
        return m.empty() ? 0 : m.rbegin()->second;
    }
};

Result<std::uint64_t> parse_count(const std::optional<std::string>& text) {
    if (!text) return std::uint64_t{0};
    try {
        return static_cast<std::uint64_t>(std::stoull(*text));
    } catch (const std::exception&) {
        return fail(ErrorKind::Config, "bad resume state '" + *text + "'");
    }
}

/// Records {id: offset + i} for i in [0, count), resumable at a record count.
class CountSourceOp final : public SourceOperator {
public:
    CountSourceOp(std::string name, std::uint64_t count, std::int64_t offset, std::uint64_t start,
                  std::size_t batch, std::shared_ptr<Ledger> ledger,
                  std::shared_ptr<std::atomic<std::uint64_t>> emitted)
        : name_(std::move(name)), count_(count), offset_(offset), done_(start), batch_(batch),
          ledger_(std::move(ledger)), emitted_(std::move(emitted)), schema_(make_schema({"id"})) {}
    Result<bool> next(Emitter& out) override {
        const std::uint64_t n = std::min<std::uint64_t>(batch_, count_ - done_);
        Batch b(schema_, n);
        for (std::uint64_t i = 0; i < n; ++i, ++done_)
            b.append_row()[0] = Value::integer(offset_ + static_cast<std::int64_t>(done_));
        emitted_->fetch_add(n);
        out.emit(std::move(b));
        return done_ < count_;
    }
    Result<std::string> checkpoint(const Checkpoint& cp) override {
        ledger_->note(name_, cp.id, done_);
        return std::to_string(done_);
    }

private:
    std::string name_;
    std::uint64_t count_;
    std::int64_t offset_;
    std::uint64_t done_;
    std::size_t batch_;
    std::shared_ptr<Ledger> ledger_;
    std::shared_ptr<std::atomic<std::uint64_t>> emitted_;
    SchemaRef schema_;
};

class CountSource final : public Stage {
public:
    CountSource(std::string name, std::uint64_t count, std::int64_t offset, std::shared_ptr<Ledger> ledger)
        : name_(std::move(name)), count_(count), offset_(offset), ledger_(std::move(ledger)) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        Result<std::uint64_t> start = parse_count(ctx.resume);
        if (!start) return std::move(start).error();
        if (*start > count_) return fail(ErrorKind::Config, "resume position beyond the input");
        auto op = std::make_unique<CountSourceOp>(name_, count_, offset_, *start, ctx.batch_size,
                                                  ledger_, emitted);
        OpenedStage o(std::unique_ptr<SourceOperator>(std::move(op)), make_schema({"id"}));
        o.fixed_schema = true;
        o.checkpoints = true;
        return o;
    }
    std::shared_ptr<std::atomic<std::uint64_t>> emitted = std::make_shared<std::atomic<std::uint64_t>>(0);

private:
    std::string name_;
    std::uint64_t count_;
    std::int64_t offset_;
    std::shared_ptr<Ledger> ledger_;
};

/// Passes records on (a stateless transform taking part in checkpoints).
class PassStage final : public Stage {
    class Op final : public Operator {
    public:
        Status push(std::size_t, Batch&& b, Emitter& out) override {
            out.emit(std::move(b));
            return {};
        }
    };

public:
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        OpenedStage o(std::unique_ptr<Operator>(std::make_unique<Op>()), ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0]);
        o.checkpoints = true;
        return o;
    }
};

/// The output a sink has written: rows taken; a resumed sink keeps the first k (as a file sink
/// truncates its temporary file to the checkpoint's length).
struct Output {
    std::mutex mu;
    std::vector<std::int64_t> rows;
};

/// A sink that "crashes" (fails) once it has taken `crash_after` records in this run.
class ResumableSink final : public Stage {
    class Op final : public Operator {
    public:
        Op(std::shared_ptr<Output> out, std::uint64_t crash_after, std::shared_ptr<Ledger> ledger)
            : out_(std::move(out)), crash_after_(crash_after), ledger_(std::move(ledger)) {}
        Status push(std::size_t, Batch&& b, Emitter&) override {
            std::lock_guard lock(out_->mu);
            for (std::size_t r = 0; r < b.rows(); ++r) out_->rows.push_back(b.at(r, 0).as_int());
            taken_ += b.rows();
            if (crash_after_ && taken_ >= crash_after_) return fail(ErrorKind::Internal, "simulated crash");
            return {};
        }
        Result<std::string> checkpoint(const Checkpoint& cp) override {
            std::lock_guard lock(out_->mu);
            ledger_->note("sink", cp.id, out_->rows.size());
            return std::to_string(out_->rows.size());
        }

    private:
        std::shared_ptr<Output> out_;
        std::uint64_t crash_after_;
        std::shared_ptr<Ledger> ledger_;
        std::uint64_t taken_ = 0;
    };

public:
    ResumableSink(std::shared_ptr<Output> out, std::uint64_t crash_after, std::shared_ptr<Ledger> ledger,
                  bool reject_resume = false)
        : out_(std::move(out)), crash_after_(crash_after), ledger_(std::move(ledger)),
          reject_resume_(reject_resume) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (ctx.resume && reject_resume_) return fail(ErrorKind::NoInput, "the output at the checkpoint is gone");
        Result<std::uint64_t> keep = parse_count(ctx.resume);
        if (!keep) return std::move(keep).error();
        {
            std::lock_guard lock(out_->mu);
            if (*keep > out_->rows.size()) return fail(ErrorKind::Config, "output shorter than the checkpoint");
            out_->rows.resize(*keep);
        }
        OpenedStage o(std::unique_ptr<Operator>(std::make_unique<Op>(out_, crash_after_, ledger_)), nullptr);
        o.checkpoints = true;
        return o;
    }

private:
    std::shared_ptr<Output> out_;
    std::uint64_t crash_after_;
    std::shared_ptr<Ledger> ledger_;
    bool reject_resume_;
};

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
    for (std::int64_t i = 0; i < n; ++i) v.push_back(from + i);
    return v;
}

TEST_P(CheckpointTest, ALinearRunResumesAfterItsLastCheckpoint) {
    constexpr std::uint64_t kInterval = 50;
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    auto crashing = std::make_shared<CountSource>("src", 1000, 0, ledger);
    SpecBuilder b = builder(kInterval);
    b.stage("src", crashing).stage("pass", std::make_shared<PassStage>(), {"src"})
        .stage("sink", std::make_shared<ResumableSink>(out, 537, ledger), {"pass"});
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
    EXPECT_EQ(k, ledger->at["sink"].rbegin()->second) << "the sink reports last: its last checkpoint is committed";
    EXPECT_EQ(cp->states.at("src"), std::to_string(k));
    EXPECT_LE(taken - k, kInterval + 16) << "at most one interval (plus the batch that crashed) is done again";

    // The resumed run: the source continues at the checkpoint, the sink keeps its first k rows.
    auto resumed = std::make_shared<CountSource>("src", 1000, 0, ledger);
    SpecBuilder b2 = builder(kInterval);
    b2.stage("src", resumed).stage("pass", std::make_shared<PassStage>(), {"src"})
        .stage("sink", std::make_shared<ResumableSink>(out, 0, ledger), {"pass"});
    std::string note;
    RunReport second = run(finish(b2), RunJournal::Mode::Resume, &note);
    ASSERT_TRUE(second.status) << second.status.error().to_string();
    EXPECT_NE(note.find("from checkpoint " + std::to_string(cp->id)), std::string::npos) << note;
    EXPECT_EQ(out->rows, range(0, 1000)) << "the output of an uninterrupted run";
    EXPECT_EQ(resumed->emitted->load(), 1000 - k) << "only the records after the checkpoint are read again";
}

TEST_P(CheckpointTest, MarkersAlignAtAFanInSoEveryCheckpointIsAConsistentCut) {
    constexpr std::uint64_t kInterval = 20;
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    SpecBuilder b = builder(kInterval);
    b.stage("a", std::make_shared<CountSource>("a", 300, 0, ledger))
        .stage("b", std::make_shared<CountSource>("b", 130, 10000, ledger))
        .stage("sink", std::make_shared<ResumableSink>(out, 250, ledger), {"a", "b"});
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

    auto a = std::make_shared<CountSource>("a", 300, 0, ledger);
    auto b_src = std::make_shared<CountSource>("b", 130, 10000, ledger);
    SpecBuilder b2 = builder(kInterval);
    b2.stage("a", a).stage("b", b_src).stage("sink", std::make_shared<ResumableSink>(out, 0, ledger), {"a", "b"});
    RunReport second = run(finish(b2), RunJournal::Mode::Resume);
    ASSERT_TRUE(second.status) << second.status.error().to_string();
    std::vector<std::int64_t> got = out->rows;
    std::sort(got.begin(), got.end());
    std::vector<std::int64_t> want = range(0, 300);
    for (std::int64_t v : range(10000, 130)) want.push_back(v);
    EXPECT_EQ(got, want) << "every record exactly once";
    EXPECT_EQ(a->emitted->load() + b_src->emitted->load(), 430 - k);
}

TEST_P(CheckpointTest, ADiamondAlignsTheMarkersOfBothBranches) {
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    SpecBuilder b = builder(25);
    b.stage("src", std::make_shared<CountSource>("src", 400, 0, ledger))
        .stage("left", std::make_shared<PassStage>(), {"src"})
        .stage("right", std::make_shared<PassStage>(), {"src"})
        .stage("sink", std::make_shared<ResumableSink>(out, 0, ledger), {"left", "right"});
    ASSERT_TRUE(run(finish(b), RunJournal::Mode::Fresh).status);
    ASSERT_FALSE(ledger->at["sink"].empty());
    for (const auto& [id, n] : ledger->at["sink"])
        EXPECT_EQ(n, 2 * ledger->position("src", id)) << "checkpoint " << id << ": both copies of the same records";
    EXPECT_EQ(out->rows.size(), 800u);
}

TEST_P(CheckpointTest, AStageThatCannotTakePartTurnsCheckpointsOff) {
    auto ledger = std::make_shared<Ledger>();
    auto collected = std::make_shared<test::Collected>();
    SpecBuilder b = builder(10);
    b.stage("src", std::make_shared<CountSource>("src", 200, 0, ledger))
        .stage("sink", test::collect_sink(collected), {"src"});
    PipelineSpec p = finish(b);
    ASSERT_TRUE(run(p, RunJournal::Mode::Fresh).status);
    EXPECT_EQ(collected->snapshot().size(), 200u);
    EXPECT_TRUE(ledger->at["src"].empty()) << "no source was asked for a position";
    EXPECT_FALSE(last_checkpoint(p));
}

TEST_P(CheckpointTest, AnOutputThatCannotBeCarriedOnMakesTheResumeStartFromTheBeginning) {
    auto ledger = std::make_shared<Ledger>();
    auto out = std::make_shared<Output>();
    SpecBuilder b = builder(30);
    b.stage("src", std::make_shared<CountSource>("src", 300, 0, ledger))
        .stage("sink", std::make_shared<ResumableSink>(out, 200, ledger), {"src"});
    PipelineSpec p = finish(b);
    ASSERT_FALSE(run(p, RunJournal::Mode::Fresh).status);
    ASSERT_TRUE(last_checkpoint(p));

    auto again = std::make_shared<CountSource>("src", 300, 0, ledger);
    SpecBuilder b2 = builder(30);
    b2.stage("src", again).stage("sink", std::make_shared<ResumableSink>(out, 0, ledger, true), {"src"});
    RunReport second = run(finish(b2), RunJournal::Mode::Resume);
    ASSERT_TRUE(second.status) << second.status.error().to_string();
    EXPECT_EQ(out->rows, range(0, 300)) << "a fresh sink (opened without a resume state) starts empty";
    EXPECT_EQ(again->emitted->load(), 300u) << "read again from the start";
}

INSTANTIATE_TEST_SUITE_P(Executors, CheckpointTest,
                         ::testing::Values(ExecutorKind::Dag, ExecutorKind::Channel, ExecutorKind::Async),
                         [](const auto& info) { return std::string(to_string(info.param)); });

} // namespace
} // namespace conveyor
