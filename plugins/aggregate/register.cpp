#include "aggregator.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace conveyor::plugins {

namespace {

using aggregate::AggregateSpec;
using aggregate::Aggregator;
using aggregate::Operation;

class AggregateOperator final : public Operator {
public:
    AggregateOperator(const AggregateSpec& spec, const RunContext* run) : agg_(spec), run_(run) {
        // A cancelled run abandons the batch at hand instead of folding all of it.
        if (run_) agg_.set_interrupt([run] { return run->cancelled(); });
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        CONVEYOR_TRY(agg_.push(batch, produced_));
        for (Batch& b : produced_)
            out.emit(std::move(b));
        produced_.clear();
        return {};
    }
    [[nodiscard]] bool consumes(const BatchInfo& info) const noexcept override {
        return std::holds_alternative<WindowClosed>(info);
    }
    Status on_info(std::size_t, const BatchInfo& info, Emitter& out) override {
        agg_.close(std::get<WindowClosed>(info), produced_);
        for (Batch& b : produced_)
            out.emit(std::move(b));
        produced_.clear();
        return {};
    }
    Status finish(Emitter& out) override {
        agg_.finish(produced_);
        if (run_ && run_->cancelled()) {
            produced_.clear();
            return fail(ErrorKind::Cancelled, "cancelled");
        }
        for (Batch& b : produced_)
            out.emit(std::move(b));
        produced_.clear();
        return {};
    }

private:
    Aggregator agg_;
    const RunContext* run_;
    std::vector<Batch> produced_;
};

class AggregateStage final : public Stage {
public:
    explicit AggregateStage(AggregateSpec spec) : spec_(std::move(spec)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas.front();
        if (in && !in->find("window_start"))
            return fail(ErrorKind::Config,
                        "aggregate.stream takes the records of window.apply (with window_start, "
                        "and the signals that close windows); its input has no window_start "
                        "field: put a window.apply stage before it");
        if (in && !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed.front()) {
            std::vector<std::string> missing;
            // A field of that name, or a path whose first field is there (user.country).
            auto known = [&](const std::string& name) {
                if (in->find(name)) return true;
                auto path = expr::FieldPath::parse(name);
                return path && expr::resolve(*path, *in).found();
            };
            for (const std::string& k : spec_.group_by)
                if (!known(k)) missing.push_back(k);
            if (spec_.value_column && !known(*spec_.value_column))
                missing.push_back(*spec_.value_column);
            if (!missing.empty())
                return fail(ErrorKind::Config,
                            fmt::format("field{} {} not in the input (its fields: {})",
                                        missing.size() == 1 ? "" : "s", fmt::join(missing, ", "),
                                        fmt::join(in->names(), ", ")));
        }
        auto op = std::make_unique<AggregateOperator>(spec_, ctx.run);
        SchemaRef schema = Aggregator(spec_).output_schema();
        OpenedStage opened(std::unique_ptr<Operator>(std::move(op)), std::move(schema));
        opened.fixed_schema = true;
        return opened;
    }

private:
    AggregateSpec spec_;
};

/// aggregate.stream's options.
struct AggregateOptions {
    Operation operation = Operation::Count; ///< required
    std::optional<std::string> value_column;
    std::vector<std::string> group_by;
    std::optional<std::string> output_column;
};

constexpr std::string_view operation_name(Operation op) noexcept {
    switch (op) {
    case Operation::Sum:
        return "sum";
    case Operation::Avg:
        return "avg";
    case Operation::Min:
        return "min";
    case Operation::Max:
        return "max";
    case Operation::Count:
        break;
    }
    return "count";
}

const OptionTable<AggregateOptions>& aggregate_options() {
    static const auto table =
        OptionTable<AggregateOptions>()
            .add_choice("operation", &AggregateOptions::operation,
                        {{"count", Operation::Count},
                         {"sum", Operation::Sum},
                         {"avg", Operation::Avg},
                         {"min", Operation::Min},
                         {"max", Operation::Max}},
                        {.description = "What to compute per window and key.", .required = true})
            .add("value_column", &AggregateOptions::value_column,
                 {.description = "The field whose numbers are summed, averaged, ... (count: "
                                 "optional, counts its non-null values)."})
            .add("group_by", &AggregateOptions::group_by,
                 {.description = "Fields that make the key: one result per window and distinct "
                                 "key. Empty: one result per window."})
            .add("output_column", &AggregateOptions::output_column,
                 {.description = "Name of the result field (default: the operation's name, "
                                 "e.g. \"count\")."});
    return table;
}

std::unique_ptr<Stage> build_aggregate(BuildContext& ctx, const AggregateOptions& opts) {
    if (ctx.global().shard) {
        // Each shard would emit its own result for a window: two rows, each part of it.
        ctx.error("operation", "aggregate.stream emits one result per window, and a sharded run "
                               "gives each shard a share of a window's records (each would emit "
                               "a partial result): run without --shard");
        return nullptr;
    }
    AggregateSpec spec;
    spec.operation = opts.operation;
    const std::string op(operation_name(opts.operation));
    if (opts.value_column) {
        spec.value_column = *opts.value_column;
        if (spec.value_column->empty()) ctx.error("value_column", "value_column must name a field");
    } else if (spec.operation != Operation::Count) {
        ctx.error("value_column", fmt::format("operation = \"{}\" needs value_column, the field "
                                              "whose numbers it takes",
                                              op));
    }
    spec.group_by = opts.group_by;
    spec.output_column = opts.output_column ? *opts.output_column : op;
    if (spec.output_column.empty()) ctx.error("output_column", "output_column must not be empty");
    for (std::size_t i = 0; i < spec.group_by.size(); ++i) {
        const std::string& k = spec.group_by[i];
        if (k.empty()) ctx.error("group_by", "group_by has an empty field name");
        if (std::find(spec.group_by.begin(), spec.group_by.begin() + static_cast<long>(i), k) !=
            spec.group_by.begin() + static_cast<long>(i))
            ctx.error("group_by", fmt::format("group_by lists '{}' twice", k));
        if (k == "window_start" || k == "window_end")
            ctx.error("group_by", fmt::format("'{}' is already part of every result; group_by "
                                              "names the fields of the records",
                                              k));
    }
    const std::string& out = spec.output_column;
    if (std::find(spec.group_by.begin(), spec.group_by.end(), out) != spec.group_by.end() ||
        out == "window_start" || out == "window_end")
        ctx.error(opts.output_column ? "output_column" : "operation",
                  fmt::format("the result field '{}' would clash with a group_by field or the "
                              "window bounds; choose another output_column",
                              out));
    if (ctx.failed()) return nullptr;
    return std::make_unique<AggregateStage>(std::move(spec));
}

} // namespace

