// distinct.apply: one record per key (the `columns`, or the whole record), the first or the
// last of each, in input order. keep = "first" passes records on as they come and holds only
// the keys seen; keep = "last" holds the input. Beyond the stage's share of [global]
// memory_limit, records not yet decided go to hash partitions in the spill directory; each is
// deduplicated on its own at the end and the survivors are merged back into input order.

#include "conveyor/core/key_table.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>

namespace conveyor::plugins::distinct {

namespace {

constexpr std::size_t kPartitions = 16;

enum class Keep : std::uint8_t { First, Last };

struct DistinctSpec {
    std::vector<expr::Operand> columns; ///< empty: every field
    Keep keep = Keep::First;
};

class DistinctOperator final : public Operator {
public:
    DistinctOperator(const DistinctSpec& spec, const OpenContext& ctx)
        : spec_(spec), reader_(spec.columns), batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
          stage_(ctx.stage_id), files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir,
                                       stage_, ctx.run ? &ctx.run->temp_files() : nullptr),
          errors_(ctx.errors), metrics_(ctx.metrics) {
        values_.resize(spec.columns.size());
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        if (batch.empty()) return {};
        reader_.bind(batch.schema_ref());
        const std::size_t rows = batch.rows();
        keep_.assign(rows, 0);
        std::size_t kept = 0;
        std::size_t failed = 0;  // counted as failed by errors_, not as filtered
        std::size_t spilled = 0; // decided (and counted) when their partition is
        for (std::size_t r = 0; r < rows; ++r) {
            const std::int64_t seq = seq_++;
            Result<bool> ok = key_of(batch.schema(), batch.row(r), batch.arena());
            if (!ok) return std::move(ok).error();
            if (!*ok) { // a record error, handled
                ++failed;
                continue;
            }
            if (parts_) {
                if (spec_.keep == Keep::First && seen_.find(key_)) continue;
                CONVEYOR_TRY(spill_row(seq, batch.schema(), batch.row(r)));
                ++spilled;
                continue;
            }
            const auto [slot, inserted] = seen_.insert(key_);
            if (spec_.keep == Keep::First) {
                if (!inserted) continue;
                keep_[r] = 1;
                ++kept;
            } else {
                if (inserted)
                    last_.push_back(seq);
                else
                    last_[slot] = seq;
                keep_[r] = 1;
            }
        }
        if (spec_.keep == Keep::First) {
            if (metrics_)
                metrics_->records_filtered.fetch_add(rows - kept - failed - spilled,
                                                     std::memory_order_relaxed);
            if (kept != rows) batch.retain_rows(keep_);
            if (kept) out.emit(std::move(batch));
        } else if (!parts_) {
            first_seq_.push_back(seq_ - static_cast<std::int64_t>(rows));
            held_keep_.emplace_back(keep_.begin(), keep_.end());
            bytes_ += batch.memory_bytes() + rows;
            held_.push_back(std::move(batch));
        }
        if (!parts_ && bytes_ + seen_.memory_bytes() + last_.capacity() * 8 > budget_)
            return start_spilling();
        return {};
    }

    Status finish(Emitter&) override {
        if (!parts_) return {};
        auto merger = spill::merge_partitions_in_sequence(
            files_, *parts_, budget_, [&](const std::string& p) { return dedupe_partition(p); });
        parts_.reset();
        if (!merger) return std::move(merger).error().in_stage(stage_);
        merger_ = std::move(*merger);
        return {};
    }

    Result<bool> finish_more(Emitter& out) override {
        // keep = "last", in memory: the held batches, each without the records a later one
        // of the same key replaced.
        while (next_held_ < held_.size()) {
            Batch b = std::move(held_[next_held_]);
            const std::int64_t first = first_seq_[next_held_];
            std::vector<std::uint8_t>& keep = held_keep_[next_held_];
            ++next_held_;
            reader_.bind(b.schema_ref());
            std::size_t kept = 0;
            std::size_t keyed = 0; // the others failed, counted by errors_
            for (std::size_t r = 0; r < b.rows(); ++r) {
                if (!keep[r]) continue;
                ++keyed;
                Result<bool> ok = key_of(b.schema(), b.row(r), b.arena(), false);
                if (!ok) return std::move(ok).error();
                keep[r] = last_[*seen_.find(key_)] == first + static_cast<std::int64_t>(r) ? 1 : 0;
                kept += keep[r];
            }
            if (metrics_)
                metrics_->records_filtered.fetch_add(keyed - kept, std::memory_order_relaxed);
            if (kept == 0) continue;
            if (kept != b.rows()) b.retain_rows(keep);
            out.emit(std::move(b));
            return true;
        }
        if (!merger_) return false;
        Result<bool> more = spill::emit_merged(merger_, batch_size_, out, files_);
        if (!more) return std::move(more).error().in_stage(stage_);
        return *more;
    }

