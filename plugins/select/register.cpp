#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <re2/re2.h>
#include <set>

namespace conveyor::plugins::select {

namespace {

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i)
        s += (i ? ", " : "") + names[i];
    return s;
}

/// A kept column named by a path into a nested value (`user.address.city`): which output
/// column gets it, and where it is in records of the mapped schema.
struct NestedColumn {
    std::size_t out = 0;
    const expr::FieldPath* path = nullptr;
    expr::ResolvedPath where;
};

/// For one input schema: the output schema and where each output column comes from.
struct Mapping {
    SchemaRef schema;
    std::vector<std::size_t> source;
    std::vector<NestedColumn> nested;
    /// `exclude` of paths into objects (`user.email`): the output column holding each one's
    /// top-level field (out) and where the path goes on from (where.next_step).
    std::vector<NestedColumn> removed;
    bool identity = false;
};

/// `v` without the object member at steps [i, end) of `path` (`user.email`; lists on the way
/// by index, `items[0].price`), what changes copied into `arena`; nullopt when the path is not
/// there (nothing to drop).
std::optional<Value> without(const Value& v, const expr::FieldPath& path, std::size_t i,
                             Arena& arena) {
    const expr::PathStep& step = path.steps()[i];
    const bool last = i + 1 == path.steps().size();
    if (step.is_index) {
        if (v.kind() != Kind::Array || last) return std::nullopt;
        const std::span<const Value> items = v.as_array();
        const std::optional<std::size_t> at = expr::item_at(step.index, items.size());
        if (!at) return std::nullopt;
        const std::optional<Value> inner = without(items[*at], path, i + 1, arena);
        if (!inner) return std::nullopt;
        Value* copy = arena.allocate_array<Value>(items.size());
        std::copy(items.begin(), items.end(), copy);
        copy[*at] = *inner;
        return Value::array(copy, static_cast<std::uint32_t>(items.size()));
    }
    if (v.kind() != Kind::Object) return std::nullopt;
    const std::span<const Member> members = v.as_object();
    const auto hit = std::find_if(members.begin(), members.end(),
                                  [&](const Member& m) { return m.key == step.key; });
    if (hit == members.end()) return std::nullopt;
    const auto at = static_cast<std::size_t>(hit - members.begin());
    std::optional<Value> inner;
    if (!last && !(inner = without(hit->value, path, i + 1, arena))) return std::nullopt;
    const std::size_t n = members.size() - (last ? 1 : 0);
    Member* copy = arena.allocate_array<Member>(n);
    for (std::size_t k = 0, o = 0; k < members.size(); ++k) {
        if (k == at && last) continue;
        copy[o++] = k == at ? Member{members[k].key, *inner} : members[k];
    }
    return Value::object(copy, static_cast<std::uint32_t>(n));
}

/// In `columns`: every field of the input the list does not name, in input order (Miller's
/// reorder: ["id", "*"] puts id first, ["*", "id"] last).
constexpr std::string_view kOthers = "*";

/// The names `columns` gives records of schema `in`, with kOthers expanded, and for each its
/// input column (npos: not there); `sources` may be null.
std::vector<std::string> kept_names(const std::vector<std::string>& columns, const Schema& in,
                                    std::vector<std::size_t>* sources) {
    std::vector<std::string> names;
    for (const std::string& c : columns) {
        if (c != kOthers) {
            names.push_back(c);
            if (sources) sources->push_back(in.find(c).value_or(Batch::npos));
            continue;
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (std::find(columns.begin(), columns.end(), in.name(i)) != columns.end()) continue;
            names.push_back(in.name(i));
            if (sources) sources->push_back(i);
        }
    }
    return names;
}

/// The fields of `in` whose name `pattern` matches (anywhere, unless anchored), or with
/// `exclude` those it does not, in input order, with their input columns into `sources` (may
/// be null): Miller's `cut -r -f` and `cut -x -r -f`.
std::vector<std::string> matching_names(const RE2& pattern, bool exclude, const Schema& in,
                                        std::vector<std::size_t>* sources) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (RE2::PartialMatch(in.name(i), pattern) == exclude) continue;
        names.push_back(in.name(i));
        if (sources) sources->push_back(i);
    }
    return names;
}

/// `name` as a path (`user.address.city`, `tags[0]`), or nullopt when it is a plain name or
/// not a path at all ("first name" stays a literal name).
std::optional<expr::FieldPath> path_of(const std::string& name) {
    auto p = expr::FieldPath::parse(name);
    if (!p || p->steps().size() < 2) return std::nullopt;
    return std::move(*p);
}

