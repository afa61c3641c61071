// sort.apply: a stable, multi-key sort. Input is held in memory up to the stage's share of
// [global] memory_limit; beyond it each full buffer is sorted and spilled as a run to the
// spill directory, and the runs are merged k-way at the end of the input (in passes of at
// most spill::fan_in_for(budget) runs). Output goes out a batch at a time
// (Operator::finish_more).

#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/field_watch.hpp"
#include "sort_order.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>
#include <queue>

namespace conveyor::plugins::sort {

namespace {

/// Largest limit after a sort kept as a top-N (beyond it the sort spills as usual).
constexpr std::uint64_t kMaxTop = 1000000;

class SortOperator final : public Operator {
public:
    SortOperator(const SortOrder& order, const OpenContext& ctx, std::optional<FieldWatch> watch)
        : order_(order), watch_(std::move(watch)),
          batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
          stage_(ctx.stage_id),
          // Removes what a killed run of this stage left, whether or not this run spills.
          files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir, stage_,
                 ctx.run ? &ctx.run->temp_files() : nullptr) {
        if (ctx.output_limit && *ctx.output_limit <= kMaxTop) top_ = *ctx.output_limit;
    }
    ~SortOperator() override { remove_runs(); }
    SortOperator(const SortOperator&) = delete;
    SortOperator& operator=(const SortOperator&) = delete;

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        if (batch.empty()) return {};
        if (watch_) watch_->saw(batch);
        const std::size_t nk = order_.keys.size();
        const auto& where = paths_.get(batch.schema_ref(), [&](const Schema& s) {
            std::vector<expr::ResolvedPath> w;
            for (const SortKey& k : order_.keys)
                w.push_back(expr::resolve(k.path, s));
            return w;
        });
        const auto b = static_cast<std::uint32_t>(batches_.size());
        std::size_t taken = 0;
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            const auto row = batch.row(r);
            const std::size_t at = keys_.size();
            for (std::size_t k = 0; k < nk; ++k)
                keys_.push_back(where[k].found()
                                    ? key_value(expr::lookup(order_.keys[k].path, where[k], row))
                                    : Value::absent());
            // A top-N holding N records already: one that does not go before the last of them
            // (equal keys keep input order) is not in it.
            if (top_ && !threshold_.empty() &&
                order_.compare(keys_.data() + at, threshold_.data()) >= 0) {
                keys_.resize(at);
                continue;
            }
            refs_.push_back({b, static_cast<std::uint32_t>(r)});
            ++taken;
        }
        if (taken == 0) return {};
        bytes_ += batch.memory_bytes() + taken * (nk * sizeof(Value) + sizeof(Ref));
        batches_.push_back(std::move(batch));
        if (top_) {
            // Compacted when the records held are twice the top, or when the batches kept
            // for the few records each still holds are many MiB over what the top needs.
            if (refs_.size() >= std::max<std::uint64_t>(2 * *top_, batch_size_ * 2) ||
                bytes_ > 2 * compacted_bytes_ + (std::uint64_t{8} << 20))
                compact_top();
            return {};
        }
        if (bytes_ > budget_) return spill();
        return {};
    }

    Status finish(Emitter&) override {
        if (watch_) watch_->finished();
        if (runs_.empty()) {
            sort_held();
            if (top_ && order_idx_.size() > *top_) order_idx_.resize(*top_);
            return {};
        }
        if (!refs_.empty()) CONVEYOR_TRY(spill());
        // Runs merged at once (more are merged in passes): as many readers as fit the budget.
        CONVEYOR_TRY(spill::merge_in_passes(
            runs_, spill::fan_in_for(budget_),
            [this](std::span<const std::string> group) { return merge_group(group); }));
        return start_merge(runs_);
    }

    Result<bool> finish_more(Emitter& out) override {
        if (runs_.empty()) return emit_held(out);
        return emit_merged(out);
    }

    void abort() noexcept override {
        readers_.clear();
        remove_runs();
    }

