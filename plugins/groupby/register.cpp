// groupby.apply and reduce.apply: hash aggregation, one output row per group with every
// aggregation, groups in order of first appearance (or sorted by key). The groups are held up
// to the stage's share of [global] memory_limit; beyond it records of groups not yet seen are
// spilled to hash partitions in the spill directory (groups already held keep aggregating),
// and each partition is aggregated on its own at the end of the input (spilling again, with
// another hash, when it too is over). Results of every part are merged in first-appearance
// order.

#include "aggregation.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/field_watch.hpp"
#include "group_table.hpp"
#include "shard_partials.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <numeric>
#include <set>

namespace conveyor::plugins::groupby {

namespace {

constexpr std::size_t kPartitions = 16;
/// Partitions of partitions: beyond this depth a part is aggregated in memory whatever it holds
/// (its keys hash alike at every depth, so splitting it again would not help).
constexpr int kMaxDepth = 3;
constexpr std::uint64_t kPartFloor = 4 << 20;

struct GroupBySpec {
    std::vector<expr::Operand> keys;
    std::vector<Aggregation> aggregations;
    bool sorted = false;
    /// Keys, then the inputs of the aggregations that have one.
    std::vector<expr::Operand> operands;
    std::vector<std::size_t> input_of; ///< per aggregation: index in operands, or npos
    /// Per operand: read as a number by some aggregation (parsed once per record).
    std::vector<std::uint8_t> wants_number;
    SchemaRef out_schema;
};

constexpr std::size_t npos = static_cast<std::size_t>(-1);

/// One pass over a stream of records: the groups held, and the partitions that records of
/// new groups go to once the memory share is used up.
struct Pass {
    Pass(int d, const GroupBySpec& spec) : depth(d), table(spec.keys.size(), spec.aggregations) {}
    int depth;
    GroupTable table;
    /// Set once the pass is over its share: records of new groups go there.
    std::optional<spill::Partitions> parts;
};

class GroupByOperator final : public Operator {
public:
    GroupByOperator(const GroupBySpec& spec, const OpenContext& ctx,
                    std::optional<FieldWatch> watch)
        : spec_(spec), watch_(std::move(watch)), reader_(spec.operands),
          batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
          stage_(ctx.stage_id), files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir,
                                       stage_, ctx.run ? &ctx.run->temp_files() : nullptr),
          errors_(ctx.errors), top_(std::make_unique<Pass>(0, spec)) {
        values_.resize(spec.operands.size());
        read_.resize(spec.operands.size());
        inputs_.resize(spec.aggregations.size());
    }
    GroupByOperator(const GroupByOperator&) = delete;
    GroupByOperator& operator=(const GroupByOperator&) = delete;

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        if (watch_) watch_->saw(batch);
        reader_.bind(batch.schema_ref());
        for (std::size_t r = 0; r < batch.rows(); ++r)
            CONVEYOR_TRY(add(*top_, batch.schema(), batch.row(r), batch.arena(), seq_++));
        return {};
    }

    Status finish(Emitter&) override {
        if (watch_) watch_->finished();
        if (top_->table.size() == 0 && spec_.keys.empty() && !top_->parts) {
            // A whole-input aggregation of no records is one row (count 0), as in SQL.
            key_.clear();
            top_->table.insert(key_, nullptr, 0);
        }
        if (!top_->parts) {
            if (spec_.sorted)
                order_ = top_->table.key_order();
            else {
                order_.resize(top_->table.size());
                std::iota(order_.begin(), order_.end(), 0u);
            }
            return {};
        }
        // Everything held goes to a result run; each partition is aggregated in turn.
        std::vector<std::string> partitions;
        CONVEYOR_TRY(close_pass(*top_, partitions));
        top_.reset();
        while (!partitions.empty()) {
            const std::string path = partitions.back();
            partitions.pop_back();
            CONVEYOR_TRY(aggregate_partition(path, partitions));
        }
        const std::size_t keys = spec_.sorted ? spec_.keys.size() : 1;
        const spill::Merger::Compare compare =
            spec_.sorted ? spill::Merger::Compare([keys](const Value* a, const Value* b) {
                return compare_keys(a, b, keys);
            })
                         : spill::Merger::Compare(spill::compare_sequence);
        if (Status st =
                spill::merge_down(files_, results_, keys, compare, spill::fan_in_for(budget_));
            !st)
            return std::move(st).error().in_stage(stage_);
        auto merger = spill::Merger::open(results_, keys, compare);
        if (!merger) return std::move(merger).error().in_stage(stage_);
        merger_ = std::move(*merger);
        return {};
    }