/// Keeps (`columns`, in the order listed) or drops (`exclude`) fields of every record.
class SelectOperator final : public Operator {
public:
    SelectOperator(const std::vector<std::string>& columns,
                   const std::vector<std::optional<expr::FieldPath>>& paths, bool exclude,
                   const RE2* pattern, SchemaRef fixed_out)
        : columns_(columns), paths_(paths), exclude_(exclude), pattern_(pattern),
          fixed_out_(std::move(fixed_out)) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        Mapping& m = mappings_.get(batch.schema_ref(), [&](const Schema& in) { return map(in); });
        if (!m.nested.empty()) {
            // Nested values are looked up before the remap drops the fields holding them; they
            // point into storage the batch keeps.
            values_.resize(batch.rows() * m.nested.size());
            for (std::size_t r = 0; r < batch.rows(); ++r)
                for (std::size_t k = 0; k < m.nested.size(); ++k) {
                    const NestedColumn& n = m.nested[k];
                    values_[r * m.nested.size() + k] =
                        n.where.found() ? expr::lookup(*n.path, n.where, batch.row(r))
                                        : Value::absent();
                }
        }
        if (!m.identity) batch.remap_columns(m.schema, m.source);
        for (std::size_t r = 0; r < batch.rows() && !m.nested.empty(); ++r)
            for (std::size_t k = 0; k < m.nested.size(); ++k)
                batch.at(r, m.nested[k].out) = values_[r * m.nested.size() + k];
        for (std::size_t r = 0; r < batch.rows() && !m.removed.empty(); ++r)
            for (const NestedColumn& n : m.removed) {
                Value& v = batch.at(r, n.out);
                if (auto rest = without(v, *n.path, n.where.next_step, batch.arena())) v = *rest;
            }
        out.emit(std::move(batch));
        return {};
    }

private:
    Mapping map(const Schema& in) const {
        Mapping m;
        std::vector<std::string> names;
        if (pattern_) {
            names = matching_names(*pattern_, exclude_, in, &m.source);
        } else if (exclude_) {
            for (std::size_t i = 0; i < in.size(); ++i) {
                if (std::find(columns_.begin(), columns_.end(), in.name(i)) != columns_.end())
                    continue;
                names.push_back(in.name(i));
                m.source.push_back(i);
            }
            // A path into an object (`user.email`) drops that member, not a field.
            for (std::size_t k = 0; k < columns_.size(); ++k) {
                if (in.find(columns_[k]) || !paths_[k]) continue;
                const expr::ResolvedPath where = expr::resolve(*paths_[k], in);
                const auto kept = std::find(m.source.begin(), m.source.end(), where.column);
                if (!where.found() || where.next_step >= paths_[k]->steps().size() ||
                    kept == m.source.end())
                    continue;
                m.removed.push_back(
                    {static_cast<std::size_t>(kept - m.source.begin()), &*paths_[k], where});
            }
        } else {
            names = kept_names(columns_, in, &m.source);
            for (std::size_t k = 0, out = 0; k < columns_.size(); ++k) {
                const std::string& c = columns_[k];
                if (c == kOthers) {
                    out = names.size() - (columns_.size() - k - 1);
                    continue;
                }
                // A field literally named "a.b" wins over the path a -> b.
                if (!in.find(c) && paths_[k])
                    m.nested.push_back({out, &*paths_[k], expr::resolve(*paths_[k], in)});
                ++out;
            }
        }
        m.identity = names == in.names();
        m.schema =
            fixed_out_ && fixed_out_->names() == names ? fixed_out_ : make_schema(std::move(names));
        return m;
    }

    const std::vector<std::string>& columns_;
    const std::vector<std::optional<expr::FieldPath>>& paths_;
    bool exclude_;
    const RE2* pattern_; ///< pattern or exclude_pattern (the stage's); null with a list
    SchemaRef fixed_out_;
    PerSchema<Mapping> mappings_;
    std::vector<Value> values_;
};

class SelectStage final : public Stage {
public:
    SelectStage(std::vector<std::string> columns, bool exclude, std::shared_ptr<const RE2> pattern)
        : columns_(std::move(columns)), exclude_(exclude), pattern_(std::move(pattern)) {
        for (const std::string& c : columns_)
            paths_.push_back(path_of(c));
    }

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed) {
            for (std::size_t k = 0; k < columns_.size(); ++k) {
                const std::string& c = columns_[k];
                if (c == kOthers) continue;
                if (!in->find(c) && !(paths_[k] && expr::resolve(*paths_[k], *in).found()))
                    return fail(ErrorKind::Config,
                                std::string(exclude_ ? "exclude" : "columns") + ": field '" + c +
                                    "' is not in the input (columns: " + join(in->names()) + ")" +
                                    did_you_mean(c, in->names()));
            }
        }
        SchemaRef out;
        if (in) {
            std::vector<std::string> names;
            if (pattern_) {
                names = matching_names(*pattern_, exclude_, *in, nullptr);
            } else if (exclude_) {
                for (const std::string& n : in->names())
                    if (std::find(columns_.begin(), columns_.end(), n) == columns_.end())
                        names.push_back(n);
            } else {
                names = kept_names(columns_, *in, nullptr);
            }
            out = make_schema(std::move(names));
        } else if (!exclude_ && !pattern_ &&
                   std::find(columns_.begin(), columns_.end(), kOthers) == columns_.end()) {
            out = make_schema(columns_);
        }
        OpenedStage opened(
            std::make_unique<SelectOperator>(columns_, paths_, exclude_, pattern_.get(), out), out);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    std::vector<std::string> columns_;
    std::vector<std::optional<expr::FieldPath>> paths_; ///< per column: its path, if one
    bool exclude_;
    std::shared_ptr<const RE2> pattern_;
};