/// aggregate.stream's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor aggregate_stream_descriptor() {
    FunctionDescriptor fn;
    fn.name = "aggregate.stream";
    fn.role = StageRole::Transform;
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.summary = "Count, sum, average, min or max per window (from window.apply) and key";
    fn.description =
        "Aggregates the records of window.apply: when a window closes it emits one record per "
        "key (the group_by fields) seen in that window, with the group_by fields, the result "
        "(output_column, named after the operation by default) and the window's bounds "
        "(window_start, window_end), keys in the order they first appeared. count counts "
        "records (or, with value_column, its non-null values); sum, avg, min and max take the "
        "numbers of value_column, skipping null and missing values (a window whose values are "
        "all null gives null); a value that is not a number stops the run. sum stays an integer "
        "while every value is one. Memory is one accumulator per open window and key: nothing "
        "waits for the end of the input, so it runs in streaming mode. Put window.apply "
        "before it; stages in between (filter.apply, map.apply, select.apply, ...) pass the "
        "signals that close windows on by themselves, since they are not records.";
    fn.options = aggregate_options().specs();
    fn.factory = bind_options(aggregate_options(), build_aggregate);
    return fn;
}

void register_aggregate(Registry& registry) {
    registry.add("aggregate.stream", aggregate_stream_descriptor);
}

} // namespace conveyor::plugins
