#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/field_watch.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace conveyor::plugins::unnest {

namespace {

/// unnest.apply's options.
struct UnnestOptions {
    std::string column;
    bool keep_empty = false;
    std::optional<std::string> index_column;
};

const OptionTable<UnnestOptions>& unnest_options() {
    static const auto table =
        OptionTable<UnnestOptions>()
            .add("column", &UnnestOptions::column,
                 {.description = "The field holding an array: one record per element",
                  .required = true,
                  .example = "\"tags\""})
            .add("keep_empty", &UnnestOptions::keep_empty,
                 {.description = "Keep a record whose array is empty, null or absent, with "
                                 "the field null (by default it is dropped)"})
            .add("index_column", &UnnestOptions::index_column,
                 {.description = "A field that receives each element's position (0, 1, ...)",
                  .example = "\"position\""});
    return table;
}

/// For one input schema: the output schema and where the array and the index go.
struct UnnestLayout {
    SchemaRef schema;
    std::optional<std::size_t> column;
    std::optional<std::size_t> index; ///< output column of index_column
    std::vector<std::size_t> source;  ///< per output column: its input column
};

UnnestLayout layout_for(const SchemaRef& in, const UnnestOptions& options) {
    UnnestLayout l;
    l.column = in->find(options.column);
    std::vector<std::string> names = in->names();
    for (std::size_t i = 0; i < in->size(); ++i)
        l.source.push_back(i);
    if (options.index_column) {
        l.index = in->find(*options.index_column);
        if (!l.index) {
            l.index = names.size();
            names.push_back(*options.index_column);
            l.source.push_back(Batch::npos);
        }
    }
    l.schema = names.size() == in->size() ? in : make_schema(std::move(names));
    return l;
}

/// One record per element of `column`'s array, a batch at a time: each copy is the record with
/// the array replaced by one element. A value that is not an array counts as an array of one.
/// Output batches hold at most `batch_size` records, however long the arrays are.
class UnnestOperator final : public Operator {
public:
    UnnestOperator(const UnnestOptions& options, std::size_t batch_size,
                   std::optional<FieldWatch> watch)
        : options_(options), batch_size_(std::max<std::size_t>(batch_size, 1)),
          watch_(std::move(watch)) {}

    Status finish(Emitter&) override {
        if (watch_) watch_->finished();
        return {};
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const SchemaRef in = batch.schema_ref();
        const UnnestLayout& m =
            layouts_.get(in, [&](const Schema&) { return layout_for(in, options_); });
        if (watch_) watch_->saw(batch);
        if (m.schema != in) batch.remap_columns(m.schema, m.source);
        const std::size_t rows = batch.rows();
        Batch result = fresh(m.schema, batch, rows);
        auto append = [&](std::span<const Value> row, const Value& element, const Value& index) {
            if (result.rows() >= batch_size_) {
                out.emit(std::move(result));
                result = fresh(m.schema, batch, batch_size_);
            }
            auto dst = result.append_row();
            std::copy(row.begin(), row.end(), dst.begin());
            if (m.column) dst[*m.column] = element;
            if (m.index) dst[*m.index] = index;
        };
        for (std::size_t r = 0; r < rows; ++r) {
            const auto row = batch.row(r);
            const Value v = m.column ? row[*m.column] : Value::absent();
            if (v.kind() == Kind::Array && !v.as_array().empty()) {
                const auto items = v.as_array();
                for (std::size_t i = 0; i < items.size(); ++i)
                    append(row, items[i], Value::integer(static_cast<std::int64_t>(i)));
            } else if (!v.is_null() && v.kind() != Kind::Array) {
                append(row, v, Value::integer(0));
            } else if (options_.keep_empty) {
                append(row, Value::null(), Value::null());
            }
        }
        if (result.rows() > 0) out.emit(std::move(result));
        return {};
    }

private:
    static Batch fresh(const SchemaRef& schema, Batch& storage, std::size_t rows) {
        Batch b(schema, rows);
        b.share_storage_of(storage);
        return b;
    }

    const UnnestOptions& options_;
    std::size_t batch_size_;
    std::optional<FieldWatch> watch_; ///< input without a fixed schema
    PerSchema<UnnestLayout> layouts_;
};

class UnnestStage final : public Stage {
public:
    explicit UnnestStage(UnnestOptions options) : options_(std::move(options)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed && !in->find(options_.column))
            return fail(ErrorKind::Config, "column: field '" + options_.column +
                                               "' is not in the input" +
                                               did_you_mean(options_.column, in->names()));
        SchemaRef out = in ? layout_for(in, options_).schema : nullptr;
        std::optional<FieldWatch> watch;
        if (!fixed) {
            std::string consequence = options_.keep_empty
                                          ? "every record was kept with it null"
                                          : "every record was dropped (keep_empty = true keeps "
                                            "them)";
            // "b.c" is a field of that name here, not a way into b.
            if (options_.column.find('.') != std::string::npos)
                consequence += "; 'column' names a field, not a path: flatten.apply first "
                               "reaches into objects";
            watch.emplace(std::string(ctx.stage_id),
                          std::vector<expr::FieldPath>{expr::FieldPath::single(options_.column)},
                          ctx.metrics, std::move(consequence));
        }
        OpenedStage opened(
            std::make_unique<UnnestOperator>(options_, ctx.batch_size, std::move(watch)), out);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    UnnestOptions options_;
};

std::unique_ptr<Stage> build_unnest(BuildContext& ctx, UnnestOptions o) {
    if (o.column.empty()) {
        ctx.error("column", "'column' cannot be empty");
        return nullptr;
    }
    if (o.index_column && (o.index_column->empty() || *o.index_column == o.column)) {
        ctx.error("index_column", "'index_column' needs a name of its own (not empty, not "
                                  "'column')");
        return nullptr;
    }
    return std::make_unique<UnnestStage>(std::move(o));
}

} // namespace

} // namespace conveyor::plugins::unnest

namespace conveyor::plugins {

/// unnest.apply's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor unnest_apply_descriptor() {
    FunctionDescriptor fn;
    fn.name = "unnest.apply";
    fn.role = StageRole::Transform;
    fn.summary = "One record per element of an array field";
    fn.description =
        "Explodes the array in `column`: each element becomes a record of its own, the other "
        "fields copied ({\"id\": 1, \"tags\": [\"a\", \"b\"]} becomes {\"id\": 1, \"tags\": "
        "\"a\"} and {\"id\": 1, \"tags\": \"b\"}), in order. A value that is not an array "
        "counts as an array of one. A record whose array is empty, null or absent is dropped, "
        "or kept with the field null when keep_empty = true. `index_column` adds each "
        "element's position.";
    fn.options = unnest::unnest_options().specs();
    fn.factory = bind_options(unnest::unnest_options(), unnest::build_unnest);
    return fn;
}

void register_unnest(Registry& registry) {
    registry.add("unnest.apply", unnest_apply_descriptor);
}

} // namespace conveyor::plugins
