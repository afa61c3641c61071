// limit.apply: passes on at most `count` records after skipping `offset`, then stops taking
// input, so that its producers (and a source with no other consumer) stop early, as `head`.
// With `by`, count and offset hold per group (`mlr head -n 2 -g region`) and it reads on.
// With from = "end" it passes on the last records instead (`mlr tail`, tail.hpp).

#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "tail.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace conveyor::plugins::limit {

namespace {

class LimitOperator final : public Operator {
public:
    LimitOperator(std::uint64_t count, std::uint64_t offset, StageMetrics* metrics)
        : count_(count), offset_(offset), metrics_(metrics) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const std::uint64_t rows = batch.rows();
        // Records [skip, skip + take) of this batch go on.
        const std::uint64_t skip = std::min(rows, offset_ > seen_ ? offset_ - seen_ : 0);
        const std::uint64_t room = count_ > passed_ ? count_ - passed_ : 0;
        const std::uint64_t take = std::min(rows - skip, room);
        seen_ += rows;
        passed_ += take;
        if (metrics_) metrics_->records_filtered.fetch_add(rows - take, std::memory_order_relaxed);
        if (take == 0) return {};
        if (take != rows) {
            keep_.assign(rows, 0);
            std::fill(keep_.begin() + static_cast<std::ptrdiff_t>(skip),
                      keep_.begin() + static_cast<std::ptrdiff_t>(skip + take), 1);
            batch.retain_rows(keep_);
        }
        out.emit(std::move(batch));
        return {};
    }

    /// Once `count` records went on, the rest of the input is not needed.
    [[nodiscard]] bool satisfied() const noexcept override { return passed_ >= count_; }

private:
    std::uint64_t count_;
    std::uint64_t offset_;
    StageMetrics* metrics_;
    std::uint64_t seen_ = 0;
    std::uint64_t passed_ = 0;
    std::vector<std::uint8_t> keep_;
};

/// limit.apply with `by`: the records [offset, offset + count) of each group go on, in input
/// order; it keeps one counter per group and reads its whole input.
class GroupLimitOperator final : public Operator {
public:
    GroupLimitOperator(std::span<const expr::Operand> by, std::uint64_t count, std::uint64_t offset,
                       const OpenContext& ctx)
        : reader_(by), count_(count), offset_(offset), stage_(ctx.stage_id), errors_(ctx.errors),
          metrics_(ctx.metrics) {
        values_.resize(by.size());
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        reader_.bind(batch.schema_ref());
        const std::size_t rows = batch.rows();
        keep_.assign(rows, 0);
        std::size_t kept = 0;
        std::size_t failed = 0; // counted by errors_, not as filtered
        for (std::size_t r = 0; r < rows; ++r) {
            if (!reader_.read(batch.row(r), batch.arena(), values_.data())) {
                Error e(ErrorKind::Data, reader_.error());
                if (!errors_) return std::move(e).in_stage(stage_);
                CONVEYOR_TRY(errors_->record_failed(batch.schema(), batch.row(r), std::move(e)));
                ++failed;
                continue;
            }
            key_.clear();
            for (const Value& v : values_)
                encode_key(key_, v);
            const std::uint64_t seen = seen_[key_]++;
            if (seen >= offset_ && seen - offset_ < count_) {
                keep_[r] = 1;
                ++kept;
            }
        }
        if (metrics_)
            metrics_->records_filtered.fetch_add(rows - kept - failed, std::memory_order_relaxed);
        if (kept == 0) return {};
        if (kept != rows) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    expr::OperandReader reader_;
    std::uint64_t count_;
    std::uint64_t offset_;
    std::string stage_;
    StageErrors* errors_;
    StageMetrics* metrics_;
    std::vector<Value> values_;
    std::string key_;
    std::unordered_map<std::string, std::uint64_t> seen_; ///< records of each group so far
    std::vector<std::uint8_t> keep_;
};

/// Which records limit.apply passes on: the first ones or the last ones.
enum class From : std::uint8_t { Start, End };

class LimitStage final : public Stage {
public:
    LimitStage(std::uint64_t count, std::uint64_t offset, std::vector<expr::Operand> by, From from)
        : count_(count), offset_(offset), by_(std::move(by)), from_(from) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed)
            for (const expr::Operand& k : by_)
                if (auto why = k.check(*in)) return fail(ErrorKind::Config, "by: " + *why);
        std::unique_ptr<Operator> op;
        if (from_ == From::End)
            op = make_tail_operator(by_, count_, offset_, ctx);
        else if (by_.empty())
            op = std::make_unique<LimitOperator>(count_, offset_, ctx.metrics);
        else
            op = std::make_unique<GroupLimitOperator>(by_, count_, offset_, ctx);
        OpenedStage opened(std::move(op), in);
        opened.fixed_schema = fixed;
        // It counts what it has passed on, which a checkpoint would have to keep: a run with
        // a limit takes no checkpoints (--resume starts over).
        opened.checkpoints = false;
        return opened;
    }

    [[nodiscard]] std::optional<std::uint64_t> takes_at_most() const override {
        // Any record may start a group, or be among the last ones.
        if (!by_.empty() || from_ == From::End) return std::nullopt;
        return count_ + offset_;
    }

    /// The last records wait for the end of the input, up to the stage's memory share.
    [[nodiscard]] bool may_hold_records() const override { return from_ == From::End; }