    void abort() noexcept override {
        merger_.reset();
        parts_.reset();
        files_.remove_all();
    }

private:
    /// The key of `row` into key_. False when reading it failed and the stage's strategy
    /// let the record go (counted, dead-lettered); an error when the run must stop.
    Result<bool> key_of(const Schema& schema, std::span<const Value> row, Arena& arena,
                        bool report = true) {
        key_.clear();
        if (spec_.columns.empty()) {
            for (std::size_t c = 0; c < row.size(); ++c) {
                if (row[c].is_absent()) continue;
                const std::string_view name = schema.name(c);
                const auto n = static_cast<std::uint32_t>(name.size());
                key_.append(reinterpret_cast<const char*>(&n), sizeof n);
                key_.append(name);
                encode_key(key_, row[c]);
            }
            return true;
        }
        if (!reader_.read(row, arena, values_.data())) {
            if (!report) return false;
            Error e(ErrorKind::Data, reader_.error());
            if (!errors_) return std::move(e).in_stage(stage_);
            CONVEYOR_TRY(errors_->record_failed(schema, row, std::move(e)));
            return false;
        }
        for (const Value& v : values_)
            encode_key(key_, v);
        return true;
    }

    Status spill_row(std::int64_t seq, const Schema& schema, std::span<const Value> row) {
        Status st = parts_->add(key_, seq, schema, row);
        if (!st) return std::move(st).error().in_stage(stage_);
        return {};
    }

    /// Over the share: from now on records whose fate is open go to partitions. For
    /// keep = "last" that is every record, the held ones first.
    Status start_spilling() {
        parts_.emplace(files_, kPartitions);
        spdlog::info("stage '{}': keys beyond its memory share ({}): records spilled to {}", stage_,
                     obs::human_bytes(budget_), files_.dir());
        if (spec_.keep == Keep::First) return {};
        for (std::size_t i = 0; i < held_.size(); ++i) {
            Batch& b = held_[i];
            reader_.bind(b.schema_ref());
            for (std::size_t r = 0; r < b.rows(); ++r) {
                if (!held_keep_[i][r]) continue;
                Result<bool> ok = key_of(b.schema(), b.row(r), b.arena(), false);
                if (!ok) return std::move(ok).error();
                CONVEYOR_TRY(
                    spill_row(first_seq_[i] + static_cast<std::int64_t>(r), b.schema(), b.row(r)));
            }
        }
        held_.clear();
        held_keep_.clear();
        first_seq_.clear();
        last_.clear();
        seen_.clear();
        bytes_ = 0;
        return {};
    }

    /// The records of one partition that survive, in input order, as a run of their own.
    Result<std::string> dedupe_partition(const std::string& path) {
        KeyTable part_keys;               // the partition's keys
        std::vector<std::int64_t> chosen; // per key: seq of the survivor
        auto scratch = std::make_unique<Arena>();
        std::size_t n = 0;
        auto keys = [&](const SchemaRef& schema, std::span<const Value> row) {
            reader_.bind(schema);
            if (++n % 4096 == 0) scratch = std::make_unique<Arena>();
            return key_of(*schema, row, *scratch, false);
        };
        CONVEYOR_TRY(spill::read_records(
            path, [&](std::int64_t seq, const SchemaRef& schema, std::span<const Value> row) {
                Result<bool> ok = keys(schema, row);
                if (!ok) return Status(std::move(ok).error());
                const auto [slot, inserted] = part_keys.insert(key_);
                if (inserted)
                    chosen.push_back(seq);
                else if (spec_.keep == Keep::Last)
                    chosen[slot] = seq;
                return Status();
            }));
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error();
        std::uint64_t dropped = 0;
        CONVEYOR_TRY(spill::read_records(
            path, [&](std::int64_t seq, const SchemaRef& schema, std::span<const Value> row) {
                Result<bool> ok = keys(schema, row);
                if (!ok) return Status(std::move(ok).error());
                if (chosen[*part_keys.find(key_)] != seq) {
                    ++dropped;
                    return Status();
                }
                const Value k = Value::integer(seq);
                return w->add(std::span<const Value>(&k, 1), *schema, row);
            }));
        CONVEYOR_TRY(w->close());
        files_.remove(path);
        if (metrics_) metrics_->records_filtered.fetch_add(dropped, std::memory_order_relaxed);
        return w->path();
    }

