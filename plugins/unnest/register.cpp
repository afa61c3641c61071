#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/field_watch.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <spdlog/spdlog.h>
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
                 {.description = "The field holding an array, or a path to one inside an "
                                 "object (`order.items`, `a[0].tags`): one record per element",
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

/// For one input schema: the output schema, where the array is (its column, and the steps of
/// the path inside that column's value) and where the index goes.
struct UnnestLayout {
    SchemaRef schema;
    expr::ResolvedPath where;
    std::optional<std::size_t> index; ///< output column of index_column
    std::vector<std::size_t> source;  ///< per output column: its input column
};

UnnestLayout layout_for(const SchemaRef& in, const UnnestOptions& options,
                        const expr::FieldPath& path) {
    UnnestLayout l;
    l.where = expr::resolve(path, *in);
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

/// `v` with the value at `steps` replaced by `element`: the objects and lists on the way are
/// copied into `arena` (the rest of them still points where `v`'s did). `v` itself when the
/// steps lead nowhere (a member not there, an index out of range, a scalar in the way).
Value replaced(const Value& v, std::span<const expr::PathStep> steps, const Value& element,
               Arena& arena) {
    if (steps.empty()) return element;
    const expr::PathStep& step = steps.front();
    if (step.is_index) {
        if (v.kind() != Kind::Array) return v;
        const auto items = v.as_array();
        const std::optional<std::size_t> at = expr::item_at(step.index, items.size());
        if (!at) return v;
        Value* copy = arena.allocate_array<Value>(items.size());
        std::memcpy(static_cast<void*>(copy), items.data(), items.size() * sizeof(Value));
        Value& slot = copy[*at];
        slot = replaced(slot, steps.subspan(1), element, arena);
        return Value::array(copy, static_cast<std::uint32_t>(items.size()));
    }
    if (v.kind() != Kind::Object) return v;
    const auto members = v.as_object();
    // The first member of that name: the one descend() reads.
    const auto it = std::find_if(members.begin(), members.end(),
                                 [&](const Member& m) { return m.key == step.key; });
    if (it == members.end()) return v;
    Member* copy = arena.allocate_array<Member>(members.size());
    std::memcpy(static_cast<void*>(copy), members.data(), members.size() * sizeof(Member));
    Value& slot = copy[static_cast<std::size_t>(it - members.begin())].value;
    slot = replaced(slot, steps.subspan(1), element, arena);
    return Value::object(copy, static_cast<std::uint32_t>(members.size()));
}

/// One record per element of `column`'s array, a batch at a time: each copy is the record with
/// the array replaced by one element (inside its object when `column` is a path). A value that
/// is not an array counts as an array of one. Output batches hold at most `batch_size`
/// records, however long the arrays are.
class UnnestOperator final : public Operator {
public:
    UnnestOperator(const UnnestOptions& options, std::size_t batch_size,
                   std::optional<FieldWatch> watch)
        : options_(options), path_(expr::FieldPath::path_or_name(options.column)),
          batch_size_(std::max<std::size_t>(batch_size, 1)), watch_(std::move(watch)) {}

    Status finish(Emitter&) override {
        if (watch_) watch_->finished();
        return {};
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const SchemaRef in = batch.schema_ref();
        const UnnestLayout& m =
            layouts_.get(in, [&](const Schema&) { return layout_for(in, options_, path_); });
        if (watch_) watch_->saw(batch);
        if (m.schema != in) batch.remap_columns(m.schema, m.source);
        const std::size_t rows = batch.rows();
        const std::span<const expr::PathStep> inner = path_.steps().subspan(m.where.next_step);
        Batch result = fresh(m.schema, batch, rows);
        auto append = [&](std::span<const Value> row, const Value& element, const Value& index) {
            if (result.rows() >= batch_size_) {
                out.emit(std::move(result));
                result = fresh(m.schema, batch, batch_size_);
            }
            auto dst = result.append_row();
            std::copy(row.begin(), row.end(), dst.begin());
            if (m.where.found()) {
                Value& at = dst[m.where.column];
                at = inner.empty() ? element : replaced(at, inner, element, result.arena());
            }
            if (m.index) dst[*m.index] = index;
        };
        for (std::size_t r = 0; r < rows; ++r) {
            const auto row = batch.row(r);
            const Value v = expr::lookup(path_, m.where, row);
            if (v.kind() == Kind::Array && !v.as_array().empty()) {
                const auto items = v.as_array();
                for (std::size_t i = 0; i < items.size(); ++i)
                    append(row, items[i], Value::integer(static_cast<std::int64_t>(i)));
            } else if (!v.is_null() && v.kind() != Kind::Array) {
                append(row, v, Value::integer(0));
            } else if (options_.keep_empty) {
                // Inside an object, a path that leads nowhere leaves the record as it is.
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
    expr::FieldPath path_;
    std::size_t batch_size_;
    std::optional<FieldWatch> watch_; ///< input without a fixed schema, or a path into objects
    PerSchema<UnnestLayout> layouts_;
};

class UnnestStage final : public Stage {
public:
    explicit UnnestStage(UnnestOptions options) : options_(std::move(options)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        const expr::FieldPath path = expr::FieldPath::path_or_name(options_.column);
        if (in && fixed && !expr::resolve(path, *in).found())
            return fail(ErrorKind::Config, "column: field '" + path.root() +
                                               "' is not in the input" +
                                               did_you_mean(path.root(), in->names()));
        SchemaRef out = in ? layout_for(in, options_, path).schema : nullptr;
        std::optional<FieldWatch> watch;
        // Over a fixed schema the top-level field is there (checked above), but a path into
        // it may still lead nowhere.
        if (!fixed || !path.is_simple()) {
            watch.emplace(std::string(ctx.stage_id), std::vector<expr::FieldPath>{path},
                          ctx.metrics,
                          options_.keep_empty ? "every record was kept with it null"
                                              : "every record was dropped (keep_empty = true "
                                                "keeps them)");
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
        "\"a\"} and {\"id\": 1, \"tags\": \"b\"}), in order. `column` may be a path into "
        "objects and lists (`order.items`, `a[0].tags`; `` `a.b` `` for a field named with a "
        "dot): the element then takes the array's place there. A value that is not an array "
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