private:
    struct Ref {
        std::uint32_t batch;
        std::uint32_t row;
    };

    const Value* keys_of(std::uint32_t i) const { return keys_.data() + i * order_.keys.size(); }

    /// Sorts what is held (stable: equal keys keep their input order).
    /// Compares first keys reduced to 64 bits (SortOrder::prefix), the whole keys only when
    /// those are equal, and the input positions last.
    void sort_held() {
        struct Entry {
            std::uint64_t bits;
            std::uint32_t idx;
            std::uint8_t cls;
            bool exact;
        };
        std::vector<Entry> entries(refs_.size());
        for (std::uint32_t i = 0; i < entries.size(); ++i) {
            const SortOrder::Prefix p = order_.prefix(keys_of(i)[0]);
            entries[i] = Entry{p.bits, i, p.cls, p.exact};
        }
        const bool one_key = order_.keys.size() == 1;
        std::sort(entries.begin(), entries.end(), [this, one_key](const Entry& a, const Entry& b) {
            if (a.cls != b.cls) return a.cls < b.cls;
            if (a.bits != b.bits) return a.bits < b.bits;
            if (!(one_key && a.exact && b.exact))
                if (const int c = order_.compare(keys_of(a.idx), keys_of(b.idx)); c != 0)
                    return c < 0;
            return a.idx < b.idx;
        });
        order_idx_.resize(entries.size());
        for (std::size_t i = 0; i < entries.size(); ++i)
            order_idx_[i] = entries[i].idx;
        emitted_ = 0;
    }

    /// Top-N: keeps the first N records of what is held, copied into batches of their own so
    /// that the input batches go, and notes the last one's keys (the bar a record must pass).
    void compact_top() {
        sort_held();
        const std::size_t n = std::min<std::size_t>(order_idx_.size(), *top_);
        const std::size_t nk = order_.keys.size();
        std::vector<Batch> kept;
        std::vector<Value> keys;
        std::vector<Ref> refs;
        keys.reserve(n * nk);
        refs.reserve(n);
        auto arena = std::make_shared<Arena>();
        for (std::size_t i = 0; i < n; ++i) {
            const Ref& ref = refs_[order_idx_[i]];
            const Batch& src = batches_[ref.batch];
            if (kept.empty() || kept.back().schema_ref() != src.schema_ref()) {
                kept.emplace_back(src.schema_ref());
                kept.back().keep_alive(arena);
            }
            Batch& dst = kept.back();
            std::span<Value> row = dst.append_row();
            const auto from = src.row(ref.row);
            for (std::size_t c = 0; c < from.size(); ++c)
                row[c] = copy_into(*arena, from[c]);
            const Value* k = keys_of(order_idx_[i]);
            for (std::size_t j = 0; j < nk; ++j)
                keys.push_back(copy_into(*arena, k[j]));
            refs.push_back({static_cast<std::uint32_t>(kept.size() - 1),
                            static_cast<std::uint32_t>(dst.rows() - 1)});
        }
        batches_ = std::move(kept);
        keys_ = std::move(keys);
        refs_ = std::move(refs);
        order_idx_.clear();
        bytes_ = arena->reserved_bytes() + keys_.size() * sizeof(Value);
        for (const Batch& b : batches_)
            bytes_ += b.memory_bytes();
        compacted_bytes_ = bytes_;
        if (n == *top_ && n > 0) {
            threshold_.assign(keys_.end() - static_cast<std::ptrdiff_t>(nk), keys_.end());
            threshold_storage_ = arena;
        }
    }

    /// Sorts what is held and writes it as a run, then lets it go.
    Status spill() {
        sort_held();
        // Files knows the run from its creation on, so that a write that fails (a full disk)
        // leaves no file behind.
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error();
        const std::size_t nk = order_.keys.size();
        for (std::uint32_t i : order_idx_) {
            const Ref& ref = refs_[i];
            const Batch& b = batches_[ref.batch];
            CONVEYOR_TRY(
                w->add(std::span<const Value>(keys_of(i), nk), b.schema(), b.row(ref.row)));
        }
        CONVEYOR_TRY(w->close());
        spilled_bytes_ += w->bytes();
        runs_.push_back(w->path());
        if (runs_.size() == 1)
            spdlog::info("stage '{}': input beyond its memory share ({}): sorting in runs "
                         "spilled to {}",
                         stage_, obs::human_bytes(budget_), files_.dir());
        release_held();
        return {};
    }

    void release_held() {
        batches_.clear();
        held_storage_.reset();
        keys_.clear();
        refs_.clear();
        order_idx_.clear();
        bytes_ = 0;
    }

    /// Emits the next batch of held records in sorted order (records of one schema per batch).
    Result<bool> emit_held(Emitter& out) {
        // The held batches become one owner that every output batch keeps alive: an output
        // batch takes rows from up to batch_size of them.
        if (!held_storage_)
            held_storage_ = std::make_shared<std::vector<Batch>>(std::move(batches_));
        const std::vector<Batch>& held = *held_storage_;
        std::optional<Batch> cur;
        std::size_t n = 0;
        while (emitted_ < order_idx_.size() && n < batch_size_) {
            const Ref& ref = refs_[order_idx_[emitted_]];
            const Batch& src = held[ref.batch];
            if (cur && cur->schema_ref() != src.schema_ref()) {
                out.emit(std::move(*cur));
                cur.reset();
            }
            if (!cur) {
                cur.emplace(src.schema_ref(), batch_size_);
                cur->keep_alive(held_storage_);
            }
            cur->append_row(src.row(ref.row));
            ++emitted_;
            ++n;
        }
        if (cur) out.emit(std::move(*cur));
        if (emitted_ < order_idx_.size()) return true;
        release_held();
        return false;
    }

    /// Opens `paths` for merging (readers_ and the heap).
    Status start_merge(const std::vector<std::string>& paths) {
        readers_.clear();
        heap_ = decltype(heap_)(HeapOrder{this});
        for (const std::string& p : paths) {
            auto r = spill::RunReader::open(p, order_.keys.size());
            if (!r) return std::move(r).error().in_stage(stage_);
            readers_.push_back(std::move(*r));
            Result<bool> got = readers_.back()->next();
            if (!got) return std::move(got).error().in_stage(stage_);
            if (*got) heap_.push(readers_.size() - 1);
        }
        return {};
    }

    struct HeapOrder {
        const SortOperator* self;
        /// priority_queue keeps the largest on top: "a after b" puts b first. Ties go to the
        /// earlier run, which holds earlier input: the merge stays stable.
        bool operator()(std::size_t a, std::size_t b) const {
            const int c =
                self->order_.compare(self->readers_[a]->keys(), self->readers_[b]->keys());
            return c != 0 ? c > 0 : a > b;
        }
    };

    /// Merges `group` (consecutive runs) into one run.
    Result<std::string> merge_group(std::span<const std::string> group) {
        const std::vector<std::string> paths(group.begin(), group.end());
        CONVEYOR_TRY(start_merge(paths));
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error();
        while (!heap_.empty()) {
            const std::size_t i = heap_.top();
            heap_.pop();
            CONVEYOR_TRY(w->add_line(readers_[i]->line()));
            Result<bool> got = readers_[i]->next();
            if (!got) return std::move(got).error().in_stage(stage_);
            if (*got) heap_.push(i);
        }
        CONVEYOR_TRY(w->close());
        readers_.clear();
        for (const std::string& p : paths)
            files_.remove(p);
        return w->path();
    }

    Result<bool> emit_merged(Emitter& out) {
        std::optional<Batch> cur;
        const void* kept = nullptr;
        std::size_t n = 0;
        while (!heap_.empty() && n < batch_size_) {
            const std::size_t i = heap_.top();
            heap_.pop();
            spill::RunReader& r = *readers_[i];
            const std::span<const Member> fields = r.record().as_object();
            if (cur && !same_names(cur->schema(), fields)) {
                out.emit(std::move(*cur));
                cur.reset();
            }
            if (!cur) {
                cur.emplace(schema_for(fields), batch_size_);
                kept = nullptr;
            }
            if (kept != r.arena().get()) {
                // Several readers alternate: keeping an arena twice is harmless.
                cur->keep_alive(r.arena());
                kept = r.arena().get();
            }
            std::span<Value> row = cur->append_row();
            for (std::size_t c = 0; c < fields.size(); ++c)
                row[c] = fields[c].value;
            ++n;
            Result<bool> got = r.next();
            if (!got) return std::move(got).error().in_stage(stage_);
            if (*got) heap_.push(i);
        }
        if (cur) out.emit(std::move(*cur));
        if (!heap_.empty()) return true;
        readers_.clear();
        remove_runs();
        return false;
    }

    static bool same_names(const Schema& s, std::span<const Member> fields) {
        if (s.size() != fields.size()) return false;
        for (std::size_t c = 0; c < fields.size(); ++c)
            if (s.name(c) != fields[c].key) return false;
        return true;
    }

    SchemaRef schema_for(std::span<const Member> fields) {
        if (last_schema_ && same_names(*last_schema_, fields)) return last_schema_;
        std::vector<std::string> names;
        for (const Member& m : fields)
            names.emplace_back(m.key);
        last_schema_ = make_schema(std::move(names));
        return last_schema_;
    }

    void remove_runs() noexcept {
        files_.remove_all();
        runs_.clear();
    }

    const SortOrder& order_;
    std::optional<FieldWatch> watch_; ///< input without a fixed schema
    std::size_t batch_size_;
    std::uint64_t budget_;
    std::string stage_;
    /// Every spill file of the stage, the runs and those being written.
    spill::Files files_;

    // Held input: batches, the key values of their rows (keys.size() per row), row refs.
    std::vector<Batch> batches_;
    /// emit_held: batches_, moved into one owner that the output batches share.
    std::shared_ptr<const std::vector<Batch>> held_storage_;
    std::vector<Value> keys_;
    std::vector<Ref> refs_;
    std::vector<std::uint32_t> order_idx_;
    std::size_t emitted_ = 0;
    std::uint64_t bytes_ = 0;
    PerSchema<std::vector<expr::ResolvedPath>> paths_;

    // Top-N (a limit after the sort): at most this many records are kept.
    std::optional<std::uint64_t> top_;
    std::vector<Value> threshold_; ///< keys of the N-th record held, once N are
    std::shared_ptr<Arena> threshold_storage_;
    std::uint64_t compacted_bytes_ = 0; ///< held right after the last compaction

    // Spilled runs and their merge.
    std::vector<std::string> runs_;
    std::uint64_t spilled_bytes_ = 0;
    std::vector<std::unique_ptr<spill::RunReader>> readers_;
    std::priority_queue<std::size_t, std::vector<std::size_t>, HeapOrder> heap_{HeapOrder{this}};
    SchemaRef last_schema_;
};

