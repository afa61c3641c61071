// running.apply: running totals and neighbours, per partition (`by`) in input order: running
// sum, count, avg, min and max, the row number, the previous (lag) or next (lead) value and the
// change from the previous one (delta). It streams, holding one state per partition; with lead
// a record waits for the record `offset` ahead in its partition, and the records after it wait
// with it (output keeps input order).

#include "conveyor/core/column_layout.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <fmt/format.h>
#include <limits>
#include <unordered_map>

namespace conveyor::plugins::running {

namespace {

enum class Op : std::uint8_t { Sum, Count, Avg, Min, Max, RowNumber, Lag, Lead, Delta, FillDown };

struct OpName {
    std::string_view name;
    Op op;
};
constexpr OpName kOps[] = {{"running_sum", Op::Sum}, {"running_count", Op::Count},
                           {"running_avg", Op::Avg}, {"running_min", Op::Min},
                           {"running_max", Op::Max}, {"row_number", Op::RowNumber},
                           {"lag", Op::Lag},         {"lead", Op::Lead},
                           {"delta", Op::Delta},     {"fill_down", Op::FillDown}};

struct Operation {
    Op op = Op::Sum;
    std::optional<expr::Operand> input;
    std::string output;
    std::size_t offset = 1; ///< lag, lead
};

struct RunningSpec {
    std::vector<expr::Operand> by;
    std::vector<Operation> operations;
    std::vector<expr::Operand> operands; ///< by, then each operation's input
    std::vector<std::size_t> input_of;   ///< per operation: index in operands or npos
    std::vector<std::string> outputs;
    bool has_lead = false;
};

constexpr std::size_t npos = static_cast<std::size_t>(-1);

/// A value kept beyond its batch (lag, min, max): with its own copy of what it points to.
struct Kept {
    Value v;
    std::shared_ptr<Arena> arena;

    static Kept of(const Value& v) {
        Kept k;
        if (v.kind() == Kind::String || v.kind() == Kind::Array || v.kind() == Kind::Object ||
            v.has_number_text()) {
            k.arena = std::make_shared<Arena>(64);
            k.v = copy_into(*k.arena, v);
        } else {
            k.v = v.is_absent() ? Value::null() : v;
        }
        return k;
    }
};

std::optional<double> number_of(const Value& v) {
    if (v.is_number()) return v.as_double();
    if (!v.is_string() || v.as_string().empty()) return std::nullopt;
    double d = 0;
    const std::string_view s = v.as_string();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return d;
}

/// One operation's state in one partition.
struct State {
    std::int64_t count = 0;
    std::int64_t isum = 0;
    double sum = 0;
    bool int_only = true;
    Kept best;                ///< min, max (absent: none yet)
    std::deque<Kept> history; ///< lag, delta: the last values, oldest first
};

class RunningOperator final : public Operator {
public:
    RunningOperator(const RunningSpec& spec, const OpenContext& ctx)
        : spec_(spec), reader_(spec.operands), errors_(ctx.errors), stage_(ctx.stage_id) {
        values_.resize(spec.operands.size());
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        if (batch.empty()) return {};
        if (spec_.has_lead) {
            note_leads(std::move(batch));
            return emit_resolved(out, false);
        }
        CONVEYOR_TRY(compute(batch));
        out.emit(std::move(batch));
        return {};
    }

    Status finish(Emitter&) override { return {}; }

