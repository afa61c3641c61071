#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/registry.hpp"
#include "filter.hpp"

namespace conveyor::plugins {

namespace {

using filter::Condition;
using filter::Literal;
using filter::Op;

/// Keeps the records whose `column` satisfies the condition; evaluated a whole batch at a
/// time, in place (rows are compacted, nothing is copied out).
class FilterOperator final : public Operator {
public:
    FilterOperator(std::string column, const Condition& cond, StageMetrics* metrics)
        : column_(std::move(column)), cond_(cond), metrics_(metrics) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const std::size_t rows = batch.rows();
        const auto col = columns_.get(batch.schema_ref(), [&](const Schema& s) {
            return s.find(column_);
        });
        const auto closed = closed_columns_.get(batch.schema_ref(), [](const Schema& s) {
            return s.find(kWindowClosed);
        });
        keep_.assign(rows, 0);
        std::size_t kept = 0;
        if (col) {
            for (std::size_t r = 0; r < rows; ++r) {
                const bool k = cond_.matches(batch.at(r, *col));
                keep_[r] = k;
                kept += k;
            }
        } else {
            // The column is absent from every record of this batch.
            const bool k = cond_.matches(Value::absent());
            std::fill(keep_.begin(), keep_.end(), static_cast<std::uint8_t>(k));
            kept = k ? rows : 0;
        }
        if (closed) {
            // A window.apply marker (window_closed = true, no data) closes a window for the
            // aggregate after this filter: it always passes.
            for (std::size_t r = 0; r < rows; ++r) {
                const Value& v = batch.at(r, *closed);
                if (!keep_[r] && v.kind() == Kind::Bool && v.as_bool()) {
                    keep_[r] = 1;
                    ++kept;
                }
            }
        }
        if (metrics_) metrics_->records_filtered.fetch_add(rows - kept, std::memory_order_relaxed);
        if (kept == 0) return {};
        if (kept != rows) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    std::string column_;
    const Condition& cond_;
    StageMetrics* metrics_;
    static constexpr std::string_view kWindowClosed = "window_closed";
    PerSchema<std::optional<std::size_t>> columns_;
    PerSchema<std::optional<std::size_t>> closed_columns_;
    std::vector<std::uint8_t> keep_;
};

class FilterStage final : public Stage {
public:
    FilterStage(std::string column, Condition cond) : column_(std::move(column)), cond_(std::move(cond)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed && !in->find(column_)) {
            return fail(ErrorKind::Config,
                        "column '" + column_ + "' is not in the input (columns: " +
                            join(in->names()) + ")" + did_you_mean(column_, in->names()));
        }
        OpenedStage opened(std::make_unique<FilterOperator>(column_, cond_, ctx.metrics), in);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless: a checkpoint marker just passes on
        return opened;
    }

    static std::string join(const std::vector<std::string>& names) {
        std::string s;
        for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
        return s;
    }

private:
    std::string column_;
    Condition cond_;
};

std::unique_ptr<Stage> build_filter(BuildContext& ctx) {
    const Options& o = ctx.options();
    const std::string& op_text = o.get_string("operator");
    const auto op = filter::parse_op(op_text);
    if (!op) {
        ctx.error("operator", "unknown operator '" + op_text + "'" +
                                  did_you_mean(op_text, filter::op_spellings()) +
                                  "; expected one of ==, !=, >, >=, <, <=, contains, in, "
                                  "not_in, is_null, not_null");
        return nullptr;
    }
    const OptionValue* value = o.find("value");
    const bool has_value = value && !value->is_null();
    std::vector<Literal> literals;
    if (*op == Op::IsNull || *op == Op::NotNull) {
        if (o.given("value"))
            ctx.warning("value", "'value' is ignored by operator '" + op_text + "'");
    } else if (!has_value) {
        ctx.error("operator", "operator '" + op_text + "' needs a 'value' to compare with");
        return nullptr;
    } else if (*op == Op::In || *op == Op::NotIn) {
        if (!value->is_list()) {
            ctx.error("value", "operator '" + op_text +
                                   "' needs a list value, e.g. value = [\"a\", \"b\"]");
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
    return std::make_unique<FilterStage>(o.get_string("column"), Condition(*op, std::move(literals)));
}

} // namespace

void register_filter(Registry& registry) {
    FunctionDescriptor fn;
    fn.name = "filter.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Keep the records whose column satisfies a condition";
    fn.description =
        "Keeps records where `column <operator> value` holds. Numbers compare numerically "
        "whatever the TOML literal type (value = \"100\" against a numeric column compares as "
        "a number; a string that is not a number is never above or below a number), strings "
        "lexically (byte order), booleans by value. Null or missing values "
        "never match a comparison; use is_null / not_null to select them. `contains` tests a "
        "substring of a string or an element of an array; `in` / `not_in` take a list. "
        "window.apply's markers (window_closed = true) always pass, so a filter between "
        "window.apply and aggregate.stream keeps windows closing.";
    fn.options = {
        {.name = "column", .type = OptionType::String, .required = true,
         .description = "Field to test"},
        {.name = "operator", .type = OptionType::String, .required = true,
         .description = "==, !=, >, >=, <, <=, contains, in, not_in, is_null, not_null "
                        "(also = and <>)",
         .choices = filter::op_spellings()},
        {.name = "value", .type = OptionType::Any,
         .description = "Value to compare with (a list for in / not_in)"},
    };
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = build_filter;
    registry.add(std::move(fn));
}

} // namespace conveyor::plugins