    Result<bool> finish_more(Emitter& out) override {
        if (merger_) {
            Result<bool> more = spill::emit_merged(merger_, batch_size_, out, files_);
            if (!more) return std::move(more).error().in_stage(stage_);
            return *more;
        }
        const std::size_t end = std::min(order_.size(), emitted_ + batch_size_);
        if (emitted_ < end) {
            Batch b(spec_.out_schema, end - emitted_);
            b.keep_alive(top_->table.arena());
            for (; emitted_ < end; ++emitted_)
                if (Status st = top_->table.result_row(order_[emitted_], b.append_row(), b.arena());
                    !st)
                    return std::move(st).error().in_stage(stage_);
            out.emit(std::move(b));
        }
        return emitted_ < order_.size();
    }

    void abort() noexcept override {
        merger_.reset();
        top_.reset();
        files_.remove_all();
    }

private:
    /// One record into `pass`: folded into its group, or spilled when its group is new and
    /// the pass is over its share.
    Status add(Pass& pass, const Schema& schema, std::span<const Value> row, Arena& arena,
               std::int64_t seq) {
        if (!reader_.read(row, arena, values_.data()))
            return record_failed(schema, row, Error(ErrorKind::Data, reader_.error()));
        key_.clear();
        for (std::size_t k = 0; k < spec_.keys.size(); ++k)
            encode_key(key_, values_[k]);

        std::optional<std::uint32_t> g = pass.table.find(key_);
        if (!g && pass.parts) return pass.parts->add(key_, seq, schema, row);
        for (std::size_t i = spec_.keys.size(); i < values_.size(); ++i)
            read_[i] = spec_.wants_number[i] ? Input::of(values_[i]) : Input{values_[i], {}};
        for (std::size_t a = 0; a < inputs_.size(); ++a) {
            inputs_[a] = spec_.input_of[a] == npos ? Input{} : read_[spec_.input_of[a]];
            // Checked before anything is folded (or a group made): a failed record counts
            // nowhere.
            if (Status st = check(spec_.aggregations[a], inputs_[a]); !st)
                return record_failed(schema, row, std::move(st).error());
        }
        if (!g) g = pass.table.insert(key_, values_.data(), seq);
        pass.table.fold(*g, inputs_.data());
        // A partition is split again only past a floor: splitting small ones costs more in
        // files than it saves in memory.
        const std::uint64_t limit = pass.depth == 0 ? budget_ : std::max(budget_, kPartFloor);
        if (!pass.parts && pass.table.bytes() > limit && pass.depth < kMaxDepth) {
            pass.parts.emplace(files_, kPartitions, static_cast<std::uint64_t>(pass.depth));
            if (!logged_) {
                logged_ = true;
                spdlog::info("stage '{}': groups beyond its memory share ({}): records of "
                             "new groups spilled to {}",
                             stage_, obs::human_bytes(budget_), files_.dir());
            }
        }
        return {};
    }

    Status record_failed(const Schema& schema, std::span<const Value> row, Error e) {
        if (!errors_) return std::move(e).in_stage(stage_);
        return errors_->record_failed(schema, row, std::move(e));
    }