/// For a key that is not a field but reads as an expression (`lower(name)`, `-amount`): what
/// to do instead, as sort keys are fields and paths only.
std::string expression_hint(const std::string& key) {
    if (!expr::Operand::parse(key).expression()) return {};
    return " (sort.apply sorts by fields and paths, not expressions: compute the key with "
           "map.apply first; for letters in any case, collation = \"nocase\"; for high to low, "
           "descending = true)";
}

class SortStage final : public Stage {
public:
    explicit SortStage(SortOrder order) : order_(std::move(order)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed) {
            for (const SortKey& k : order_.keys)
                if (!expr::resolve(k.path, *in).found())
                    return fail(ErrorKind::Config,
                                "by: field '" + k.text + "' is not in the input" +
                                    did_you_mean(k.text, in->names()) + expression_hint(k.text));
        }
        if (ctx.output_limit && *ctx.output_limit <= kMaxTop)
            spdlog::debug("stage '{}': a top-{} (keeps at most that many records)", ctx.stage_id,
                          *ctx.output_limit);
        std::optional<FieldWatch> watch;
        if (!fixed) {
            std::vector<expr::FieldPath> keys;
            for (const SortKey& k : order_.keys)
                keys.push_back(k.path);
            watch.emplace(std::string(ctx.stage_id), distinct_fields(std::move(keys)), ctx.metrics,
                          "that key was null for every record");
        }
        OpenedStage opened(std::make_unique<SortOperator>(order_, ctx, std::move(watch)), in);
        opened.fixed_schema = fixed;
        // What it holds is not part of a checkpoint: a run with a sort takes none, and
        // --resume reads its input again from the start.
        opened.checkpoints = false;
        return opened;
    }

