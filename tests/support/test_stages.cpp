#include "support/test_stages.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/stage_errors.hpp"

#include <poll.h>
#include <unistd.h>

namespace conveyor::test {

namespace {

std::string render(const Batch& b, std::size_t r) {
    std::string s;
    for (std::size_t c = 0; c < b.width(); ++c) {
        if (c) s += ';';
        s += b.schema().name(c);
        s += '=';
        const Value& v = b.at(r, c);
        switch (v.kind()) {
        case Kind::Int:
            s += std::to_string(v.as_int());
            break;
        case Kind::String:
            s += v.as_string();
            break;
        case Kind::Null:
            s += "null";
            break;
        case Kind::Absent:
            s += "absent";
            break;
        case Kind::Bool:
            s += v.as_bool() ? "true" : "false";
            break;
        default:
            s += "?";
            break;
        }
    }
    return s;
}

class MemorySourceOp final : public SourceOperator {
public:
    MemorySourceOp(SchemaRef schema, std::size_t count, std::size_t groups, std::int64_t offset,
                   std::size_t batch, RunContext* run)
        : schema_(std::move(schema)), count_(count), groups_(groups), offset_(offset),
          batch_(batch), run_(run) {}
    Result<bool> next(Emitter& out) override {
        if (run_ && run_->stop_requested()) return false; // a graceful stop ends the input
        const std::size_t n = std::min(batch_, count_ - done_);
        Batch b(schema_, n);
        for (std::size_t i = 0; i < n; ++i, ++done_) {
            auto row = b.append_row();
            const std::int64_t id = offset_ + static_cast<std::int64_t>(done_);
            row[0] = Value::integer(id);
            row[1] = Value::string(b.arena().copy("g" + std::to_string(done_ % groups_)));
            row[2] = Value::integer(id * 10);
        }
        out.emit(std::move(b));
        return done_ < count_;
    }

private:
    SchemaRef schema_;
    std::size_t count_, groups_;
    std::int64_t offset_;
    std::size_t batch_;
    RunContext* run_;
    std::size_t done_ = 0;
};

class MemorySource final : public Stage {
public:
    MemorySource(std::size_t count, std::size_t groups, std::int64_t offset)
        : count_(count), groups_(groups), offset_(offset) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        auto schema = make_schema({"id", "group", "value"});
        OpenedStage o(std::make_unique<MemorySourceOp>(schema, count_, groups_, offset_,
                                                       ctx.batch_size, ctx.run),
                      schema);
        o.fixed_schema = true;
        return o;
    }

private:
    std::size_t count_, groups_;
    std::int64_t offset_;
};

class FlakySource final : public Stage {
public:
    FlakySource(std::shared_ptr<std::atomic<bool>> ready, std::shared_ptr<std::atomic<int>> opens,
                std::size_t count, ErrorKind kind)
        : ready_(std::move(ready)), opens_(std::move(opens)), inner_(count, 3, 0), kind_(kind) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        opens_->fetch_add(1);
        if (!ready_->load())
            return fail(kind_, "cannot open input file: No such file or directory", "late.csv");
        return inner_.open(ctx);
    }

private:
    std::shared_ptr<std::atomic<bool>> ready_;
    std::shared_ptr<std::atomic<int>> opens_;
    MemorySource inner_;
    ErrorKind kind_;
};

class CollectOp final : public Operator {
public:
    CollectOp(std::shared_ptr<Collected> out, std::size_t enough)
        : out_(std::move(out)), enough_(enough) {}
    [[nodiscard]] bool satisfied() const noexcept override {
        std::lock_guard lock(out_->mu);
        return enough_ > 0 && out_->rows.size() >= enough_;
    }
    Status push(std::size_t, Batch&& b, Emitter&) override {
        std::lock_guard lock(out_->mu);
        for (std::size_t r = 0; r < b.rows(); ++r)
            out_->rows.push_back(render(b, r));
        return {};
    }
    Status finish(Emitter&) override {
        std::lock_guard lock(out_->mu);
        out_->finished = true;
        return {};
    }
    void abort() noexcept override {
        std::lock_guard lock(out_->mu);
        out_->aborted = true;
    }

private:
    std::shared_ptr<Collected> out_;
    std::size_t enough_;
};