private:
    std::uint64_t count_;
    std::uint64_t offset_;
    std::vector<expr::Operand> by_;
    From from_;
};

struct LimitOptions {
    std::int64_t count = 0; ///< required
    std::int64_t offset = 0;
    std::vector<std::string> by;
    From from = From::Start;
};

const OptionTable<LimitOptions>& limit_options() {
    static const auto table =
        OptionTable<LimitOptions>()
            .add("count", &LimitOptions::count,
                 {.description = "Records to pass on at most (0 passes none).",
                  .required = true,
                  .min = 0,
                  .example = "100"})
            .add("offset", &LimitOptions::offset,
                 {.description = "Records to skip first (with from = \"end\": the last ones "
                                 "to leave out).",
                  .min = 0})
            .add_choice("from", &LimitOptions::from, {{"start", From::Start}, {"end", From::End}},
                        {.description = "\"start\": the first records, as `head`; \"end\": "
                                        "the last ones, as `tail` and `mlr tail`, in input order "
                                        "(the whole input is read; the records that may be "
                                        "among them are held, and spilled beyond the stage's "
                                        "share of [global] memory_limit)."})
            .add("by", &LimitOptions::by,
                 {.description = "Groups (fields, paths or expressions): count and offset hold "
                                 "per group, as `mlr head -n 2 -g region`; the whole input is "
                                 "read, keeping one counter per group.",
                  .example = "[\"region\"]"});
    return table;
}

std::unique_ptr<Stage> build_limit(BuildContext& ctx, const LimitOptions& o) {
    if (ctx.global().shard) {
        // Each shard would pass its own first `count` records: N shards, N times as many.
        ctx.error("count", "limit.apply counts over the whole input, and a sharded run gives "
                           "each shard a share (each would pass its own first " +
                               std::to_string(o.count) +
                               " records): run it on the finalized output, or without --shard");
        return nullptr;
    }
    if (o.from == From::End && ctx.global().execution_mode == ExecutionMode::Streaming) {
        ctx.error("from", "from = \"end\" passes on the last records of the input, and a stream "
                          "has no last records: use execution_mode = \"batch\"");
        return nullptr;
    }
    std::vector<expr::Operand> by;
    for (const std::string& k : o.by)
        by.push_back(expr::Operand::parse(k));
    return std::make_unique<LimitStage>(static_cast<std::uint64_t>(o.count),
                                        static_cast<std::uint64_t>(o.offset), std::move(by),
                                        o.from);
}

FunctionDescriptor limit_apply() {
    FunctionDescriptor fn;
    fn.name = "limit.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Pass on the first `count` records (after `offset`), then stop reading; or "
                 "the last ones";
    fn.description =
        "Passes on at most `count` records, after skipping the first `offset`, in input order. "
        "Once it has passed `count` records it takes no more input: its producers stop sending, "
        "and a source whose only consumers are done stops reading (like `head`), so a limit "
        "after a large file ends the run early. The records skipped or not taken are counted "
        "as filtered. With `by`, count and offset hold per group (the first records of each "
        "group, as `mlr head -g`; after sort.apply, the top N of each group) and the whole "
        "input is read. With from = \"end\" it passes on the last `count` records instead (before "
        "the last `offset`; of each group with `by`), as `tail` and `mlr tail -n`, in input "
        "order, once the input has ended. A run with limit.apply takes no checkpoints "
        "(--resume starts over).";
    fn.options = limit_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(limit_options(), build_limit);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::limit

namespace conveyor::plugins {

void register_limit(Registry& registry) {
    registry.add("limit.apply", limit::limit_apply);
}

} // namespace conveyor::plugins