    /// Writes what `pass` holds as a result run and closes its partitions (added to `parts`).
    Status close_pass(Pass& pass, std::vector<std::string>& parts) {
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error();
        std::vector<std::uint32_t> order;
        if (spec_.sorted) {
            order = pass.table.key_order();
        } else {
            order.resize(pass.table.size());
            std::iota(order.begin(), order.end(), 0u);
        }
        std::vector<Value> row(spec_.out_schema->size());
        Arena scratch;
        for (std::uint32_t g : order) {
            if (Status st = pass.table.result_row(g, row, scratch); !st)
                return std::move(st).error().in_stage(stage_);
            const Value seq = Value::integer(pass.table.first_seq(g));
            const std::span<const Value> keys =
                spec_.sorted ? std::span<const Value>(pass.table.keys(g), spec_.keys.size())
                             : std::span<const Value>(&seq, 1);
            CONVEYOR_TRY(w->add(keys, *spec_.out_schema, row));
        }
        CONVEYOR_TRY(w->close());
        results_.push_back(w->path());
        if (pass.parts) {
            Result<std::vector<std::string>> paths = pass.parts->close();
            if (!paths) return std::move(paths).error().in_stage(stage_);
            for (std::string& p : *paths)
                if (!p.empty()) parts.push_back(std::move(p));
        }
        return {};
    }

    /// Aggregates the records of one partition (in input order), spilling again if need be.
    Status aggregate_partition(const std::string& path, std::vector<std::string>& parts) {
        int depth = 1;
        if (auto it = depth_of_.find(path); it != depth_of_.end()) depth = it->second;
        auto pass = std::make_unique<Pass>(depth, spec_);
        auto scratch = std::make_unique<Arena>();
        std::size_t n = 0;
        Status read = spill::read_records(
            path, [&](std::int64_t seq, const SchemaRef& schema, std::span<const Value> row) {
                reader_.bind(schema);
                if (++n % 4096 == 0) scratch = std::make_unique<Arena>();
                return add(*pass, *schema, row, *scratch, seq);
            });
        if (!read) return std::move(read).error().in_stage(stage_);
        files_.remove(path);
        const std::size_t before = parts.size();
        CONVEYOR_TRY(close_pass(*pass, parts));
        for (std::size_t i = before; i < parts.size(); ++i)
            depth_of_[parts[i]] = depth + 1;
        return {};
    }

    const GroupBySpec& spec_;
    std::optional<FieldWatch> watch_; ///< input without a fixed schema
    expr::OperandReader reader_;
    std::size_t batch_size_;
    std::uint64_t budget_;
    std::string stage_;
    spill::Files files_;
    StageErrors* errors_;

    std::unique_ptr<Pass> top_;
    std::int64_t seq_ = 0;
    std::string key_;
    std::vector<Value> values_;
    std::vector<Input> read_;   ///< per operand, for this record
    std::vector<Input> inputs_; ///< per aggregation
    bool logged_ = false;

    std::vector<std::uint32_t> order_;
    std::size_t emitted_ = 0;

    std::vector<std::string> results_; ///< result runs, to merge
    std::unordered_map<std::string, int> depth_of_;
    std::unique_ptr<spill::Merger> merger_;
};

class GroupByStage final : public Stage {
public:
    explicit GroupByStage(GroupBySpec spec) : spec_(std::move(spec)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed) {
            for (std::size_t k = 0; k < spec_.keys.size(); ++k)
                if (auto why = spec_.keys[k].check(*in))
                    return fail(ErrorKind::Config, "by: " + *why);
            for (std::size_t a = 0; a < spec_.aggregations.size(); ++a)
                if (const auto& input = spec_.aggregations[a].input)
                    if (auto why = input->check(*in))
                        return fail(ErrorKind::Config,
                                    fmt::format("aggregations[{}].column: {}", a, *why));
        }
        std::optional<FieldWatch> watch;
        if (!fixed)
            watch.emplace(std::string(ctx.stage_id), fields_of(spec_.operands), ctx.metrics,
                          "the group-by read it as null in every record");
        OpenedStage opened(std::make_unique<GroupByOperator>(spec_, ctx, std::move(watch)),
                           spec_.out_schema);
        opened.fixed_schema = true;
        // Groups are not part of a checkpoint: --resume reads the input again.
        opened.checkpoints = false;
        return opened;
    }

private:
    GroupBySpec spec_;
};