class CollectSink final : public Stage {
public:
    CollectSink(std::shared_ptr<Collected> out, std::size_t enough)
        : out_(std::move(out)), enough_(enough) {}
    Result<OpenedStage> open(const OpenContext&) const override {
        return OpenedStage(std::make_unique<CollectOp>(out_, enough_), nullptr);
    }

private:
    std::shared_ptr<Collected> out_;
    std::size_t enough_;
};

class FailingOp final : public Operator {
public:
    FailingOp(std::size_t on, ErrorKind kind) : on_(on), kind_(kind) {}
    Status push(std::size_t, Batch&& b, Emitter& out) override {
        if (++seen_ == on_) return fail(kind_, "injected failure on batch " + std::to_string(on_));
        out.emit(std::move(b));
        return {};
    }
    Status finish(Emitter&) override {
        if (on_ == 0) return fail(kind_, "injected failure in finish");
        return {};
    }

private:
    std::size_t on_, seen_ = 0;
    ErrorKind kind_;
};

class FailingTransform final : public Stage {
public:
    FailingTransform(std::size_t on, ErrorKind kind) : on_(on), kind_(kind) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        return OpenedStage(std::make_unique<FailingOp>(on_, kind_),
                           ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0]);
    }

private:
    std::size_t on_;
    ErrorKind kind_;
};

class RecordFailingOp final : public Operator {
public:
    RecordFailingOp(std::int64_t n, StageErrors* errors) : n_(n), errors_(errors) {}
    Status push(std::size_t, Batch&& b, Emitter& out) override {
        std::vector<std::uint8_t> keep(b.rows(), 1);
        for (std::size_t r = 0; r < b.rows(); ++r) {
            if (b.at(r, 0).as_int() % n_ != 0) continue;
            keep[r] = 0;
            CONVEYOR_TRY(errors_->record_failed(
                b.schema(), b.row(r),
                Error(ErrorKind::Data, "id divisible by " + std::to_string(n_))));
        }
        b.retain_rows(keep);
        if (!b.empty()) out.emit(std::move(b));
        return {};
    }

private:
    std::int64_t n_;
    StageErrors* errors_;
};

class RecordFailingTransform final : public Stage {
public:
    explicit RecordFailingTransform(std::int64_t n) : n_(n) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        return OpenedStage(std::make_unique<RecordFailingOp>(n_, ctx.errors),
                           ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0]);
    }

private:
    std::int64_t n_;
};

class FailingSource final : public Stage {
public:
    explicit FailingSource(ErrorKind kind) : kind_(kind) {}
    Result<OpenedStage> open(const OpenContext&) const override {
        return fail(kind_, "cannot open input file: No such file or directory", "missing.csv");
    }

private:
    ErrorKind kind_;
};

class StallOp final : public Operator {
public:
    StallOp(MetricsRegistry* metrics, std::string source_id, std::shared_ptr<LeadProbe> probe,
            std::shared_ptr<Collected> out, StageMetrics* self)
        : metrics_(metrics), source_id_(std::move(source_id)), probe_(std::move(probe)),
          out_(std::move(out)), self_(self) {}

    Status push(std::size_t, Batch&& b, Emitter&) override {
        StageMetrics* src = metrics_->find(source_id_);
        // Wait (atomic wait, no sleeping) until the source is stalled or finished, so it
        // has run as far ahead as the queues allow.
        for (;;) {
            const int st = src->state.load();
            const auto s = static_cast<StageState>(st);
            if (s == StageState::WaitingForOutput || s == StageState::Done ||
                s == StageState::Failed)
                break;
            src->state.wait(st);
        }
        if (src->get_state() == StageState::WaitingForOutput) probe_->waits_blocked.fetch_add(1);
        const std::uint64_t read = src->records_read.load();
        const std::uint64_t got = self_->records_in.load();
        const std::uint64_t lead = read > got ? read - got : 0;
        std::uint64_t prev = probe_->max_lead.load();
        while (lead > prev && !probe_->max_lead.compare_exchange_weak(prev, lead)) {
        }
        std::lock_guard lock(out_->mu);
        for (std::size_t r = 0; r < b.rows(); ++r)
            out_->rows.push_back(render(b, r));
        return {};
    }

private:
    MetricsRegistry* metrics_;
    std::string source_id_;
    std::shared_ptr<LeadProbe> probe_;
    std::shared_ptr<Collected> out_;
    StageMetrics* self_;
};