private:
    SortOrder order_;
};

/// collation's choices: Collation's, and nocase (SortOrder::fold_case).
enum class SortCollation : std::uint8_t { Binary, Natural, NoCase };

struct SortOptions {
    std::vector<std::string> by; ///< required
    OptionValue descending = OptionValue(false);
    bool nulls_last = true;
    SortCollation collation = SortCollation::Binary;
};

const OptionTable<SortOptions>& sort_options() {
    static const auto table =
        OptionTable<SortOptions>()
            .add("by", &SortOptions::by,
                 {.description = "The key field, or fields in order of importance (paths such as "
                                 "user.address.city allowed).",
                  .required = true,
                  .example = "[\"country\", \"amount\"]"})
            .add("descending", &SortOptions::descending,
                 {.description = "true sorts every key from high to low; a list gives one "
                                 "direction per key of 'by'."})
            .add("nulls_last", &SortOptions::nulls_last,
                 {.description = "Nulls and missing fields after every value (whatever the "
                                 "direction); false puts them first."})
            .add_choice("collation", &SortOptions::collation,
                        {{"binary", SortCollation::Binary},
                         {"natural", SortCollation::Natural},
                         {"nocase", SortCollation::NoCase}},
                        {.description = "How strings compare: binary (by bytes), natural "
                                        "(runs of digits by value: file2 before file10) or "
                                        "nocase (by bytes with A-Z as a-z: Bob beside bob, "
                                        "as mlr sort -c)."});
    return table;
}