    const DistinctSpec& spec_;
    expr::OperandReader reader_;
    std::size_t batch_size_;
    std::uint64_t budget_;
    std::string stage_;
    spill::Files files_;
    StageErrors* errors_;
    StageMetrics* metrics_;

    std::int64_t seq_ = 0;
    std::string key_;
    std::vector<Value> values_;
    std::vector<std::uint8_t> keep_;
    std::uint64_t bytes_ = 0;

    KeyTable seen_;                  // keys seen (keep = "first": those passed on)
    std::vector<std::int64_t> last_; // keep = "last": per key, the seq of its last record
    std::vector<Batch> held_;        // keep = "last"
    std::vector<std::vector<std::uint8_t>> held_keep_; // rows with a readable key
    std::vector<std::int64_t> first_seq_;              // seq of each held batch's row 0
    std::size_t next_held_ = 0;

    std::optional<spill::Partitions> parts_;
    std::unique_ptr<spill::Merger> merger_;
};

class DistinctStage final : public Stage {
public:
    explicit DistinctStage(DistinctSpec spec) : spec_(std::move(spec)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed)
            for (const expr::Operand& c : spec_.columns)
                if (auto why = c.check(*in)) return fail(ErrorKind::Config, "columns: " + *why);
        OpenedStage opened(std::make_unique<DistinctOperator>(spec_, ctx), in);
        opened.fixed_schema = fixed;
        opened.checkpoints = false; // the keys seen are not part of a checkpoint
        return opened;
    }

private:
    DistinctSpec spec_;
};

struct DistinctOptions {
    std::vector<std::string> columns;
    Keep keep = Keep::First;
};

const OptionTable<DistinctOptions>& distinct_options() {
    static const auto table =
        OptionTable<DistinctOptions>()
            .add("columns", &DistinctOptions::columns,
                 {.description = "The fields that make records the same (paths and expressions "
                                 "allowed); empty or absent: the whole record.",
                  .aliases = {"by"}, // as sort.apply and groupby.apply name their keys
                  .example = "[\"email\"]"})
            .add_choice("keep", &DistinctOptions::keep,
                        {{"first", Keep::First}, {"last", Keep::Last}},
                        {.description = "Which record of each key goes on: the first (passed on "
                                        "at once) or the last (known only at the end of the "
                                        "input). Either way records keep their input order."});
    return table;
}

std::unique_ptr<Stage> build_distinct(BuildContext&, const DistinctOptions& o) {
    DistinctSpec spec;
    spec.keep = o.keep;
    for (const std::string& c : o.columns)
        spec.columns.push_back(expr::Operand::parse(c));
    return std::make_unique<DistinctStage>(std::move(spec));
}

FunctionDescriptor distinct_apply() {
    FunctionDescriptor fn;
    fn.name = "distinct.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Drop duplicate records (by some fields or the whole record), keeping order";
    fn.description =
        "Passes on one record per distinct key: the values of `columns` (null and missing "
        "count as the same value; 1 and 1.0 are equal), or every field of the record when "
        "`columns` is empty. keep = \"first\" passes the first record of each key on as it "
        "comes; keep = \"last\" passes the last one on at the end of the input. Records keep "
        "their input order. The keys (and for \"last\" the records) are held up to the stage's "
        "share of [global] memory_limit; beyond it undecided records spill to hash partitions "
        "under state_dir/spill. Dropped records are counted as filtered. A run with distinct "
        "takes no checkpoints: --resume reads its input again.";
    fn.options = distinct_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.needs_whole_input = true;
    fn.shard_key_options = {"columns"};
    fn.factory = bind_options(distinct_options(), build_distinct);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::distinct

namespace conveyor::plugins {

void register_distinct(Registry& registry) {
    registry.add("distinct.apply", distinct::distinct_apply);
}

} // namespace conveyor::plugins