/// Reads one aggregation table ({ column, operation, output_column, p }).
std::optional<Aggregation> read_aggregation(BuildContext& ctx, const OptionValue& v,
                                            std::size_t i) {
    const std::string where = fmt::format("aggregations[{}]", i);
    if (!v.is_table()) {
        ctx.error("aggregations",
                  where + " must be a table such as { column = \"amount\", operation = \"sum\" }");
        return std::nullopt;
    }
    Aggregation a;
    std::string op_name;
    bool p_given = false;
    for (const auto& [key, value] : v.as_table()) {
        if (key == "operation" || key == "op" || key == "function") {
            if (!value.is_string()) {
                ctx.error("aggregations", where + ".operation must be a string");
                return std::nullopt;
            }
            op_name = value.as_string();
        } else if (key == "column") {
            if (!value.is_string() || value.as_string().empty()) {
                ctx.error("aggregations", where + ".column must name a field");
                return std::nullopt;
            }
            a.input = expr::Operand::parse(value.as_string());
        } else if (key == "output_column" || key == "as") {
            if (!value.is_string() || value.as_string().empty()) {
                ctx.error("aggregations", where + ".output_column must be a field name");
                return std::nullopt;
            }
            a.output = value.as_string();
        } else if (key == "p") {
            if (!value.is_number() || value.as_double() < 0 || value.as_double() > 100) {
                ctx.error("aggregations",
                          where + ".p must be a number from 0 to 1 (or a percent up to 100)");
                return std::nullopt;
            }
            a.p = value.as_double() > 1 ? value.as_double() / 100 : value.as_double();
            p_given = true;
        } else {
            static const std::vector<std::string> known = {"column", "operation", "output_column",
                                                           "p"};
            ctx.error("aggregations", where + ": unknown key '" + key + "'" +
                                          did_you_mean(key, known) +
                                          " (keys: column, operation, output_column, p)");
            return std::nullopt;
        }
    }
    std::vector<std::string> names(op_names().begin(), op_names().end());
    if (op_name.empty()) {
        ctx.error("aggregations", where + " names no operation (one of " +
                                      fmt::format("{}", fmt::join(names, ", ")) + ")");
        return std::nullopt;
    }
    const std::optional<Op> op = op_named(op_name);
    if (!op) {
        ctx.error("aggregations", where + ": unknown operation '" + op_name + "'" +
                                      did_you_mean(op_name, names) + " (one of " +
                                      fmt::format("{}", fmt::join(names, ", ")) +
                                      "; p90 for percentile with p = 0.9)");
        return std::nullopt;
    }
    a.op = *op;
    if (const std::optional<double> named = percentile_named(op_name)) {
        if (p_given && a.p != *named) {
            ctx.error("aggregations", where + ": operation '" + op_name + "' is the percentile " +
                                          "p = " + fmt::format("{}", *named) +
                                          ", and p says otherwise: give one of them");
            return std::nullopt;
        }
        a.p = *named;
    }
    if (!a.input && a.op != Op::Count) {
        ctx.error("aggregations", where + ": operation '" + op_name + "' needs a column");
        return std::nullopt;
    }
    if (a.output.empty()) a.output = a.input ? a.input->text() + "_" + op_name : op_name;
    return a;
}

/// Completes a spec from keys and aggregations; false (with an error) when names clash.
bool finish_spec(BuildContext& ctx, GroupBySpec& spec) {
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const expr::Operand& k : spec.keys) {
        names.push_back(k.text());
        spec.operands.push_back(k);
    }
    spec.wants_number.assign(spec.keys.size(), 0);
    for (const Aggregation& a : spec.aggregations) {
        names.push_back(a.output);
        if (!a.input) {
            spec.input_of.push_back(npos);
            continue;
        }
        // One operand per distinct input (sum, avg and max of amount read it once).
        std::size_t at = spec.keys.size();
        while (at < spec.operands.size() && spec.operands[at].text() != a.input->text())
            ++at;
        if (at == spec.operands.size()) {
            spec.operands.push_back(*a.input);
            spec.wants_number.push_back(0);
        }
        if (is_numeric(a.op) || a.op == Op::Min || a.op == Op::Max) spec.wants_number[at] = 1;
        spec.input_of.push_back(at);
    }
    for (const std::string& n : names)
        if (!seen.insert(n).second) {
            ctx.error("aggregations", "two output columns are named '" + n +
                                          "': give each aggregation its own output_column");
            return false;
        }
    spec.out_schema = make_schema(std::move(names));
    return true;
}