    Result<bool> finish_more(Emitter& out) override {
        // The leads still missing have no record that far ahead: they stay null.
        if (held_.empty()) return false;
        CONVEYOR_TRY(emit_resolved(out, true, 1));
        return !held_.empty();
    }

private:
    /// Holds `batch` and gives the records waiting in each partition the values of its rows,
    /// copied into the waiting record's batch. Per partition and lead, the last `offset`
    /// records wait: a new record completes the one `offset` records back. Records are
    /// numbered in input order from 0.
    void note_leads(Batch&& batch) {
        const std::size_t n = spec_.operations.size();
        held_starts_.push_back(next_record_);
        held_.push_back(std::move(batch));
        Batch& b = held_.back();
        reader_.bind(b.schema_ref());
        for (std::size_t r = 0; r < b.rows(); ++r) {
            const std::uint64_t record = next_record_++;
            leads_.insert(leads_.end(), n, Value::null());
            waits_.push_back(0);
            // A record whose operands cannot be read fails in compute(); it waits for nothing
            // and completes nobody.
            if (!reader_.read(b.row(r), b.arena(), values_.data())) continue;
            partition_key();
            std::vector<std::deque<std::uint64_t>>& waiting = waiting_[key_];
            waiting.resize(n);
            for (std::size_t o = 0; o < n; ++o) {
                const Operation& op = spec_.operations[o];
                if (op.op != Op::Lead) continue;
                std::deque<std::uint64_t>& w = waiting[o];
                if (w.size() == op.offset) {
                    complete(w.front(), o, values_[spec_.input_of[o]]);
                    w.pop_front();
                }
                w.push_back(record);
                ++waits_.back();
            }
        }
    }

    /// Record `record` (held) gets `v` as lead `o`.
    void complete(std::uint64_t record, std::size_t o, const Value& v) {
        const std::size_t at = static_cast<std::size_t>(record - first_record_);
        // The held batch holding it: the last one starting at or before it.
        const auto it = std::upper_bound(held_starts_.begin(), held_starts_.end(), record);
        Batch& owner = held_[static_cast<std::size_t>(it - held_starts_.begin()) - 1];
        leads_[at * spec_.operations.size() + o] =
            v.is_absent() ? Value::null() : copy_into(owner.arena(), v);
        --waits_[at];
    }

    /// Computes and emits the held records from the first one on while none of them waits for
    /// a lead (all of them at the end of the input: `at_end`; the leads still missing have no
    /// record that far ahead and stay null), at most `max` batches. A batch whose first records
    /// are complete and others not is split: the records after it must not wait for them.
    Status emit_resolved(Emitter& out, bool at_end,
                         std::size_t max = std::numeric_limits<std::size_t>::max()) {
        const std::size_t n = spec_.operations.size();
        for (; max > 0 && !held_.empty(); --max) {
            Batch& front = held_.front();
            const std::size_t rows = front.rows();
            std::size_t ready = 0;
            while (ready < rows && (at_end || waits_[ready] == 0))
                ++ready;
            if (ready == 0) break;
            Batch b;
            if (ready == rows) {
                b = std::move(front);
                held_.pop_front();
                held_starts_.pop_front();
            } else {
                b = front.clone();
                b.truncate(ready);
                std::vector<std::uint8_t> rest(rows, 1);
                std::fill_n(rest.begin(), ready, std::uint8_t{0});
                front.retain_rows(rest);
                held_starts_.front() += ready;
            }
            std::vector<Value> leads(leads_.begin(),
                                     leads_.begin() + static_cast<std::ptrdiff_t>(ready * n));
            leads_.erase(leads_.begin(), leads_.begin() + static_cast<std::ptrdiff_t>(ready * n));
            waits_.erase(waits_.begin(), waits_.begin() + static_cast<std::ptrdiff_t>(ready));
            first_record_ += ready;
            current_leads_ = &leads;
            Status st = compute(b);
            current_leads_ = nullptr;
            CONVEYOR_TRY(std::move(st));
            out.emit(std::move(b));
            if (ready < rows) break; // the rest of that batch waits
        }
        if (at_end && held_.empty()) waiting_.clear();
        return {};
    }

    void partition_key() {
        key_.clear();
        for (std::size_t k = 0; k < spec_.by.size(); ++k)
            encode_key(key_, values_[k]);
    }

