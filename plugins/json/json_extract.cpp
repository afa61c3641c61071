#include "json_extract.hpp"

#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/registry/registry.hpp"

#include <optional>
#include <string>

namespace conveyor::plugins::json {

namespace {

/// json.extract's options (the earlier tool's names).
struct ExtractOptions {
    std::string column;
    std::string path;
    std::optional<std::string> output_column;
};

const OptionTable<ExtractOptions>& extract_options() {
    static const auto table =
        OptionTable<ExtractOptions>()
            .add("column", &ExtractOptions::column,
                 {.description = "The field holding JSON text (or an already nested value)",
                  .required = true,
                  .example = "\"payload\""})
            .add("path", &ExtractOptions::path,
                 {.description = "Where the value sits inside it, in the path syntax of "
                                 "expressions (user.address.city, items[0].sku; a leading $ or "
                                 "$. is allowed; \"$\" is the whole document)",
                  .required = true,
                  .example = "\"user.address.city\""})
            .add("output_column", &ExtractOptions::output_column,
                 {.description = "The field that receives the value (default: the path's last "
                                 "name, e.g. city)",
                  .example = "\"city\""});
    return table;
}

/// A path inside the column's value: the steps after a placeholder root, so that paths
/// starting with an index ([0].sku) parse like the others.
struct InnerPath {
    expr::FieldPath path; ///< "_" followed by the user's steps
    [[nodiscard]] bool whole() const noexcept { return path.steps().size() == 1; }
};

Result<InnerPath> parse_inner(std::string_view text) {
    if (text.starts_with('$')) text.remove_prefix(1);
    if (text.empty()) return InnerPath{expr::FieldPath::single("_")};
    std::string full = "_";
    if (!text.starts_with('.') && !text.starts_with('[')) full += '.';
    full += text;
    auto p = expr::FieldPath::parse(full);
    if (!p) return fail(ErrorKind::Config, p.error().message);
    return InnerPath{std::move(*p)};
}

struct ExtractLayout {
    SchemaRef schema;
    std::optional<std::size_t> source;
    std::size_t target = 0;
    std::vector<std::size_t> columns; ///< per output column: its input column
};

/// Parses (when it is text) and descends into `column`'s value per record, writing the typed
/// value found (number, string, bool, null, or a nested object/array) to the output field.
/// A missing path gives null; text that is not JSON is a record error.
class ExtractOperator final : public Operator {
public:
    ExtractOperator(const std::string& column, const InnerPath& path, const std::string& output,
                    StageErrors* errors)
        : column_(column), path_(path), output_(output), errors_(errors) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const ExtractLayout& m = layouts_.get(batch.schema_ref(), [&](const Schema& in) {
            ExtractLayout l;
            l.source = in.find(column_);
            std::vector<std::string> names = in.names();
            for (std::size_t i = 0; i < in.size(); ++i)
                l.columns.push_back(i);
            if (auto at = in.find(output_)) {
                l.target = *at;
            } else {
                l.target = names.size();
                names.push_back(output_);
                l.columns.push_back(Batch::npos);
            }
            l.schema = names.size() == in.size() ? nullptr : make_schema(std::move(names));
            return l;
        });
        const std::size_t rows = batch.rows();
        results_.assign(rows, Value::null());
        keep_.assign(rows, 1);
        std::size_t failed = 0;
        Arena& arena = batch.arena();
        for (std::size_t r = 0; r < rows && m.source; ++r) {
            Value v = batch.at(r, *m.source);
            if (v.is_string()) {
                auto parsed = parser_.parse(v.as_string(), arena);
                if (!parsed) {
                    Error e(ErrorKind::Data,
                            "'" + column_ + "' is not JSON: " + parsed.error().message);
                    if (!errors_) return fail(std::move(e));
                    if (Status st =
                            errors_->record_failed(batch.schema(), batch.row(r), std::move(e));
                        !st)
                        return st;
                    keep_[r] = 0;
                    ++failed;
                    continue;
                }
                v = *parsed;
            }
            const Value found = path_.whole() ? v : expr::descend(path_.path, 1, v);
            results_[r] = found.is_absent() ? Value::null() : found;
        }
        if (m.schema) batch.remap_columns(m.schema, m.columns);
        for (std::size_t r = 0; r < rows; ++r)
            if (keep_[r]) batch.at(r, m.target) = results_[r];
        if (failed == rows) return {};
        if (failed) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    const std::string& column_;
    const InnerPath& path_;
    const std::string& output_;
    StageErrors* errors_;
    conveyor::json::Parser parser_;
    PerSchema<ExtractLayout> layouts_;
    std::vector<Value> results_;
    std::vector<std::uint8_t> keep_;
};

class ExtractStage final : public Stage {
public:
    ExtractStage(std::string column, InnerPath path, std::string output)
        : column_(std::move(column)), path_(std::move(path)), output_(std::move(output)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        SchemaRef out;
        if (in) {
            if (fixed && !in->find(column_))
                return fail(ErrorKind::Config, "column: field '" + column_ +
                                                   "' is not in the input" +
                                                   did_you_mean(column_, in->names()));
            std::vector<std::string> names = in->names();
            if (!in->find(output_)) names.push_back(output_);
            out = names.size() == in->size() ? in : make_schema(std::move(names));
        }
        OpenedStage opened(std::make_unique<ExtractOperator>(column_, path_, output_, ctx.errors),
                           out);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    std::string column_;
    InnerPath path_;
    std::string output_;
};

std::unique_ptr<Stage> build_extract(BuildContext& ctx, const ExtractOptions& o) {
    if (o.column.empty()) {
        ctx.error("column", "'column' cannot be empty");
        return nullptr;
    }
    auto path = parse_inner(o.path);
    if (!path) {
        ctx.error("path", "invalid path: " + path.error().message);
        return nullptr;
    }
    std::string output;
    if (o.output_column) {
        output = *o.output_column;
    } else {
        for (const expr::PathStep& s : path->path.steps().subspan(1))
            if (!s.is_index) output = s.key;
        if (output.empty()) {
            ctx.error("path", "give 'output_column': the path \"" + o.path +
                                  "\" has no field name to call the result by");
            return nullptr;
        }
    }
    if (output.empty()) {
        ctx.error("output_column", "'output_column' cannot be empty");
        return nullptr;
    }
    return std::make_unique<ExtractStage>(o.column, std::move(*path), std::move(output));
}

} // namespace

/// json.extract's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor json_extract_descriptor() {
    FunctionDescriptor fn;
    fn.name = "json.extract";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Pick a value out of a field holding JSON";
    fn.description =
        "Reads the JSON text in `column` (or its nested value, for JSON input) and stores the "
        "value at `path` in `output_column`, typed: a number stays a number, an object or "
        "array stays nested (a later stage can address it by path). A path that is not there "
        "gives null; text in `column` that is not JSON is a record error (it follows the "
        "stage's error strategy). A record without `column` gets null.";
    fn.options = extract_options().specs();
    fn.factory = bind_options(extract_options(), build_extract);
    return fn;
}

void register_extract(Registry& registry) {
    registry.add("json.extract", json_extract_descriptor);
}

} // namespace conveyor::plugins::json
