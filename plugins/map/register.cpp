#include "conveyor/core/column_layout.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/expression.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/field_watch.hpp"

#include <set>

namespace conveyor::plugins::map {

namespace {

/// One computed field: its name and the expression that gives its value.
struct Computed {
    std::string name;
    expr::Expression expression;
};

/// The names of the computed fields, in order.
std::vector<std::string> names_of(const std::vector<Computed>& computed) {
    std::vector<std::string> names;
    for (const Computed& c : computed)
        names.push_back(c.name);
    return names;
}

/// Computes fields with expressions, a batch at a time. Every expression sees the record as it
/// came in; results are written after all of them ran. A record an expression fails on is a
/// record error (the stage's strategy decides: fail, or leave it out and dead-letter it).
class MapOperator final : public Operator {
public:
    MapOperator(const std::vector<Computed>& computed, StageErrors* errors,
                std::optional<FieldWatch> watch)
        : errors_(errors), watch_(std::move(watch)) {
        for (const Computed& c : computed) {
            evaluators_.emplace_back(c.expression);
            storage_.push_back(c.expression.storage());
        }
        computed_ = &computed;
    }

    Status finish(Emitter&) override {
        if (watch_) watch_->finished();
        return {};
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        if (watch_) watch_->saw(batch);
        const std::size_t rows = batch.rows();
        const std::size_t n = evaluators_.size();
        const ColumnLayout& m = layouts_.get(batch.schema_ref(), [&](const Schema& in) {
            return layout_setting(in, names_of(*computed_));
        });
        for (auto& e : evaluators_)
            e.bind(batch.schema_ref());
        results_.assign(rows * n, Value());
        keep_.assign(rows, 1);
        std::size_t failed = 0;
        Arena& arena = batch.arena();
        for (std::size_t r = 0; r < rows; ++r) {
            const auto row = batch.row(r);
            for (std::size_t i = 0; i < n; ++i) {
                auto v = evaluators_[i].eval(row, arena);
                if (v) {
                    results_[r * n + i] = *v;
                    continue;
                }
                Error e(ErrorKind::Data,
                        "'" + (*computed_)[i].name + "': " + evaluators_[i].error());
                if (!errors_) return fail(std::move(e));
                if (Status st = errors_->record_failed(batch.schema(), row, std::move(e)); !st)
                    return st;
                keep_[r] = 0;
                ++failed;
                break;
            }
        }
        if (!m.same_schema) batch.remap_columns(m.schema, m.source);
        for (std::size_t r = 0; r < rows; ++r) {
            if (!keep_[r]) continue;
            auto row = batch.row(r);
            for (std::size_t i = 0; i < n; ++i)
                row[m.target[i]] = results_[r * n + i];
        }
        for (const auto& owner : storage_)
            batch.keep_alive(owner); // literal strings
        if (failed == rows) return {};
        if (failed) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    const std::vector<Computed>* computed_;
    StageErrors* errors_;
    std::vector<expr::Evaluator> evaluators_;
    std::vector<std::shared_ptr<const void>> storage_;
    PerSchema<ColumnLayout> layouts_;
    std::vector<Value> results_;
    std::vector<std::uint8_t> keep_;
    std::optional<FieldWatch> watch_; ///< input without a fixed schema
};

class MapStage final : public Stage {
public:
    explicit MapStage(std::vector<Computed> computed) : computed_(std::move(computed)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        SchemaRef out;
        if (in) {
            if (fixed) {
                for (const Computed& c : computed_) {
                    if (auto d = c.expression.check_fields(*in))
                        return fail(ErrorKind::Config,
                                    "columns." + c.name + ": " + d->render(c.expression.text()));
                }
            }
            ColumnLayout m = layout_setting(*in, names_of(computed_));
            out = m.same_schema ? in : m.schema;
        }
        std::optional<FieldWatch> watch;
        if (!fixed) {
            std::vector<expr::FieldPath> read;
            for (const Computed& c : computed_) {
                const auto fields = c.expression.fields();
                read.insert(read.end(), fields.begin(), fields.end());
            }
            watch.emplace(std::string(ctx.stage_id), distinct_fields(std::move(read)), ctx.metrics,
                          "the expressions read it as missing (null)");
        }
        OpenedStage opened(std::make_unique<MapOperator>(computed_, ctx.errors, std::move(watch)),
                           out);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless: a checkpoint marker just passes on
        return opened;
    }

private:
    std::vector<Computed> computed_;
};

/// map.apply's options: `columns`, or the earlier tool's `expression` with `output_column`.
struct MapOptions {
    std::optional<StringPairs> columns;
    std::optional<std::string> expression;
    std::optional<std::string> output_column;
};

const OptionTable<MapOptions>& map_options() {
    static const auto table =
        OptionTable<MapOptions>()
            .add("columns", &MapOptions::columns,
                 {.description = "Output field = expression, in output order, e.g. { total = "
                                 "\"price * qty\", name = \"upper(name)\" }"})
            .add("expression", &MapOptions::expression,
                 {.description = "One expression (with output_column), instead of columns"})
            .add("output_column", &MapOptions::output_column,
                 {.description = "The field that receives expression's value"});
    return table;
}

std::unique_ptr<Stage> build_map(BuildContext& ctx, const MapOptions& o) {
    const bool has_expression = o.expression.has_value();
    const bool has_columns = o.columns.has_value();
    if (has_expression == has_columns) {
        ctx.error(has_columns ? "expression" : "columns",
                  has_columns ? "give either 'columns' or 'expression' with 'output_column', "
                                "not both"
                              : "map.apply needs columns = { total = \"price * qty\" } or "
                                "expression = \"...\" with output_column = \"...\"");
        return nullptr;
    }
    std::vector<std::pair<std::string, std::string>> wanted;
    if (has_expression) {
        if (!o.output_column) {
            ctx.error("output_column", "'expression' needs 'output_column': the field that "
                                       "receives its value");
            return nullptr;
        }
        wanted.emplace_back(*o.output_column, *o.expression);
    } else {
        if (o.output_column)
            ctx.warning("output_column", "'output_column' is ignored with 'columns' (each key "
                                         "of 'columns' names its output field)");
        wanted = *o.columns;
        if (wanted.empty()) {
            ctx.error("columns", "'columns' is empty: nothing to compute");
            return nullptr;
        }
    }
    std::vector<Computed> computed;
    std::set<std::string> names;
    const char* key = has_expression ? "expression" : "columns";
    for (auto& [name, text] : wanted) {
        if (name.empty()) {
            ctx.error(has_expression ? "output_column" : "columns", "an output field needs a name");
            return nullptr;
        }
        if (!names.insert(name).second) {
            ctx.error(key, "field '" + name + "' is computed twice");
            return nullptr;
        }
        auto e = expr::Expression::compile(text);
        if (!e) {
            ctx.error(key,
                      (has_expression ? std::string("expression: ") : "columns." + name + ": ") +
                          e.error().message);
            return nullptr;
        }
        computed.push_back({name, std::move(*e)});
    }
    return std::make_unique<MapStage>(std::move(computed));
}

FunctionDescriptor map_apply() {
    FunctionDescriptor fn;
    fn.name = "map.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Compute fields with expressions";
    fn.description =
        "Computes fields with the expression language: `columns = { total = \"price * qty\", "
        "name = \"upper(name)\" }` (new fields are appended in the order written; replacing an "
        "existing field keeps its position), or the earlier tool's form, `expression` with "
        "`output_column`. Every expression sees the record as it came in. A record an "
        "expression fails on (a failed cast, a division by zero) is a record error: it follows "
        "the stage's error strategy.";
    fn.options = map_options().specs();
    fn.factory = bind_options(map_options(), build_map);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::map

namespace conveyor::plugins {

void register_map(Registry& registry) {
    registry.add("map.apply", map::map_apply);
}

} // namespace conveyor::plugins
