#include "support/checkpoint_stages.hpp"

#include "conveyor/core/batch.hpp"

#include <algorithm>
#include <chrono>

namespace conveyor::test {

namespace {

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
    CountSource(std::string name, std::uint64_t count, std::int64_t offset,
                std::shared_ptr<Ledger> ledger)
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
    std::shared_ptr<std::atomic<std::uint64_t>> emitted =
        std::make_shared<std::atomic<std::uint64_t>>(0);

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
        OpenedStage o(std::unique_ptr<Operator>(std::make_unique<Op>()),
                      ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0]);
        o.checkpoints = true;
        return o;
    }
};

/// A sink that "crashes" (fails) once it has taken `crash_after` records in this run.
class ResumableSink final : public Stage {
    class Op final : public Operator {
    public:
        Op(std::shared_ptr<Output> out, std::uint64_t crash_after, std::shared_ptr<Ledger> ledger,
           std::shared_ptr<Output> wait_for)
            : out_(std::move(out)), crash_after_(crash_after), ledger_(std::move(ledger)),
              wait_for_(std::move(wait_for)) {}
        Status push(std::size_t, Batch&& b, Emitter&) override {
            {
                std::lock_guard lock(out_->mu);
                for (std::size_t r = 0; r < b.rows(); ++r)
                    out_->rows.push_back(b.at(r, 0).as_int());
                taken_ += b.rows();
            }
            if (!crash_after_ || taken_ < crash_after_) return {};
            if (wait_for_ && !armed_at_) {
                // Bounded, so that a broken run fails the test instead of hanging it.
                std::unique_lock lock(wait_for_->mu);
                wait_for_->changed.wait_for(lock, std::chrono::seconds(10),
                                            [this] { return wait_for_->finished; });
                // The other sink reported its last checkpoint before it finished: once this
                // sink reported it too, that checkpoint is complete (every source reports a
                // marker's state before emitting it), so the crash must come after it.
                armed_at_ = std::max<std::uint64_t>(1, wait_for_->last_checkpoint);
            }
            if (wait_for_ && reported_ < armed_at_) return {};
            return fail(ErrorKind::Internal, "simulated crash");
        }
        Status finish(Emitter&) override {
            {
                std::lock_guard lock(out_->mu);
                out_->finished = true;
            }
            out_->changed.notify_all();
            return {};
        }
        Result<std::string> checkpoint(const Checkpoint& cp) override {
            std::lock_guard lock(out_->mu);
            ledger_->note("sink", cp.id, out_->rows.size());
            out_->last_checkpoint = cp.id;
            reported_ = cp.id;
            return std::to_string(out_->rows.size());
        }

    private:
        std::shared_ptr<Output> out_;
        std::uint64_t crash_after_;
        std::shared_ptr<Ledger> ledger_;
        std::shared_ptr<Output> wait_for_;
        std::uint64_t taken_ = 0;
        std::uint64_t armed_at_ = 0; ///< with wait_for_: crash once reported_ reaches it
        std::uint64_t reported_ = 0;
    };

public:
    ResumableSink(std::shared_ptr<Output> out, std::uint64_t crash_after,
                  std::shared_ptr<Ledger> ledger, bool reject_resume,
                  std::shared_ptr<Output> wait_for)
        : out_(std::move(out)), crash_after_(crash_after), ledger_(std::move(ledger)),
          reject_resume_(reject_resume), wait_for_(std::move(wait_for)) {}
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (ctx.resume && reject_resume_)
            return fail(ErrorKind::NoInput, "the output at the checkpoint is gone");
        Result<std::uint64_t> keep = parse_count(ctx.resume);
        if (!keep) return std::move(keep).error();
        {
            std::lock_guard lock(out_->mu);
            if (*keep > out_->rows.size())
                return fail(ErrorKind::Config, "output shorter than the checkpoint");
            out_->rows.resize(*keep);
            out_->finished = false;
        }
        OpenedStage o(
            std::unique_ptr<Operator>(std::make_unique<Op>(out_, crash_after_, ledger_, wait_for_)),
            nullptr);
        o.checkpoints = true;
        return o;
    }

private:
    std::shared_ptr<Output> out_;
    std::uint64_t crash_after_;
    std::shared_ptr<Ledger> ledger_;
    bool reject_resume_;
    std::shared_ptr<Output> wait_for_;
};

} // namespace

CountSourceHandle count_source(std::string name, std::uint64_t count, std::int64_t offset,
                               std::shared_ptr<Ledger> ledger) {
    auto s = std::make_shared<CountSource>(std::move(name), count, offset, std::move(ledger));
    return {s, s->emitted};
}
std::shared_ptr<const Stage> pass_stage() {
    return std::make_shared<PassStage>();
}
std::shared_ptr<const Stage> resumable_sink(std::shared_ptr<Output> out, std::uint64_t crash_after,
                                            std::shared_ptr<Ledger> ledger, bool reject_resume,
                                            std::shared_ptr<Output> crash_after_finished_of) {
    return std::make_shared<ResumableSink>(std::move(out), crash_after, std::move(ledger),
                                           reject_resume, std::move(crash_after_finished_of));
}

} // namespace conveyor::test
