#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/expression.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/field_watch.hpp"
#include "filter.hpp"

namespace conveyor::plugins {

namespace {

/// What a field that never appears does to a filter (FieldWatch's warnings end with it).
constexpr const char* kFilterConsequence = "every record was tested as if it were missing";

/// How many rows ahead a filter asks for the text it will test (prefetch_text).
constexpr std::size_t kPrefetchRows = 8;

using filter::Condition;
using filter::Literal;
using filter::Op;

/// Keeps the records whose `column` satisfies the condition; evaluated a whole batch at a
/// time, in place (rows are compacted, nothing is copied out).
class FilterOperator final : public Operator {
public:
    FilterOperator(const expr::FieldPath& column, const Condition& cond, StageMetrics* metrics,
                   std::optional<FieldWatch> watch)
        : column_(column), cond_(cond), metrics_(metrics), watch_(std::move(watch)) {}

    Status finish(Emitter&) override {
        if (watch_) watch_->finished();
        return {};
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const std::size_t rows = batch.rows();
        if (watch_) watch_->saw(batch);
        const expr::ResolvedPath where = columns_.get(
            batch.schema_ref(), [&](const Schema& s) { return expr::resolve(column_, s); });
        // A plain column is tested in place; a path (user.address.city) is looked up per row.
        const std::optional<std::size_t> col =
            where.found() && where.next_step == column_.steps().size()
                ? std::optional<std::size_t>(where.column)
                : std::nullopt;
        keep_.assign(rows, 0);
        std::size_t kept = 0;
        if (col) {
            for (std::size_t r = 0; r < rows; ++r) {
                if (r + kPrefetchRows < rows) prefetch_text(batch.at(r + kPrefetchRows, *col));
                const bool k = cond_.matches(batch.at(r, *col));
                keep_[r] = k;
                kept += k;
            }
        } else if (where.found()) {
            for (std::size_t r = 0; r < rows; ++r) {
                const bool k = cond_.matches(expr::lookup(column_, where, batch.row(r)));
                keep_[r] = k;
                kept += k;
            }
        } else {
            // The column is absent from every record of this batch.
            const bool k = cond_.matches(Value::absent());
            std::fill(keep_.begin(), keep_.end(), static_cast<std::uint8_t>(k));
            kept = k ? rows : 0;
        }
        if (metrics_) metrics_->records_filtered.fetch_add(rows - kept, std::memory_order_relaxed);
        if (kept == 0) return {};
        if (kept != rows) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    const expr::FieldPath& column_;
    const Condition& cond_;
    StageMetrics* metrics_;
    PerSchema<expr::ResolvedPath> columns_;
    std::vector<std::uint8_t> keep_;
    std::optional<FieldWatch> watch_; ///< input without a fixed schema
};

class FilterStage final : public Stage {
public:
    FilterStage(std::string column, Condition cond)
        : name_(std::move(column)), cond_(std::move(cond)) {
        // `user.address.city` is a path into nested values; a name that is not a valid path
        // ("first name") is taken literally, as it always was.
        column_ = expr::FieldPath::path_or_name(name_);
    }

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed && !expr::resolve(column_, *in).found()) {
            return fail(ErrorKind::Config,
                        "column: field '" + name_ + "' is not in the input (columns: " +
                            join(in->names()) + ")" + did_you_mean(name_, in->names()));
        }
        std::optional<FieldWatch> watch;
        if (!fixed)
            watch.emplace(std::string(ctx.stage_id), std::vector<expr::FieldPath>{column_},
                          ctx.metrics, kFilterConsequence);
        OpenedStage opened(
            std::make_unique<FilterOperator>(column_, cond_, ctx.metrics, std::move(watch)), in);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless: a checkpoint marker just passes on
        return opened;
    }