class StallSink final : public Stage {
public:
    StallSink(MetricsRegistry* m, std::string src, std::shared_ptr<LeadProbe> p,
              std::shared_ptr<Collected> out)
        : metrics_(m), source_(std::move(src)), probe_(std::move(p)), out_(std::move(out)) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        return OpenedStage(std::make_unique<StallOp>(metrics_, source_, probe_, out_, ctx.metrics),
                           nullptr);
    }

private:
    MetricsRegistry* metrics_;
    std::string source_;
    std::shared_ptr<LeadProbe> probe_;
    std::shared_ptr<Collected> out_;
};

class BlockingOp final : public Operator {
public:
    explicit BlockingOp(RunContext* run) : run_(run) {}
    Status push(std::size_t, Batch&&, Emitter&) override {
        // Blocks this worker until the run is cancelled: waits on the interrupt fd.
        pollfd p{run_->interrupt_fd(), POLLIN, 0};
        while (!run_->cancelled())
            ::poll(&p, 1, -1);
        return {};
    }

private:
    RunContext* run_;
};

class BlockingSink final : public Stage {
public:
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        return OpenedStage(std::make_unique<BlockingOp>(ctx.run), nullptr);
    }
};

} // namespace

std::shared_ptr<const Stage> memory_source(std::size_t count, std::size_t groups,
                                           std::int64_t id_offset) {
    return std::make_shared<MemorySource>(count, groups, id_offset);
}
std::shared_ptr<const Stage> collect_sink(std::shared_ptr<Collected> out, std::size_t enough) {
    return std::make_shared<CollectSink>(std::move(out), enough);
}
std::shared_ptr<const Stage> failing_transform(std::size_t fail_on_batch, ErrorKind kind) {
    return std::make_shared<FailingTransform>(fail_on_batch, kind);
}
std::shared_ptr<const Stage> failing_source(ErrorKind kind) {
    return std::make_shared<FailingSource>(kind);
}
std::shared_ptr<const Stage> record_failing_transform(std::int64_t n) {
    return std::make_shared<RecordFailingTransform>(n);
}
std::shared_ptr<const Stage> flaky_source(std::shared_ptr<std::atomic<bool>> ready,
                                          std::shared_ptr<std::atomic<int>> opens,
                                          std::size_t count, ErrorKind kind) {
    return std::make_shared<FlakySource>(std::move(ready), std::move(opens), count, kind);
}
std::shared_ptr<const Stage> stall_sink(MetricsRegistry* metrics, std::string source_id,
                                        std::shared_ptr<LeadProbe> probe,
                                        std::shared_ptr<Collected> out) {
    return std::make_shared<StallSink>(metrics, std::move(source_id), std::move(probe),
                                       std::move(out));
}
std::shared_ptr<const Stage> blocking_sink() {
    return std::make_shared<BlockingSink>();
}

SpecBuilder& SpecBuilder::executor(ExecutorKind k) {
    spec_.global.executor = k;
    return *this;
}
SpecBuilder& SpecBuilder::strategy(ErrorStrategy s) {
    spec_.error_handling.strategy = s;
    return *this;
}
SpecBuilder& SpecBuilder::buffer(std::size_t records) {
    spec_.global.channel_buffer_size = records;
    return *this;
}
SpecBuilder& SpecBuilder::batch_size(std::size_t records) {
    spec_.global.batch_size = records;
    return *this;
}
SpecBuilder& SpecBuilder::stage(std::string id, std::shared_ptr<const Stage> stage,
                                std::vector<std::string> inputs) {
    StageSpec s;
    s.id = std::move(id);
    s.function = "test";
    s.inputs = std::move(inputs);
    s.stage = std::move(stage);
    spec_.stages.push_back(std::move(s));
    return *this;
}
PipelineSpec SpecBuilder::build() const {
    PipelineSpec p;
    p.name = "test";
    p.file = "test.toml";
    p.global = spec_.global;
    p.error_handling = spec_.error_handling;
    for (const StageSpec& s : spec_.stages) {
        StageSpec c;
        c.id = s.id;
        c.function = s.function;
        c.inputs = s.inputs;
        c.stage = s.stage;
        c.error_handling = spec_.error_handling;
        p.stages.push_back(std::move(c));
    }
    return p;
}

} // namespace conveyor::test
