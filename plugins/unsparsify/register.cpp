// unsparsify.apply (Miller's unsparsify): every record gets every field any record has, in the
// order the fields first appear, a field it lacks set to null (or `fill_with`). The union is
// known only once the input has ended, so the stage holds its input: in memory up to its
// share of [global] memory_limit, then in one spill run (records in input order) read back at
// the end.

#include "conveyor/core/key_table.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/emitter.hpp"

#include <spdlog/spdlog.h>

namespace conveyor::plugins::unsparsify {

namespace {

struct UnsparsifyOptions {
    std::optional<std::string> fill_with;
};

const OptionTable<UnsparsifyOptions>& unsparsify_options() {
    static const auto table = OptionTable<UnsparsifyOptions>().add(
        "fill_with", &UnsparsifyOptions::fill_with,
        {.description = "The value a record gets for a field it lacks (text; Miller's "
                        "--fill-with). Unset: null (an empty CSV field, null in JSON).",
         .example = "\"\""});
    return table;
}

class UnsparsifyOperator final : public Operator {
public:
    UnsparsifyOperator(const UnsparsifyOptions& options, const OpenContext& ctx, bool fixed)
        : fixed_(fixed), batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
          stage_(ctx.stage_id), files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir,
                                       stage_, ctx.run ? &ctx.run->temp_files() : nullptr) {
        if (options.fill_with) {
            auto text = std::make_shared<const std::string>(*options.fill_with);
            fill_ = Value::string(*text);
            fill_owner_ = std::move(text);
        }
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        if (batch.empty()) return {};
        if (fixed_) {
            // A header: every record has every field already.
            out.emit(std::move(batch));
            return {};
        }
        note_fields(batch);
        if (run_) return spill(batch);
        bytes_ += batch.memory_bytes();
        held_.push_back(std::move(batch));
        if (bytes_ <= budget_) return {};
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error().in_stage(stage_);
        run_.emplace(std::move(*w));
        spdlog::info("stage '{}': records beyond its memory share ({}): spilled to {}", stage_,
                     obs::human_bytes(budget_), files_.dir());
        for (Batch& b : held_)
            CONVEYOR_TRY(spill(b));
        held_.clear();
        bytes_ = 0;
        return {};
    }

    Status finish(Emitter&) override {
        schema_ = make_schema(names_);
        if (!run_) return {};
        CONVEYOR_TRY(run_->close());
        auto merger = spill::Merger::open({run_->path()}, 1, spill::compare_sequence);
        if (!merger) return std::move(merger).error().in_stage(stage_);
        merger_ = std::move(*merger);
        return {};
    }

    Result<bool> finish_more(Emitter& out) override {
        if (next_held_ < held_.size()) {
            Batch b = std::move(held_[next_held_++]);
            out.emit(widened(std::move(b)));
            return true;
        }
        if (!merger_) return false;
        std::vector<Batch> batches;
        Result<bool> more = merger_->next(batch_size_, batches);
        if (!more) return std::move(more).error().in_stage(stage_);
        for (Batch& b : batches)
            out.emit(widened(std::move(b)));
        if (!*more) {
            merger_.reset();
            files_.remove_all();
        }
        return *more;
    }

    void abort() noexcept override {
        merger_.reset();
        run_.reset();
        files_.remove_all();
    }

private:
    /// The fields of the batch's records in the order they appear in them: a batch's schema
    /// may be the union of its records' fields in another order (a JSON reader's).
    void note_fields(const Batch& batch) {
        const Schema& schema = batch.schema();
        noted_.assign(schema.size(), 0);
        std::size_t left = schema.size();
        for (std::size_t r = 0; r < batch.rows() && left > 0; ++r) {
            const auto row = batch.row(r);
            for (std::size_t c = 0; c < row.size(); ++c) {
                if (noted_[c] || row[c].is_absent()) continue;
                noted_[c] = 1;
                --left;
                if (fields_.insert(schema.name(c)).second) names_.emplace_back(schema.name(c));
            }
        }
    }

    Status spill(const Batch& b) {
        for (std::size_t r = 0; r < b.rows(); ++r) {
            const Value seq = Value::integer(seq_++);
            Status st = run_->add(std::span<const Value>(&seq, 1), b.schema(), b.row(r));
            if (!st) return std::move(st).error().in_stage(stage_);
        }
        return {};
    }

    /// `b` with every field of the input, a value it lacks filled in.
    Batch widened(Batch b) {
        source_.assign(names_.size(), Batch::npos);
        for (std::size_t i = 0; i < names_.size(); ++i)
            if (const auto c = b.schema().find(names_[i])) source_[i] = *c;
        b.remap_columns(schema_, source_);
        for (std::size_t r = 0; r < b.rows(); ++r)
            for (Value& v : b.row(r))
                if (v.is_absent()) v = fill_;
        if (fill_owner_) b.keep_alive(fill_owner_);
        return b;
    }

    bool fixed_;
    Value fill_ = Value::null();
    std::shared_ptr<const void> fill_owner_; ///< the text fill_ points to
    std::size_t batch_size_;
    std::uint64_t budget_;
    std::string stage_;
    spill::Files files_;

    KeyTable fields_;
    std::vector<std::string> names_; ///< every field seen, in order of first appearance
    SchemaRef schema_;
    std::vector<std::size_t> source_;
    std::vector<std::uint8_t> noted_;
    std::vector<Batch> held_;
    std::uint64_t bytes_ = 0;
    std::size_t next_held_ = 0;
    std::int64_t seq_ = 0;
    std::optional<spill::RunWriter> run_;
    std::unique_ptr<spill::Merger> merger_;
};

class UnsparsifyStage final : public Stage {
public:
    explicit UnsparsifyStage(UnsparsifyOptions options) : options_(std::move(options)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        // Over a fixed schema (CSV) every record has every field already; elsewhere the fields
        // are known once the input has ended.
        OpenedStage opened(std::make_unique<UnsparsifyOperator>(options_, ctx, fixed),
                           fixed ? in : nullptr);
        opened.fixed_schema = fixed;
        opened.checkpoints = false; // the records held are not part of a checkpoint
        return opened;
    }

private:
    UnsparsifyOptions options_;
};

std::unique_ptr<Stage> build_unsparsify(BuildContext&, UnsparsifyOptions o) {
    return std::make_unique<UnsparsifyStage>(std::move(o));
}

FunctionDescriptor unsparsify_apply() {
    FunctionDescriptor fn;
    fn.name = "unsparsify.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Give every record every field any record has (for CSV from uneven JSON)";
    fn.description =
        "Puts out every record with the union of the fields of all records, in the order they "
        "first appear, a field a record lacks set to null or to `fill_with` ({\"a\": 1} and "
        "{\"b\": 2} become {\"a\": 1, \"b\": null} and {\"a\": null, \"b\": 2}), as Miller's "
        "unsparsify: JSON records of different shapes then make one CSV header. Records keep "
        "their input order. The union is known only at the end of the input, so the stage "
        "holds it: up to its share of [global] memory_limit in memory, beyond it in a spill "
        "file under state_dir/spill. A run with it takes no checkpoints: --resume reads its "
        "input again.";
    fn.options = unsparsify_options().specs();
    fn.needs_whole_input = true;
    fn.factory = bind_options(unsparsify_options(), build_unsparsify);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::unsparsify

namespace conveyor::plugins {

void register_unsparsify(Registry& registry) {
    registry.add("unsparsify.apply", unsparsify::unsparsify_apply);
}

} // namespace conveyor::plugins