    static std::string join(const std::vector<std::string>& names) {
        std::string s;
        for (std::size_t i = 0; i < names.size(); ++i)
            s += (i ? ", " : "") + names[i];
        return s;
    }

private:
    std::string name_;
    expr::FieldPath column_;
    Condition cond_;
};

/// Keeps the records for which `expression` is true (null counts as false). A record the
/// expression cannot be evaluated on (a failed cast, a division by zero) is a record error: it
/// follows the stage's error strategy.
class ExpressionFilterOperator final : public Operator {
public:
    ExpressionFilterOperator(expr::Expression e, StageErrors* errors, StageMetrics* metrics,
                             std::optional<FieldWatch> watch)
        : eval_(std::move(e)), errors_(errors), metrics_(metrics), watch_(std::move(watch)) {}

    Status finish(Emitter&) override {
        if (watch_) watch_->finished();
        return {};
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const std::size_t rows = batch.rows();
        if (watch_) watch_->saw(batch);
        eval_.bind(batch.schema_ref());
        Arena scratch; // strings made while testing; nothing of it is kept
        keep_.assign(rows, 0);
        std::size_t kept = 0;
        std::size_t failed = 0;
        const std::span<const std::size_t> columns = eval_.columns();
        for (std::size_t r = 0; r < rows; ++r) {
            // The text of the columns tested, a few rows ahead: it was written by the parser
            // on another thread, and waiting for it was most of the filter's time.
            if (r + kPrefetchRows < rows)
                for (const std::size_t c : columns)
                    prefetch_text(batch.at(r + kPrefetchRows, c));
            const auto row = batch.row(r);
            const auto pass = eval_.test(row, scratch);
            if (!pass) {
                ++failed;
                Error e(ErrorKind::Data, eval_.error());
                if (!errors_) return fail(std::move(e));
                if (Status st = errors_->record_failed(batch.schema(), row, std::move(e)); !st)
                    return st;
                continue;
            }
            keep_[r] = *pass;
            kept += *pass;
        }
        if (metrics_)
            metrics_->records_filtered.fetch_add(rows - kept - failed, std::memory_order_relaxed);
        if (kept == 0) return {};
        if (kept != rows) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    expr::Evaluator eval_;
    StageErrors* errors_;
    StageMetrics* metrics_;
    std::vector<std::uint8_t> keep_;
    std::optional<FieldWatch> watch_; ///< input without a fixed schema
};

class ExpressionFilterStage final : public Stage {
public:
    explicit ExpressionFilterStage(expr::Expression e) : expression_(std::move(e)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed) {
            if (auto d = expression_.check_fields(*in))
                return fail(ErrorKind::Config, "expression: " + d->render(expression_.text()));
        }
        std::optional<FieldWatch> watch;
        if (!fixed) {
            const auto fields = expression_.fields();
            watch.emplace(std::string(ctx.stage_id),
                          std::vector<expr::FieldPath>(fields.begin(), fields.end()), ctx.metrics,
                          kFilterConsequence);
        }
        OpenedStage opened(std::make_unique<ExpressionFilterOperator>(
                               expression_, ctx.errors, ctx.metrics, std::move(watch)),
                           in);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless: a checkpoint marker just passes on
        return opened;
    }

private:
    expr::Expression expression_;
};

/// filter.apply's options: either `expression`, or the older column/operator/value.
struct FilterOptions {
    std::optional<std::string> expression;
    std::optional<std::string> column;
    std::optional<std::string> op;
    OptionValue value;
};

const OptionTable<FilterOptions>& filter_options() {
    static const auto table =
        OptionTable<FilterOptions>()
            .add("expression", &FilterOptions::expression,
                 {.description = "A condition in the expression language, e.g. \"amount >= 1000 "
                                 "and (country == 'DE' or vip)\" (instead of "
                                 "column/operator/value)",
                  .example = "\"amount >= 1000 and country == 'DE'\""})
            .add("column", &FilterOptions::column,
                 {.description = "Field to test (a path such as user.address.city)"})
            .add("operator", &FilterOptions::op,
                 {.description = "==, !=, >, >=, <, <=, contains, in, not_in, is_null, not_null "
                                 "(also = and <>)",
                  .choices = filter::op_spellings()})
            .add("value", &FilterOptions::value,
                 {.description = "Value to compare with (a list for in / not_in)"});
    return table;
}

std::unique_ptr<Stage> build_expression_filter(BuildContext& ctx, const FilterOptions& o) {
    for (const char* key : {"column", "operator", "value"}) {
        if (ctx.options().given(key)) {
            ctx.error(key, std::string("give either 'expression' or column/operator/value, not "
                                       "both ('") +
                               key + "' is given with 'expression')");
            return nullptr;
        }
    }
    auto e = expr::Expression::compile(*o.expression);
    if (!e) {
        ctx.error("expression", "expression: " + e.error().message);
        return nullptr;
    }
    if (e->type() != expr::Type::Bool && e->type() != expr::Type::Any &&
        e->type() != expr::Type::Null) {
        ctx.error("expression", "a filter needs a condition (true or false); this expression "
                                "gives a " +
                                    std::string(expr::to_string(e->type())));
        return nullptr;
    }
    return std::make_unique<ExpressionFilterStage>(std::move(*e));
}

std::unique_ptr<Stage> build_filter(BuildContext& ctx, const FilterOptions& o) {
    if (o.expression) return build_expression_filter(ctx, o);
    if (!o.column || !o.op) {
        ctx.error(o.column ? "operator" : "column",
                  "filter.apply needs either expression = \"...\" (e.g. \"amount >= 1000 and "
                  "country == 'DE'\") or column and operator (and value)");
        return nullptr;
    }
    const std::string& op_text = *o.op;
    const auto op = filter::parse_op(op_text);
    if (!op) {
        ctx.error("operator", "unknown operator '" + op_text + "'" +
                                  did_you_mean(op_text, filter::op_spellings()) +
                                  "; expected one of ==, !=, >, >=, <, <=, contains, in, "
                                  "not_in, is_null, not_null");
        return nullptr;
    }
    const OptionValue* value = &o.value;
    const bool has_value = !value->is_null();
    std::vector<Literal> literals;
    if (*op == Op::IsNull || *op == Op::NotNull) {
        if (ctx.options().given("value"))
            ctx.warning("value", "'value' is ignored by operator '" + op_text + "'");
    } else if (!has_value) {
        ctx.error("operator", "operator '" + op_text + "' needs a 'value' to compare with");
        return nullptr;
    } else if (*op == Op::In || *op == Op::NotIn) {
        if (!value->is_list()) {
            ctx.error("value",
                      "operator '" + op_text + "' needs a list value, e.g. value = [\"a\", \"b\"]");
            return nullptr;
        }
        for (const OptionValue& item : value->as_list()) {
            if (item.is_list() || item.is_table()) {
                ctx.error("value", "the list of '" + op_text + "' may only hold plain values");
                return nullptr;
            }
            literals.push_back(Literal::from_option(item));
        }
    } else {
        if (value->is_list() || value->is_table()) {
            ctx.error("value", "operator '" + op_text +
                                   "' compares with one value; use 'in' to test a list");
            return nullptr;
        }
        literals.push_back(Literal::from_option(*value));
    }
    return std::make_unique<FilterStage>(*o.column, Condition(*op, std::move(literals)));
}

} // namespace

/// filter.apply's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor filter_apply_descriptor() {
    FunctionDescriptor fn;
    fn.name = "filter.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Keep the records that satisfy a condition";
    fn.description =
        "Keeps the records for which `expression` is true (null counts as false; a record the "
        "expression fails on is a record error that follows the error strategy), or, in the "
        "older form, those where `column <operator> value` holds. Numbers compare numerically "
        "whatever the TOML literal type (value = \"100\" against a numeric column compares as "
        "a number; a string that is not a number is never above or below a number), strings "
        "lexically (byte order), booleans by value. Null or missing values "
        "never match a comparison; use is_null / not_null to select them. `contains` tests a "
        "substring of a string (or of a number as it is written: a zip code 12345 contains "
        "\"23\") or an element of an array; `in` / `not_in` take a list. "
        "Between window.apply and aggregate.stream, windows keep closing: their closing "
        "signals are not records and pass every filter.";
    fn.options = filter_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(filter_options(), build_filter);
    return fn;
}

void register_filter(Registry& registry) {
    registry.add("filter.apply", filter_apply_descriptor);
}

} // namespace conveyor::plugins