struct GroupByOptions {
    std::vector<std::string> by;
    OptionValue aggregations; ///< required: a list of tables
    bool sorted = false;
};

const OptionTable<GroupByOptions>& groupby_options() {
    static const auto table =
        OptionTable<GroupByOptions>()
            .add("by", &GroupByOptions::by,
                 {.description = "The group key: a field, or fields (paths such as user.country "
                                 "and expressions such as lower(email) allowed). Empty: the "
                                 "whole input is one group.",
                  .example = "[\"country\", \"category\"]"})
            .add("aggregations", &GroupByOptions::aggregations,
                 {.description = "What to compute per group: a list of { column, operation, "
                                 "output_column } tables. operation: count (column optional: "
                                 "without it, records), count_distinct, sum, avg (mean), min, "
                                 "max, median, percentile (with p = 0.9; or p90, p99.9 as "
                                 "Miller writes them), std, var (sample), first, last, "
                                 "collect (a list), mode and antimode (the value seen most, "
                                 "least often; of equals the first); Miller's stddev, "
                                 "variance and "
                                 "distinct_count are accepted. output_column defaults to "
                                 "<column>_<operation> (amount_p90).",
                  .required = true,
                  .example = "[{ column = \"amount\", operation = \"sum\", output_column = "
                             "\"total\" }]",
                  .type = OptionType::Any})
            .add("sorted", &GroupByOptions::sorted,
                 {.description = "Groups in key order (ascending, nulls last) instead of the "
                                 "order of their first record."});
    return table;
}

std::unique_ptr<Stage> build_groupby(BuildContext& ctx, const GroupByOptions& o) {
    GroupBySpec spec;
    spec.sorted = o.sorted;
    for (const std::string& k : o.by)
        spec.keys.push_back(expr::Operand::parse(k));
    if (!o.aggregations.is_list() || o.aggregations.as_list().empty()) {
        ctx.error("aggregations", "'aggregations' must be a list of tables such as "
                                  "[{ column = \"amount\", operation = \"sum\" }]");
        return nullptr;
    }
    const auto& list = o.aggregations.as_list();
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto a = read_aggregation(ctx, list[i], i);
        if (!a) return nullptr;
        spec.aggregations.push_back(std::move(*a));
    }
    if (emits_partials(ctx.global()) && !make_partial(ctx, o.by, spec.aggregations)) return nullptr;
    if (emits_sorted_parts(ctx.global(), o.sorted) &&
        !check_sorted_parts(ctx, o.by, spec.aggregations))
        return nullptr;
    if (!finish_spec(ctx, spec)) return nullptr;
    return std::make_unique<GroupByStage>(std::move(spec));
}

/// FunctionDescriptor::combine_shards: the stages finalize runs over the shards' partial
/// groups (options already validated by the loader).
std::string combine_groupby(const Options& options) {
    const GroupByOptions o = groupby_options().fill(options);
    Diagnostics ignored;
    const GlobalSpec global;
    BuildContext ctx("combine", options, global, ignored);
    std::vector<Aggregation> aggs;
    if (o.aggregations.is_list())
        for (std::size_t i = 0; i < o.aggregations.as_list().size(); ++i)
            if (auto a = read_aggregation(ctx, o.aggregations.as_list()[i], i))
                aggs.push_back(std::move(*a));
    return combine_stages_toml(o.by, aggs, o.sorted);
}

/// FunctionDescriptor::combine_hash_shards: under partition = "hash" each shard's groups are
/// whole; with sorted = true finalize merges them into the single run's key order.
std::string combine_groupby_hash(const Options& options) {
    const GroupByOptions o = groupby_options().fill(options);
    if (!o.sorted) return {};
    Diagnostics ignored;
    const GlobalSpec global;
    BuildContext ctx("combine", options, global, ignored);
    std::vector<Aggregation> aggs;
    if (o.aggregations.is_list())
        for (std::size_t i = 0; i < o.aggregations.as_list().size(); ++i)
            if (auto a = read_aggregation(ctx, o.aggregations.as_list()[i], i))
                aggs.push_back(std::move(*a));
    return combine_sorted_toml(o.by, aggs);
}