    /// Computes every operation for the rows of `batch` and adds the results as fields.
    Status compute(Batch& batch) {
        const std::size_t n = spec_.operations.size();
        const ColumnLayout& layout = layouts_.get(batch.schema_ref(), [&](const Schema& in) {
            return layout_setting(in, spec_.outputs);
        });
        reader_.bind(batch.schema_ref());
        out_.assign(batch.rows() * n, Value::null());
        keep_.assign(batch.rows(), 1);
        std::size_t failed = 0;
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            Status st = compute_row(batch, r, out_.data() + r * n);
            if (st) continue;
            if (!errors_) return std::move(st).error().in_stage(stage_);
            CONVEYOR_TRY(
                errors_->record_failed(batch.schema(), batch.row(r), std::move(st).error()));
            keep_[r] = 0;
            ++failed;
        }
        layout.apply(batch);
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            auto row = batch.row(r);
            for (std::size_t o = 0; o < n; ++o)
                row[layout.target[o]] = out_[r * n + o];
        }
        for (const auto& owner : storage_)
            batch.keep_alive(owner);
        storage_.clear();
        if (failed) batch.retain_rows(keep_);
        return {};
    }

    /// Results point into `arena`: the batch they go into keeps it alive.
    void keep(const std::shared_ptr<Arena>& arena) {
        if (arena && (storage_.empty() || storage_.back() != arena)) storage_.push_back(arena);
    }

    Status compute_row(Batch& batch, std::size_t r, Value* out) {
        if (!reader_.read(batch.row(r), batch.arena(), values_.data()))
            return fail(ErrorKind::Data, reader_.error());
        // Checked before any state changes: a failed record counts nowhere.
        for (std::size_t o = 0; o < spec_.operations.size(); ++o) {
            const Operation& op = spec_.operations[o];
            if (op.op != Op::Sum && op.op != Op::Avg) continue;
            const Value& v = values_[spec_.input_of[o]];
            if (v.is_null() || (v.is_string() && v.as_string().empty()) || number_of(v)) continue;
            return fail(ErrorKind::Data, fmt::format("column '{}' holds {}, not a number",
                                                     op.input->text(), json::to_string(v)));
        }
        partition_key();
        auto [it, inserted] = partitions_.try_emplace(key_);
        std::vector<State>& states = it->second;
        if (inserted) states.resize(spec_.operations.size());
        for (std::size_t o = 0; o < spec_.operations.size(); ++o) {
            const Operation& op = spec_.operations[o];
            State& s = states[o];
            const Value v = op.input ? values_[spec_.input_of[o]] : Value::absent();
            switch (op.op) {
            case Op::RowNumber:
                out[o] = Value::integer(++s.count);
                break;
            case Op::Count:
                if (!v.is_null()) ++s.count;
                out[o] = Value::integer(s.count);
                break;
            case Op::Sum:
            case Op::Avg: {
                if (!v.is_null() && !(v.is_string() && v.as_string().empty())) {
                    const std::optional<double> d = number_of(v); // checked above
                    ++s.count;
                    s.sum += *d;
                    if (v.kind() == Kind::Int && s.int_only) {
                        if (__builtin_add_overflow(s.isum, v.as_int(), &s.isum)) s.int_only = false;
                    } else {
                        s.int_only = false;
                    }
                }
                if (op.op == Op::Sum)
                    out[o] = s.int_only ? Value::integer(s.isum) : Value::real(s.sum);
                else
                    out[o] =
                        s.count ? Value::real(s.sum / static_cast<double>(s.count)) : Value::null();
                break;
            }
            case Op::Min:
            case Op::Max: {
                if (!v.is_null()) {
                    bool better = s.best.v.is_absent();
                    if (!better) {
                        const auto a = number_of(v);
                        const auto b = number_of(s.best.v);
                        const int c = a && b ? (*a < *b   ? -1
                                                : *a > *b ? 1
                                                          : 0)
                                             : compare_values(key_value(v), key_value(s.best.v));
                        better = op.op == Op::Min ? c < 0 : c > 0;
                    }
                    if (better) s.best = Kept::of(v);
                }
                out[o] = s.best.v.is_absent() ? Value::null() : s.best.v;
                keep(s.best.arena);
                break;
            }
            case Op::Lag:
            case Op::Delta: {
                const std::size_t offset = op.op == Op::Lag ? op.offset : 1;
                if (s.history.size() >= offset) {
                    const Kept& prev = s.history[s.history.size() - offset];
                    if (op.op == Op::Lag) {
                        out[o] = prev.v;
                        keep(prev.arena);
                    } else {
                        const auto a = number_of(v);
                        const auto b = number_of(prev.v);
                        if (a && b) {
                            if (v.kind() == Kind::Int && prev.v.kind() == Kind::Int)
                                out[o] = Value::integer(v.as_int() - prev.v.as_int());
                            else
                                out[o] = Value::real(*a - *b);
                        }
                    }
                }
                s.history.push_back(Kept::of(v));
                if (s.history.size() > offset) s.history.pop_front();
                break;
            }
            case Op::Lead:
                out[o] = current_leads_ ? (*current_leads_)[r * spec_.operations.size() + o]
                                        : Value::null();
                break;
            case Op::FillDown:
                // A blank (null, empty or missing) value takes the last one that was not.
                if (!v.is_null() && !(v.is_string() && v.as_string().empty())) {
                    s.best = Kept::of(v);
                    out[o] = v;
                } else {
                    out[o] = s.best.v.is_absent() ? v : s.best.v;
                    keep(s.best.arena);
                }
                break;
            }
        }
        return {};
    }

