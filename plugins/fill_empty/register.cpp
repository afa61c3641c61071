// fill_empty.apply (Miller's fill-empty): fields with no value, null (an empty CSV field, JSON
// null) or empty text, get `value` ("N/A" by default; "0" becomes the number 0 unless
// infer_types = false), in every field or in the `columns` named. A stateless 1:1 transform.

#include "conveyor/core/suggest.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/recordio/csv_typing.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/emitter.hpp"

#include <memory>
#include <string>
#include <vector>

namespace conveyor::plugins::fill_empty {

namespace {

struct FillEmptyOptions {
    OptionValue value = OptionValue(std::string("N/A")); ///< text, a number or true/false
    bool infer_types = true;
    std::vector<std::string> columns;
};

const OptionTable<FillEmptyOptions>& fill_empty_options() {
    static const auto table =
        OptionTable<FillEmptyOptions>()
            .add("value", &FillEmptyOptions::value,
                 {.description = "What an empty field gets (Miller's -v): text, a number or "
                                 "true/false.",
                  .example = "\"0\"",
                  .type = OptionType::Any})
            .add("infer_types", &FillEmptyOptions::infer_types,
                 {.description = "Read `value` as csv.read reads a field: \"0\" is the number "
                                 "0, \"1.50\" a number keeping its text. False keeps it text "
                                 "(Miller's -S)."})
            .add("columns", &FillEmptyOptions::columns,
                 {.description = "The fields to fill (names as written in the input). Empty: "
                                 "every field.",
                  .example = "[\"city\", \"phone\"]"});
    return table;
}

/// The fill value, with the text it points to.
struct Fill {
    std::shared_ptr<const std::string> text;
    Value value;
};

[[nodiscard]] bool empty_field(const Value& v) {
    return v.kind() == Kind::Null || (v.is_string() && v.as_string().empty());
}

class FillEmptyOperator final : public Operator {
public:
    FillEmptyOperator(std::shared_ptr<const Fill> fill, const std::vector<std::string>& columns)
        : fill_(std::move(fill)), columns_(columns) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        if (batch.schema_ref() != schema_) {
            schema_ = batch.schema_ref();
            targets_.clear();
            if (columns_.empty()) {
                for (std::size_t c = 0; c < schema_->size(); ++c)
                    targets_.push_back(c);
            } else {
                for (const std::string& name : columns_)
                    if (auto c = schema_->find(name)) targets_.push_back(*c);
            }
        }
        bool filled = false;
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            const std::span<Value> row = batch.row(r);
            for (const std::size_t c : targets_)
                if (empty_field(row[c])) {
                    row[c] = fill_->value;
                    filled = true;
                }
        }
        if (filled) batch.keep_alive(fill_);
        out.emit(std::move(batch));
        return {};
    }

private:
    std::shared_ptr<const Fill> fill_;
    std::vector<std::string> columns_;
    SchemaRef schema_;
    std::vector<std::size_t> targets_;
};

class FillEmptyStage final : public Stage {
public:
    FillEmptyStage(std::shared_ptr<const Fill> fill, std::vector<std::string> columns)
        : fill_(std::move(fill)), columns_(std::move(columns)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed)
            for (const std::string& name : columns_)
                if (!in->find(name))
                    return fail(ErrorKind::Config, "columns: field '" + name +
                                                       "' is not in the input" +
                                                       did_you_mean(name, in->names()));
        OpenedStage opened(std::make_unique<FillEmptyOperator>(fill_, columns_), in);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    std::shared_ptr<const Fill> fill_;
    std::vector<std::string> columns_;
};

std::unique_ptr<Stage> build_fill_empty(BuildContext& ctx, const FillEmptyOptions& o) {
    auto fill = std::make_shared<Fill>();
    const OptionValue& v = o.value;
    if (v.is_int()) {
        fill->value = Value::integer(v.as_int());
    } else if (v.is_double()) {
        fill->value = Value::real(v.as_double());
    } else if (v.is_bool()) {
        fill->value = Value::boolean(v.as_bool());
    } else if (v.is_string()) {
        fill->text = std::make_shared<const std::string>(v.as_string());
        // Unquoted, as csv.read reads a bare field; "" stays the empty text (it fills nothing).
        fill->value = o.infer_types && !fill->text->empty()
                          ? recordio::csv::infer_value(*fill->text, false)
                          : Value::string(*fill->text);
    } else {
        ctx.error("value", "value must be text, a number or true/false, such as \"N/A\" or 0");
        return nullptr;
    }
    return std::make_unique<FillEmptyStage>(std::move(fill), o.columns);
}

FunctionDescriptor fill_empty_apply() {
    FunctionDescriptor fn;
    fn.name = "fill_empty.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Give fields with no value (null or empty text) a value, as mlr fill-empty";
    fn.description =
        "Every field with no value, null (an empty CSV field, JSON null) or empty text, gets "
        "`value` (\"N/A\" unless set), in every field or in the `columns` named, as Miller's "
        "fill-empty. The value is read as csv.read reads a field (\"0\" is the number 0) "
        "unless infer_types = false. A field a record does not have is not filled: "
        "unsparsify.apply's fill_with gives records the fields they lack. Text of white space "
        "is not empty.";
    fn.options = fill_empty_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(fill_empty_options(), build_fill_empty);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::fill_empty

namespace conveyor::plugins {

void register_fill_empty(Registry& registry) {
    registry.add("fill_empty.apply", fill_empty::fill_empty_apply);
}

} // namespace conveyor::plugins