struct ReduceOptions {
    std::optional<std::string> column;
    std::string operation = "count";
    std::optional<std::string> output_column;
    double p = 0.5;
};

const OptionTable<ReduceOptions>& reduce_options() {
    static const auto table =
        OptionTable<ReduceOptions>()
            .add("column", &ReduceOptions::column,
                 {.description = "The field to aggregate (a path or expression); count without "
                                 "it counts records.",
                  .example = "\"amount\""})
            .add("operation", &ReduceOptions::operation,
                 {.description =
                      "count, count_distinct, sum, avg (mean), min, max, median, "
                      "percentile (with p), std, var, first, last, collect, mode or antimode.",
                  .example = "\"sum\""})
            .add("output_column", &ReduceOptions::output_column,
                 {.description = "The result's field name (default <column>_<operation>)."})
            .add("p", &ReduceOptions::p,
                 {.description = "For percentile: the fraction, from 0 to 1.", .min = 0, .max = 1});
    return table;
}

std::unique_ptr<Stage> build_reduce(BuildContext& ctx, const ReduceOptions& o) {
    OptionValue::Table t;
    if (o.column) t.emplace_back("column", OptionValue(*o.column));
    t.emplace_back("operation", OptionValue(o.operation));
    if (o.output_column) t.emplace_back("output_column", OptionValue(*o.output_column));
    t.emplace_back("p", OptionValue(o.p));
    GroupBySpec spec;
    auto a = read_aggregation(ctx, OptionValue(std::move(t)), 0);
    if (!a) return nullptr;
    spec.aggregations.push_back(std::move(*a));
    if (!finish_spec(ctx, spec)) return nullptr;
    return std::make_unique<GroupByStage>(std::move(spec));
}

FunctionDescriptor groupby_apply() {
    FunctionDescriptor fn;
    fn.name = "groupby.apply";
    fn.role = StageRole::Transform;
    fn.summary = "One record per group with counts, sums, averages, ... (spills beyond its memory)";
    fn.description =
        "Groups records by the values of `by` and puts out one record per group: the key fields, "
        "then one field per aggregation. Groups come in the order of their first record (or "
        "sorted by key, sorted = true); null and missing keys form a group of their own. "
        "Aggregations skip null values (as SQL); sum of no values is 0, avg/min/max/median of "
        "none are null; a value that is not a number where one is needed is a record error "
        "(the stage's error strategy decides). Groups are held up to the stage's share of "
        "[global] memory_limit; beyond it records of new groups spill to hash partitions under "
        "state_dir/spill and are aggregated partition by partition at the end. A run with a "
        "group-by takes no checkpoints: --resume reads its input again.";
    fn.options = groupby_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.needs_whole_input = true;
    fn.shard_key_options = {"by"};
    fn.combine_shards = combine_groupby;
    fn.combine_hash_shards = combine_groupby_hash;
    fn.factory = bind_options(groupby_options(), build_groupby);
    return fn;
}

FunctionDescriptor reduce_apply() {
    FunctionDescriptor fn;
    fn.name = "reduce.apply";
    fn.role = StageRole::Transform;
    fn.summary = "One record aggregating the whole input (sum, count, avg, ...)";
    fn.description = "groupby.apply with no key and one aggregation: puts out a single record "
                     "with one field, `output_column`, even for an empty input (count 0).";
    fn.options = reduce_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.needs_whole_input = true;
    fn.factory = bind_options(reduce_options(), build_reduce);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::groupby

namespace conveyor::plugins {

void register_groupby(Registry& registry) {
    registry.add("groupby.apply", groupby::groupby_apply);
    registry.add("reduce.apply", groupby::reduce_apply);
}

} // namespace conveyor::plugins