    const RunningSpec& spec_;
    expr::OperandReader reader_;
    StageErrors* errors_;
    std::string stage_;
    PerSchema<ColumnLayout> layouts_;
    std::unordered_map<std::string, std::vector<State>> partitions_;
    std::string key_;
    std::vector<Value> values_;
    std::vector<Value> out_;
    std::vector<std::uint8_t> keep_;
    std::vector<std::shared_ptr<Arena>> storage_;

    // With lead: the batches from the first record still waiting for a lead on (and the
    // number of each one's first record); per held record, its lead values (records x
    // operations) and how many leads it still waits for; per partition and operation, the
    // records waiting.
    std::deque<Batch> held_;
    std::deque<std::uint64_t> held_starts_;
    std::deque<Value> leads_;
    std::deque<std::uint32_t> waits_;
    std::uint64_t first_record_ = 0; ///< the first held record's number
    std::uint64_t next_record_ = 0;
    std::unordered_map<std::string, std::vector<std::deque<std::uint64_t>>> waiting_;
    const std::vector<Value>* current_leads_ = nullptr;
};

class RunningStage final : public Stage {
public:
    explicit RunningStage(RunningSpec spec) : spec_(std::move(spec)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
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

private:
    RunningSpec spec_;
};

std::optional<Operation> read_operation(BuildContext& ctx, const OptionValue& v, std::size_t i) {
    const std::string where = fmt::format("operations[{}]", i);
    if (!v.is_table()) {
        ctx.error("operations", where + " must be a table such as { column = \"amount\", "
                                        "operation = \"running_sum\" }");
        return std::nullopt;
    }
    Operation op;
    std::string name;
    for (const auto& [key, value] : v.as_table()) {
        if (key == "operation") {
            if (value.is_string()) name = value.as_string();
        } else if (key == "column") {
            if (!value.is_string() || value.as_string().empty()) {
                ctx.error("operations", where + ".column must name a field");
                return std::nullopt;
            }
            op.input = expr::Operand::parse(value.as_string());
        } else if (key == "output_column") {
            if (!value.is_string() || value.as_string().empty()) {
                ctx.error("operations", where + ".output_column must be a field name");
                return std::nullopt;
            }
            op.output = value.as_string();
        } else if (key == "offset") {
            if (!value.is_int() || value.as_int() < 1 || value.as_int() > 1000000) {
                ctx.error("operations", where + ".offset must be an integer from 1 to 1000000");
                return std::nullopt;
            }
            op.offset = static_cast<std::size_t>(value.as_int());
        } else {
            static const std::vector<std::string> known = {"column", "operation", "output_column",
                                                           "offset"};
            ctx.error("operations", where + ": unknown key '" + key + "'" +
                                        did_you_mean(key, known) +
                                        " (keys: column, operation, output_column, offset)");
            return std::nullopt;
        }
    }
    std::vector<std::string> names;
    for (const OpName& o : kOps)
        names.emplace_back(o.name);
    const auto found = std::find_if(std::begin(kOps), std::end(kOps),
                                    [&](const OpName& o) { return o.name == name; });
    if (found == std::end(kOps)) {
        ctx.error("operations", where +
                                    (name.empty() ? std::string(" names no operation")
                                                  : ": unknown operation '" + name + "'" +
                                                        did_you_mean(name, names)) +
                                    " (one of " + fmt::format("{}", fmt::join(names, ", ")) + ")");
        return std::nullopt;
    }
    op.op = found->op;
    if (!op.input && op.op != Op::RowNumber && op.op != Op::Count) {
        ctx.error("operations", where + ": operation '" + name + "' needs a column");
        return std::nullopt;
    }
    if (op.output.empty()) op.output = op.input ? op.input->text() + "_" + name : name;
    return op;
}

struct RunningOptions {
    std::vector<std::string> by;
    OptionValue operations; ///< required: a list of tables
};

const OptionTable<RunningOptions>& running_options() {
    static const auto table =
        OptionTable<RunningOptions>()
            .add("by", &RunningOptions::by,
                 {.description = "Partition fields: each partition has its own totals and "
                                 "neighbours. Empty: the whole input is one partition.",
                  .example = "[\"customer_id\"]"})
            .add("operations", &RunningOptions::operations,
                 {.description = "A list of { column, operation, output_column } tables. "
                                 "operation: running_sum, running_count, running_avg, "
                                 "running_min, running_max, row_number (no column), lag and "
                                 "lead (with offset, default 1), delta (the change from the "
                                 "previous record), fill_down (the value, or when it is null, "
                                 "empty or missing the last one that was not; output_column = "
                                 "column fills in place). output_column defaults to "
                                 "<column>_<operation>.",
                  .required = true,
                  .example = "[{ column = \"amount\", operation = \"running_sum\", "
                             "output_column = \"balance\" }]",
                  .type = OptionType::Any});
    return table;
}

std::unique_ptr<Stage> build_running(BuildContext& ctx, const RunningOptions& o) {
    RunningSpec spec;
    for (const std::string& k : o.by) {
        spec.by.push_back(expr::Operand::parse(k));
        spec.operands.push_back(spec.by.back());
    }
    if (!o.operations.is_list() || o.operations.as_list().empty()) {
        ctx.error("operations", "'operations' must be a list of tables such as "
                                "[{ column = \"amount\", operation = \"running_sum\" }]");
        return nullptr;
    }
    const auto& list = o.operations.as_list();
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto op = read_operation(ctx, list[i], i);
        if (!op) return nullptr;
        if (std::find(spec.outputs.begin(), spec.outputs.end(), op->output) != spec.outputs.end()) {
            ctx.error("operations",
                      "two operations write '" + op->output + "': give each its own output_column");
            return nullptr;
        }
        spec.outputs.push_back(op->output);
        if (op->input) {
            spec.input_of.push_back(spec.operands.size());
            spec.operands.push_back(*op->input);
        } else {
            spec.input_of.push_back(npos);
        }
        spec.has_lead = spec.has_lead || op->op == Op::Lead;
        spec.operations.push_back(std::move(*op));
    }
    return std::make_unique<RunningStage>(std::move(spec));
}

FunctionDescriptor running_apply() {
    FunctionDescriptor fn;
    fn.name = "running.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Running totals, row numbers, lag/lead, deltas and fill-down, per partition";
    fn.description =
        "Adds fields computed over the records so far, in input order, within each partition "
        "of `by`: running_sum, running_count (non-null values; without column, records), "
        "running_avg, running_min, running_max, row_number (1, 2, ...), lag (the value "
        "`offset` records back, null before), lead (the value `offset` records ahead, null "
        "at the end), delta (this value minus the previous one) and fill_down (the last value "
        "that was not null or empty, for blanks: `mlr fill-down -a`). Nulls are skipped by the "
        "running aggregates. It streams and holds one state per partition; with lead a record "
        "waits until the record `offset` ahead in its partition has come (or the input ends), "
        "and the records after it wait with it, since output keeps input order: memory grows "
        "with the distance between a record and its lead.";
    fn.options = running_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(running_options(), build_running);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::running

namespace conveyor::plugins {

void register_running(Registry& registry) {
    registry.add("running.apply", running::running_apply);
}

} // namespace conveyor::plugins
