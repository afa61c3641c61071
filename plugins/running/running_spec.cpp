#include "running_spec.hpp"

#include "conveyor/core/suggest.hpp"
#include "conveyor/format/value_key.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <iterator>

namespace conveyor::plugins::running {

namespace {

struct OpName {
    std::string_view name;
    Op op;
};
constexpr OpName kOps[] = {{"running_sum", Op::Sum},
                           {"running_count", Op::Count},
                           {"running_avg", Op::Avg},
                           {"running_min", Op::Min},
                           {"running_max", Op::Max},
                           {"row_number", Op::RowNumber},
                           {"lag", Op::Lag},
                           {"lead", Op::Lead},
                           {"delta", Op::Delta},
                           {"ratio", Op::Ratio},
                           {"from_first", Op::FromFirst},
                           {"ewma", Op::Ewma},
                           {"fill_down", Op::FillDown}};

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
        } else if (key == "alpha") {
            const double a = value.is_number() ? value.as_double() : -1;
            if (!(a > 0 && a <= 1)) {
                ctx.error("operations", where + ".alpha must be a number above 0 and at most 1 "
                                                "(the weight of the newest value)");
                return std::nullopt;
            }
            op.alpha = a;
        } else {
            static const std::vector<std::string> known = {"column", "operation", "output_column",
                                                           "offset", "alpha"};
            ctx.error("operations", where + ": unknown key '" + key + "'" +
                                        did_you_mean(key, known) +
                                        " (keys: column, operation, output_column, offset, "
                                        "alpha)");
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

} // namespace

void partition_key(const RunningSpec& spec, const std::vector<Value>& values, std::string& key) {
    key.clear();
    for (std::size_t k = 0; k < spec.by.size(); ++k)
        encode_key(key, values[k]);
}

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
                                 "previous record), ratio (this value divided by the previous "
                                 "one), from_first (the change from the partition's first "
                                 "value), ewma (exponentially weighted moving average, with "
                                 "alpha, the newest value's weight, default 0.5: Miller's step "
                                 "-a ewma -d), fill_down (the value, or when it is null, "
                                 "empty or missing the last one that was not; output_column = "
                                 "column fills in place). output_column defaults to "
                                 "<column>_<operation>.",
                  .required = true,
                  .example = "[{ column = \"amount\", operation = \"running_sum\", "
                             "output_column = \"balance\" }]",
                  .type = OptionType::Any});
    return table;
}

std::optional<RunningSpec> make_spec(BuildContext& ctx, const RunningOptions& o) {
    RunningSpec spec;
    for (const std::string& k : o.by) {
        spec.by.push_back(expr::Operand::parse(k));
        spec.operands.push_back(spec.by.back());
    }
    if (!o.operations.is_list() || o.operations.as_list().empty()) {
        ctx.error("operations", "'operations' must be a list of tables such as "
                                "[{ column = \"amount\", operation = \"running_sum\" }]");
        return std::nullopt;
    }
    const auto& list = o.operations.as_list();
    for (std::size_t i = 0; i < list.size(); ++i) {
        auto op = read_operation(ctx, list[i], i);
        if (!op) return std::nullopt;
        if (std::find(spec.outputs.begin(), spec.outputs.end(), op->output) != spec.outputs.end()) {
            ctx.error("operations",
                      "two operations write '" + op->output + "': give each its own output_column");
            return std::nullopt;
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
    return spec;
}

} // namespace conveyor::plugins::running
