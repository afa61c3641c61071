// limit.apply: passes on at most `count` records after skipping `offset`, then stops taking
// input, so that its producers (and a source with no other consumer) stop early, as `head`.
// With `by`, count and offset hold per group (`mlr head -n 2 -g region`) and it reads on.

#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

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

class LimitStage final : public Stage {
public:
    LimitStage(std::uint64_t count, std::uint64_t offset, std::vector<expr::Operand> by)
        : count_(count), offset_(offset), by_(std::move(by)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed)
            for (const expr::Operand& k : by_)
                if (auto why = k.check(*in)) return fail(ErrorKind::Config, "by: " + *why);
        std::unique_ptr<Operator> op;
        if (by_.empty())
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
        if (!by_.empty()) return std::nullopt; // any record may start a group
        return count_ + offset_;
    }

private:
    std::uint64_t count_;
    std::uint64_t offset_;
    std::vector<expr::Operand> by_;
};

struct LimitOptions {
    std::int64_t count = 0; ///< required
    std::int64_t offset = 0;
    std::vector<std::string> by;
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
                 {.description = "Records to skip first.", .min = 0})
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
    std::vector<expr::Operand> by;
    for (const std::string& k : o.by)
        by.push_back(expr::Operand::parse(k));
    return std::make_unique<LimitStage>(static_cast<std::uint64_t>(o.count),
                                        static_cast<std::uint64_t>(o.offset), std::move(by));
}

FunctionDescriptor limit_apply() {
    FunctionDescriptor fn;
    fn.name = "limit.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Pass on the first `count` records (after `offset`), then stop reading";
    fn.description =
        "Passes on at most `count` records, after skipping the first `offset`, in input order. "
        "Once it has passed `count` records it takes no more input: its producers stop sending, "
        "and a source whose only consumers are done stops reading (like `head`), so a limit "
        "after a large file ends the run early. The records skipped or not taken are counted "
        "as filtered. With `by`, count and offset hold per group (the first records of each "
        "group, as `mlr head -g`; after sort.apply, the top N of each group) and the whole "
        "input is read. A run with limit.apply takes no checkpoints (--resume starts over).";
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
