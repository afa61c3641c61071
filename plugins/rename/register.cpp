#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace conveyor::plugins::rename {

namespace {

/// rename.apply's options.
struct RenameOptions {
    StringPairs columns;
};

const OptionTable<RenameOptions>& rename_options() {
    static const auto table = OptionTable<RenameOptions>().add(
        "columns", &RenameOptions::columns,
        {.description = "Old field name = new field name, e.g. { cust_id = \"customer_id\" }",
         .required = true,
         .example = "{ cust_id = \"customer_id\", amt = \"amount\" }"});
    return table;
}

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i)
        s += (i ? ", " : "") + names[i];
    return s;
}

/// For one input schema: the output schema and, where a new name was already a field of the
/// input, which input column moves onto which (the old field's column is dropped).
struct RenameLayout {
    SchemaRef schema;
    bool unchanged = false;
    std::vector<std::size_t> source; ///< per output column: its input column
    /// Renames onto a field the input already has: (from column, to column) in the input.
    std::vector<std::pair<std::size_t, std::size_t>> merges;
};

/// A field named `name` in `in` that stays (is not itself renamed away).
bool stays(const Schema& in, const std::map<std::string, std::string, std::less<>>& renames,
           std::string_view name) {
    return in.find(name).has_value() && renames.find(name) == renames.end();
}

RenameLayout layout_for(const Schema& in,
                        const std::map<std::string, std::string, std::less<>>& renames) {
    RenameLayout m;
    std::vector<std::string> names;
    std::vector<bool> dropped(in.size(), false);
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto it = renames.find(in.name(i));
        if (it == renames.end() || !stays(in, renames, it->second)) continue;
        m.merges.emplace_back(i, *in.find(it->second));
        dropped[i] = true;
    }
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (dropped[i]) continue;
        const auto it = renames.find(in.name(i));
        names.push_back(it == renames.end() ? in.name(i) : it->second);
        m.source.push_back(i);
    }
    m.unchanged = names == in.names();
    m.schema = m.unchanged ? nullptr : make_schema(std::move(names));
    return m;
}

/// Renames fields a batch at a time: the records keep their values and order, only the schema
/// changes. A record that has both a field and the field it is renamed onto (possible only when
/// the input's schema varies, as JSON's does) is a record error: one of the values would be
/// lost.
class RenameOperator final : public Operator {
public:
    RenameOperator(const std::map<std::string, std::string, std::less<>>& renames,
                   StageErrors* errors)
        : renames_(renames), errors_(errors) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const RenameLayout& m = layouts_.get(
            batch.schema_ref(), [&](const Schema& in) { return layout_for(in, renames_); });
        if (m.unchanged) {
            out.emit(std::move(batch));
            return {};
        }
        const std::size_t rows = batch.rows();
        std::size_t failed = 0;
        if (!m.merges.empty()) {
            keep_.assign(rows, 1);
            for (std::size_t r = 0; r < rows; ++r) {
                auto row = batch.row(r);
                for (const auto& [from, to] : m.merges) {
                    if (row[from].is_absent()) continue;
                    if (!row[to].is_absent()) {
                        Error e(ErrorKind::Data, "cannot rename '" + batch.schema().name(from) +
                                                     "' to '" + batch.schema().name(to) +
                                                     "': the record has both fields");
                        if (!errors_) return fail(std::move(e));
                        if (Status st = errors_->record_failed(batch.schema(), row, std::move(e));
                            !st)
                            return st;
                        keep_[r] = 0;
                        ++failed;
                        break;
                    }
                    row[to] = row[from];
                }
            }
        }
        batch.remap_columns(m.schema, m.source);
        if (failed == rows) return {};
        if (failed) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    const std::map<std::string, std::string, std::less<>>& renames_;
    StageErrors* errors_;
    PerSchema<RenameLayout> layouts_;
    std::vector<std::uint8_t> keep_;
};

class RenameStage final : public Stage {
public:
    explicit RenameStage(std::map<std::string, std::string, std::less<>> renames)
        : renames_(std::move(renames)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        SchemaRef out;
        if (in && fixed) {
            // Every record has exactly these fields: both mistakes are certain, so they are
            // load errors rather than a run that renames nothing or loses a column.
            for (const auto& [from, to] : renames_) {
                if (!in->find(from))
                    return fail(ErrorKind::Config,
                                "columns: field '" + from + "' is not in the input (fields: " +
                                    join(in->names()) + ")" + did_you_mean(from, in->names()));
                if (stays(*in, renames_, to))
                    return fail(ErrorKind::Config, "columns: cannot rename '" + from + "' to '" +
                                                       to + "': the input already has a field '" +
                                                       to + "' (rename or drop that one too)");
            }
        }
        if (in) {
            RenameLayout m = layout_for(*in, renames_);
            out = m.unchanged ? in : m.schema;
        }
        OpenedStage opened(std::make_unique<RenameOperator>(renames_, ctx.errors), out);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    std::map<std::string, std::string, std::less<>> renames_;
};

std::unique_ptr<Stage> build_rename(BuildContext& ctx, const RenameOptions& o) {
    if (o.columns.empty()) {
        ctx.error("columns", "'columns' is empty: nothing to rename");
        return nullptr;
    }
    std::map<std::string, std::string, std::less<>> renames;
    std::map<std::string, std::string> by_new;
    for (const auto& [from, to] : o.columns) {
        if (from.empty() || to.empty()) {
            ctx.error("columns", "a field name cannot be empty");
            return nullptr;
        }
        if (const auto [it, fresh] = by_new.emplace(to, from); !fresh) {
            ctx.error("columns",
                      "'" + it->second + "' and '" + from + "' are both renamed to '" + to + "'");
            return nullptr;
        }
        if (from != to) renames.emplace(from, to);
    }
    return std::make_unique<RenameStage>(std::move(renames));
}

} // namespace

} // namespace conveyor::plugins::rename

namespace conveyor::plugins {

/// rename.apply's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor rename_apply_descriptor() {
    using rename::build_rename;
    using rename::rename_options;
    FunctionDescriptor fn;
    fn.name = "rename.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Rename fields";
    fn.description =
        "Renames top-level fields: `columns = { old = \"new\" }`. A renamed field keeps its "
        "position and value; names may be swapped ({ a = \"b\", b = \"a\" }). When the input's "
        "fields are known before the run (CSV), renaming a field the input lacks, or onto a "
        "field the input already has, is a load error. With JSON input, a record without the "
        "field passes unchanged, and a record that has both the old and the new field is a "
        "record error (it follows the stage's error strategy) rather than losing a value.";
    fn.options = rename_options().specs();
    fn.factory = bind_options(rename_options(), build_rename);
    return fn;
}

void register_rename(Registry& registry) {
    registry.add("rename.apply", rename_apply_descriptor);
}

} // namespace conveyor::plugins
