// limit.apply: passes on at most `count` records after skipping `offset`, then stops taking
// input, so that its producers (and a source with no other consumer) stop early, as `head`.

#include "conveyor/obs/metrics.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <limits>

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

class LimitStage final : public Stage {
public:
    LimitStage(std::uint64_t count, std::uint64_t offset) : count_(count), offset_(offset) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        OpenedStage opened(std::make_unique<LimitOperator>(count_, offset_, ctx.metrics), in);
        opened.fixed_schema = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        // It counts what it has passed on, which a checkpoint would have to keep: a run with
        // a limit takes no checkpoints (--resume starts over).
        opened.checkpoints = false;
        return opened;
    }

    [[nodiscard]] std::optional<std::uint64_t> takes_at_most() const override {
        return count_ + offset_;
    }

private:
    std::uint64_t count_;
    std::uint64_t offset_;
};

struct LimitOptions {
    std::int64_t count = 0; ///< required
    std::int64_t offset = 0;
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
                 {.description = "Records to skip first.", .min = 0});
    return table;
}

std::unique_ptr<Stage> build_limit(BuildContext&, const LimitOptions& o) {
    return std::make_unique<LimitStage>(static_cast<std::uint64_t>(o.count),
                                        static_cast<std::uint64_t>(o.offset));
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
        "as filtered. A run with limit.apply takes no checkpoints (--resume starts over).";
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
