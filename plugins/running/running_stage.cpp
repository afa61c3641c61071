#include "running_stage.hpp"

#include "conveyor/core/column_layout.hpp"
#include "lead_buffer.hpp"
#include "running_state.hpp"

#include <fmt/format.h>
#include <limits>
#include <optional>

namespace conveyor::plugins::running {

namespace {

class RunningOperator final : public Operator {
public:
    RunningOperator(const RunningSpec& spec, const OpenContext& ctx)
        : state_(spec, ctx.errors, std::string(ctx.stage_id)) {
        if (spec.has_lead) leads_.emplace(spec, ctx);
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        if (batch.empty()) return {};
        if (!leads_) {
            CONVEYOR_TRY(state_.compute(batch, nullptr));
            out.emit(std::move(batch));
            return {};
        }
        leads_->hold(std::move(batch));
        CONVEYOR_TRY(emit_ready(out, false, std::numeric_limits<std::size_t>::max()));
        return leads_->spill_if_over();
    }

    Status finish(Emitter&) override { return {}; }

    Result<bool> finish_more(Emitter& out) override {
        // The leads still missing have no record that far ahead: they stay null.
        if (!leads_ || leads_->empty()) return false;
        CONVEYOR_TRY(emit_ready(out, true, 1));
        return !leads_->empty();
    }

    void abort() noexcept override {
        if (leads_) leads_->abort();
    }

private:
    /// Computes and emits the held records that wait for nothing (all at the end of the
    /// input), in order, at most `max` batches of them.
    Status emit_ready(Emitter& out, bool at_end, std::size_t max) {
        ready_.clear();
        Result<bool> took = leads_->take_ready(at_end, ready_, max);
        if (!took) return std::move(took).error();
        for (ReadyRecords& r : ready_) {
            CONVEYOR_TRY(state_.compute(r.batch, &r.leads));
            out.emit(std::move(r.batch));
        }
        ready_.clear();
        return {};
    }

    RunningState state_;
    std::optional<LeadBuffer> leads_;
    std::vector<ReadyRecords> ready_;
};

} // namespace

Result<OpenedStage> RunningStage::open(const OpenContext& ctx) const {
    const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
    const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
    SchemaRef out = in;
    if (in && fixed) {
        for (const expr::Operand& k : spec_.by)
            if (auto why = k.check(*in)) return fail(ErrorKind::Config, "by: " + *why);
        for (std::size_t o = 0; o < spec_.operations.size(); ++o)
            if (const auto& input = spec_.operations[o].input)
                if (auto why = input->check(*in))
                    return fail(ErrorKind::Config,
                                fmt::format("operations[{}].column: {}", o, *why));
        const ColumnLayout layout = layout_setting(*in, spec_.outputs);
        if (layout.schema) out = layout.schema;
    } else if (in) {
        out = nullptr;
    }
    OpenedStage opened(std::make_unique<RunningOperator>(spec_, ctx), out);
    opened.fixed_schema = fixed && out;
    opened.checkpoints = false; // running states are not part of a checkpoint
    return opened;
}

} // namespace conveyor::plugins::running
