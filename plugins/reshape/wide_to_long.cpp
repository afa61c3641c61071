// reshape.wide_to_long: each record becomes one record per chosen field, holding the other
// fields, the chosen field's name (key_column) and its value (value_column). Streams.

#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "reshape.hpp"

#include <algorithm>
#include <unordered_set>

namespace conveyor::plugins::reshape {

namespace {

/// For one input schema: the fields kept on every output record, the fields turned into
/// records (in output order), and the output schema (kept fields, key, value).
struct Layout {
    SchemaRef schema;
    std::vector<std::size_t> kept;
    std::vector<std::size_t> melted;
    std::string error; ///< non-empty: key_column or value_column is already a kept field
};

Layout layout_for(const Schema& in, const WideToLongOptions& o) {
    Layout l;
    std::vector<std::string> names;
    if (!o.columns.empty()) {
        for (const std::string& c : o.columns)
            if (const auto i = in.find(c)) l.melted.push_back(*i);
        for (std::size_t i = 0; i < in.size(); ++i)
            if (std::find(l.melted.begin(), l.melted.end(), i) == l.melted.end()) {
                l.kept.push_back(i);
                names.emplace_back(in.name(i));
            }
    } else {
        const std::unordered_set<std::string> ids(o.id_columns.begin(), o.id_columns.end());
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (ids.contains(std::string(in.name(i)))) {
                l.kept.push_back(i);
                names.emplace_back(in.name(i));
            } else {
                l.melted.push_back(i);
            }
        }
    }
    for (const std::string* n : {&o.key_column, &o.value_column})
        if (std::find(names.begin(), names.end(), *n) != names.end())
            l.error = "the records already have a field '" + *n + "', which is not turned " +
                      "into records: choose another " +
                      (n == &o.key_column ? "key_column" : "value_column");
    names.push_back(o.key_column);
    names.push_back(o.value_column);
    l.schema = make_schema(std::move(names));
    return l;
}

class WideToLongOperator final : public Operator {
public:
    WideToLongOperator(const WideToLongOptions& options, std::size_t batch_size, std::string stage)
        : options_(options), batch_size_(std::max<std::size_t>(batch_size, 1)),
          stage_(std::move(stage)) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        if (batch.empty()) return {};
        const SchemaRef in = batch.schema_ref();
        const Layout& l =
            layouts_.get(in, [&](const Schema& s) { return layout_for(s, options_); });
        if (!l.error.empty()) return Error(ErrorKind::Data, l.error).in_stage(stage_);
        // The key values are the input's field names: the output co-owns the input schema.
        auto fresh = [&] {
            Batch b(l.schema, batch_size_);
            b.share_storage_of(batch);
            b.keep_alive(in);
            return b;
        };
        Batch result = fresh();
        const std::size_t k = l.kept.size();
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            const auto row = batch.row(r);
            for (const std::size_t c : l.melted) {
                const Value& v = row[c];
                if (v.is_absent() || (options_.skip_nulls && v.is_null())) continue;
                if (result.rows() >= batch_size_) {
                    out.emit(std::move(result));
                    result = fresh();
                }
                auto dst = result.append_row();
                for (std::size_t i = 0; i < k; ++i)
                    dst[i] = row[l.kept[i]];
                dst[k] = Value::string(in->name(c));
                dst[k + 1] = v;
            }
        }
        if (result.rows() > 0) out.emit(std::move(result));
        return {};
    }

    Status finish(Emitter&) override { return {}; }

private:
    const WideToLongOptions& options_;
    std::size_t batch_size_;
    std::string stage_;
    PerSchema<Layout> layouts_;
};

class WideToLongStage final : public Stage {
public:
    explicit WideToLongStage(WideToLongOptions options) : options_(std::move(options)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        SchemaRef out;
        if (in && fixed) {
            const bool by_columns = !options_.columns.empty();
            for (const std::string& c : by_columns ? options_.columns : options_.id_columns)
                if (!in->find(c))
                    return fail(ErrorKind::Config,
                                std::string(by_columns ? "columns" : "id_columns") + ": field '" +
                                    c + "' is not in the input" + did_you_mean(c, in->names()));
            Layout l = layout_for(*in, options_);
            if (!l.error.empty()) return fail(ErrorKind::Config, l.error);
            out = l.schema;
        }
        OpenedStage opened(std::make_unique<WideToLongOperator>(options_, ctx.batch_size,
                                                                std::string(ctx.stage_id)),
                           out);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    WideToLongOptions options_;
};

} // namespace

std::unique_ptr<Stage> make_wide_to_long(WideToLongOptions options) {
    return std::make_unique<WideToLongStage>(std::move(options));
}

} // namespace conveyor::plugins::reshape