/// select.apply's options: the fields to keep, or the fields to drop.
struct SelectOptions {
    std::optional<std::vector<std::string>> columns;
    std::optional<std::vector<std::string>> exclude;
    std::optional<std::string> pattern;
    std::optional<std::string> exclude_pattern;
};

const OptionTable<SelectOptions>& select_options() {
    static const auto table =
        OptionTable<SelectOptions>()
            .add("columns", &SelectOptions::columns,
                 {.description = "Fields to keep, in output order (a string or an array); \"*\" "
                                 "stands for every field not listed, in input order: [\"id\", "
                                 "\"*\"] moves id first, [\"*\", \"id\"] last (Miller's reorder)."})
            .add("exclude", &SelectOptions::exclude,
                 {.description = "Fields to drop (instead of columns); a path (user.email, "
                                 "items[0].price) drops that member of a nested value"})
            .add("pattern", &SelectOptions::pattern,
                 {.description = "Instead of columns: keep the fields whose name this regular "
                                 "expression (RE2) matches, anywhere unless anchored, in input "
                                 "order (Miller's cut -r -f).",
                  .example = "\"^amount_\""})
            .add("exclude_pattern", &SelectOptions::exclude_pattern,
                 {.description = "Instead of exclude: drop the fields whose name this regular "
                                 "expression (RE2) matches (Miller's cut -x -r -f).",
                  .example = "\"(?i)^tmp\""});
    return table;
}

/// The regular expression of `pattern` or `exclude_pattern`; null after reporting it invalid.
std::shared_ptr<const RE2> compile_pattern(BuildContext& ctx, const char* key,
                                           const std::string& text) {
    auto re = std::make_shared<RE2>(text, RE2::Quiet);
    if (re->ok()) return re;
    ctx.error(key, "invalid regular expression: " + re->error());
    return nullptr;
}

std::unique_ptr<Stage> build_select(BuildContext& ctx, const SelectOptions& o) {
    std::vector<const char*> given;
    if (o.columns) given.push_back("columns");
    if (o.exclude) given.push_back("exclude");
    if (o.pattern) given.push_back("pattern");
    if (o.exclude_pattern) given.push_back("exclude_pattern");
    if (given.size() != 1) {
        ctx.error(given.empty() ? "columns" : given[1],
                  given.empty() ? "missing 'columns' (fields to keep) or 'exclude' (fields to "
                                  "drop), or 'pattern' / 'exclude_pattern' (a regular expression "
                                  "on names)"
                                : "give one of 'columns' (fields to keep), 'exclude' (fields to "
                                  "drop), 'pattern' or 'exclude_pattern', not several");
        return nullptr;
    }
    if (o.pattern || o.exclude_pattern) {
        const char* key = o.pattern ? "pattern" : "exclude_pattern";
        auto re = compile_pattern(ctx, key, o.pattern ? *o.pattern : *o.exclude_pattern);
        if (!re) return nullptr;
        return std::make_unique<SelectStage>(std::vector<std::string>{}, !o.pattern, std::move(re));
    }
    const bool has_columns = o.columns.has_value();
    const bool has_exclude = o.exclude.has_value();
    const char* key = has_columns ? "columns" : "exclude";
    std::vector<std::string> list = has_columns ? *o.columns : *o.exclude;
    std::set<std::string> seen;
    for (const std::string& c : list) {
        if (!seen.insert(c).second) {
            ctx.error(key, "column '" + c + "' is listed twice");
            return nullptr;
        }
    }
    if (has_exclude && seen.contains(std::string(kOthers))) {
        ctx.error(key, "\"*\" (every other field) belongs in 'columns': excluding it would drop "
                       "everything");
        return nullptr;
    }
    if (has_columns && list.empty()) {
        ctx.error(key, "'columns' is empty: nothing would be kept");
        return nullptr;
    }
    return std::make_unique<SelectStage>(std::move(list), has_exclude, nullptr);
}

FunctionDescriptor select_apply() {
    FunctionDescriptor fn;
    fn.name = "select.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Keep some fields (in the order listed) or drop some";
    fn.description =
        "With `columns`, every record keeps exactly those fields, in that order (a field a "
        "record lacks stays absent). With `exclude`, the listed fields are dropped and the "
        "rest keep their order. \"*\" in `columns` is every field the list does not name, in "
        "input order (reorder: [\"id\", \"*\"]). `pattern` keeps, `exclude_pattern` drops, the "
        "fields whose name a regular expression matches (Miller's cut -r). Against a CSV "
        "input, unknown column names are reported before any data is read.";
    fn.options = select_options().specs();
    fn.factory = bind_options(select_options(), build_select);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::select

namespace conveyor::plugins {

void register_select(Registry& registry) {
    registry.add("select.apply", select::select_apply);
}

} // namespace conveyor::plugins