std::unique_ptr<Stage> build_sort(BuildContext& ctx, const SortOptions& o) {
    SortOrder order;
    order.nulls_last = o.nulls_last;
    order.collation =
        o.collation == SortCollation::Natural ? Collation::Natural : Collation::Binary;
    order.fold_case = o.collation == SortCollation::NoCase;
    if (o.by.empty()) {
        ctx.error("by", "'by' names no field: give the key, e.g. by = \"amount\"");
        return nullptr;
    }
    for (const std::string& text : o.by) {
        SortKey k;
        k.text = text;
        k.path = expr::FieldPath::path_or_name(text);
        order.keys.push_back(std::move(k));
    }
    const OptionValue& d = o.descending;
    if (d.is_bool()) {
        for (SortKey& k : order.keys)
            k.descending = d.as_bool();
    } else if (d.is_list()) {
        const auto& list = d.as_list();
        if (list.size() != order.keys.size()) {
            ctx.error("descending",
                      fmt::format("'descending' lists {} directions for {} keys in 'by': give "
                                  "one per key (or one true/false for all)",
                                  list.size(), order.keys.size()));
            return nullptr;
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (!list[i].is_bool()) {
                ctx.error("descending", "'descending' must hold true or false values");
                return nullptr;
            }
            order.keys[i].descending = list[i].as_bool();
        }
    } else {
        ctx.error("descending", "'descending' must be true, false or a list of them");
        return nullptr;
    }
    return std::make_unique<SortStage>(std::move(order));
}

/// FunctionDescriptor::combine_shards: under partition = "rows" each shard sorts its share
/// (a contiguous run of the input) into a part; finalize reads the parts back in shard order and
/// sorts them again with the same options. The sort is stable, so records with equal keys keep
/// their order in the concatenation, which is the input's: the result is the single run's.
std::string combine_sort(const Options& options) {
    std::string config;
    for (const auto& [name, value] : options.values())
        if (options.given(name)) config += name + " = " + value.to_string() + "\n";
    return "[[stages]]\nid = \"combined\"\nfunction = \"sort.apply\"\ninputs = "
           "[\"partials\"]\n[stages.config]\n" +
           config;
}

FunctionDescriptor sort_apply() {
    FunctionDescriptor fn;
    fn.name = "sort.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Sort records by one or more keys (spills to disk beyond its memory)";
    fn.description =
        "A stable sort (records with equal keys keep their input order) by the fields in `by`, "
        "each ascending or descending. Numbers compare as numbers whatever their type, strings "
        "by bytes (or naturally, collation = \"natural\", or case-folded, \"nocase\"), nulls and "
        "missing fields last (or "
        "first); values of different kinds are ordered numbers, strings, booleans, lists, "
        "objects. It holds its input up to its share of [global] memory_limit; beyond that it "
        "sorts what it holds, writes it compressed to state_dir/spill, and merges those runs "
        "at the end of the input. Spill files are removed when the stage ends, fails or is "
        "interrupted, and by the next run after a kill -9. Output goes out as it is merged. "
        "A run with a sort takes no checkpoints: --resume reads its input again.";
    fn.options = sort_options().specs();
    fn.needs_whole_input = true;
    fn.combine_shards = combine_sort;
    fn.combine_needs_input_order = true;
    fn.factory = bind_options(sort_options(), build_sort);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::sort

namespace conveyor::plugins {

void register_sort(Registry& registry) {
    registry.add("sort.apply", sort::sort_apply);
}

} // namespace conveyor::plugins
