// running.apply: running totals and neighbours, per partition (`by`) in input order: running
// sum, count, avg, min and max, the row number, the previous (lag) or next (lead) value and the
// change from the previous one (delta). Without lead it streams, holding one state per
// partition; with lead a record waits for the next record of its partition, so the stage
// holds its input and puts it out at the end.

#include "conveyor/core/column_layout.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <charconv>
#include <cmath>
#include <deque>
#include <fmt/format.h>
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
            held_.push_back(std::move(batch));
            return {};
        }
        CONVEYOR_TRY(compute(batch));
        out.emit(std::move(batch));
        return {};
    }

    Status finish(Emitter&) override {
        if (!spec_.has_lead) return {};
        // Leads: walking the input backwards, the next values of each partition are known.
        std::unordered_map<std::string, std::vector<std::deque<Kept>>> ahead;
        leads_.resize(held_.size());
        for (std::size_t i = held_.size(); i-- > 0;) {
            Batch& b = held_[i];
            reader_.bind(b.schema_ref());
            leads_[i].assign(b.rows() * spec_.operations.size(), Value::null());
            for (std::size_t r = b.rows(); r-- > 0;) {
                if (!reader_.read(b.row(r), b.arena(), values_.data())) continue;
                partition_key();
                auto& per_op = ahead[key_];
                per_op.resize(spec_.operations.size());
                for (std::size_t o = 0; o < spec_.operations.size(); ++o) {
                    const Operation& op = spec_.operations[o];
                    if (op.op != Op::Lead) continue;
                    std::deque<Kept>& next = per_op[o];
                    if (next.size() >= op.offset)
                        leads_[i][r * spec_.operations.size() + o] = next[op.offset - 1].v;
                    next.push_front(Kept::of(values_[spec_.input_of[o]]));
                    if (next.size() > op.offset) next.pop_back();
                    if (!next.front().arena) continue;
                    lead_storage_.push_back(next.front().arena);
                }
            }
        }
        return {};
    }

    Result<bool> finish_more(Emitter& out) override {
        if (next_ >= held_.size()) return false;
        Batch b = std::move(held_[next_]);
        current_leads_ = &leads_[next_];
        ++next_;
        CONVEYOR_TRY(compute(b));
        for (const auto& owner : lead_storage_)
            b.keep_alive(owner);
        out.emit(std::move(b));
        return next_ < held_.size();
    }

private:
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

    // With lead: the input, and per held batch the lead values (rows x operations).
    std::vector<Batch> held_;
    std::vector<std::vector<Value>> leads_;
    std::vector<std::shared_ptr<Arena>> lead_storage_;
    const std::vector<Value>* current_leads_ = nullptr;
    std::size_t next_ = 0;
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
        "running aggregates. Without lead it streams and holds one state per partition; lead "
        "needs the records that follow, so a stage with lead holds its input and puts it out "
        "at the end.";
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
