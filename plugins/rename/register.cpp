#include "conveyor/core/ascii.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <re2/re2.h>
#include <set>

namespace conveyor::plugins::rename {

namespace {

enum class NameCase : std::uint8_t { Keep, Lower, Upper };

/// rename.apply's options.
struct RenameOptions {
    StringPairs columns;
    std::optional<std::string> pattern;
    std::string replacement;
    NameCase name_case = NameCase::Keep;
};

const OptionTable<RenameOptions>& rename_options() {
    static const auto table =
        OptionTable<RenameOptions>()
            .add("columns", &RenameOptions::columns,
                 {.description = "Old field name = new field name, e.g. { cust_id = "
                                 "\"customer_id\" }",
                  .example = "{ cust_id = \"customer_id\", amt = \"amount\" }"})
            .add("pattern", &RenameOptions::pattern,
                 {.description = "A regular expression (RE2) replaced by `replacement` wherever "
                                 "it matches in every other field's name, as mlr rename -g -r: "
                                 "pattern = \" \" with replacement = \"_\" makes \"First Name\" "
                                 "First_Name.",
                  .example = "\"[^A-Za-z0-9]+\""})
            .add("replacement", &RenameOptions::replacement,
                 {.description = "What each match of `pattern` becomes; \\\\1 is its first group."})
            .add_choice(
                "case", &RenameOptions::name_case,
                {{"keep", NameCase::Keep}, {"lower", NameCase::Lower}, {"upper", NameCase::Upper}},
                {.description = "Then every other field's name in lower or upper case "
                                "(ASCII letters), as mlr case -k."});
    return table;
}

/// How names not listed in `columns` change: `pattern` replaced, then the case.
struct NameRule {
    std::shared_ptr<const RE2> pattern;
    std::string replacement;
    NameCase name_case = NameCase::Keep;

    [[nodiscard]] bool active() const { return pattern || name_case != NameCase::Keep; }
    [[nodiscard]] std::string apply(std::string_view name) const {
        std::string s(name);
        if (pattern) RE2::GlobalReplace(&s, *pattern, replacement);
        if (name_case == NameCase::Lower) s = ascii_lower(s);
        if (name_case == NameCase::Upper)
            for (char& c : s)
                if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        return s;
    }
};

using Renames = std::map<std::string, std::string, std::less<>>;

/// The renames of one input schema: `columns`, and for every other field the name `rule`
/// gives it when that differs.
Renames renames_for(const Schema& in, const Renames& listed, const NameRule& rule) {
    if (!rule.active()) return listed;
    Renames all = listed;
    for (const std::string& name : in.names()) {
        if (listed.contains(name)) continue;
        std::string to = rule.apply(name);
        if (to != name) all.emplace(name, std::move(to));
    }
    return all;
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
    std::string error; ///< non-empty: two fields would get one name, or a name is empty
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
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < names.size() && m.error.empty(); ++i) {
        if (names[i].empty())
            m.error = "field '" + in.name(m.source[i]) + "' would get an empty name";
        else if (!seen.insert(names[i]).second)
            m.error = "two fields would be named '" + names[i] + "' (" + in.name(m.source[i]) +
                      " is one)";
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
    RenameOperator(const Renames& renames, const NameRule& rule, StageErrors* errors)
        : renames_(renames), rule_(rule), errors_(errors) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const RenameLayout& m = layouts_.get(batch.schema_ref(), [&](const Schema& in) {
            return layout_for(in, renames_for(in, renames_, rule_));
        });
        if (!m.error.empty()) return fail(ErrorKind::Data, m.error);
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
    const Renames& renames_;
    const NameRule& rule_;
    StageErrors* errors_;
    PerSchema<RenameLayout> layouts_;
    std::vector<std::uint8_t> keep_;
};

class RenameStage final : public Stage {
public:
    RenameStage(Renames renames, NameRule rule)
        : renames_(std::move(renames)), rule_(std::move(rule)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        SchemaRef out;
        if (in && fixed) {
            // Every record has exactly these fields: both mistakes are certain, so they are
            // load errors rather than a run that renames nothing or loses a column.
            for (const auto& [from, to] : renames_)
                if (!in->find(from))
                    return fail(ErrorKind::Config,
                                "columns: field '" + from + "' is not in the input (fields: " +
                                    join(in->names()) + ")" + did_you_mean(from, in->names()));
            const Renames all = renames_for(*in, renames_, rule_);
            for (const auto& [from, to] : all) {
                if (stays(*in, all, to))
                    return fail(ErrorKind::Config, "columns: cannot rename '" + from + "' to '" +
                                                       to + "': the input already has a field '" +
                                                       to + "' (rename or drop that one too)");
            }
        }
        if (in) {
            RenameLayout m = layout_for(*in, renames_for(*in, renames_, rule_));
            if (fixed && !m.error.empty()) return fail(ErrorKind::Config, m.error);
            out = m.unchanged ? in : m.schema;
        }
        OpenedStage opened(std::make_unique<RenameOperator>(renames_, rule_, ctx.errors), out);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    Renames renames_;
    NameRule rule_;
};

std::unique_ptr<Stage> build_rename(BuildContext& ctx, const RenameOptions& o) {
    NameRule rule;
    rule.name_case = o.name_case;
    rule.replacement = o.replacement;
    if (o.pattern) {
        auto re = std::make_shared<RE2>(*o.pattern, RE2::Quiet);
        std::string why;
        if (!re->ok()) {
            ctx.error("pattern", "invalid regular expression: " + re->error());
            return nullptr;
        }
        if (!re->CheckRewriteString(o.replacement, &why)) {
            ctx.error("replacement", "replacement: " + why);
            return nullptr;
        }
        rule.pattern = std::move(re);
    } else if (!o.replacement.empty()) {
        ctx.error("replacement", "'replacement' needs a 'pattern' to replace");
        return nullptr;
    }
    if (o.columns.empty() && !rule.active()) {
        ctx.error("columns", "'columns' is empty: nothing to rename (give 'columns' (old = "
                             "\"new\"), 'pattern' with 'replacement', or 'case')");
        return nullptr;
    }
    Renames renames;
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
    return std::make_unique<RenameStage>(std::move(renames), std::move(rule));
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
        "record error (it follows the stage's error strategy) rather than losing a value. "
        "`pattern` and `replacement` (a regular expression replaced in every name), and "
        "`case = \"lower\" | \"upper\"`, rename the fields `columns` does not list, as mlr "
        "rename -g -r and case -k; two fields that would get one name are an error (at load "
        "over CSV).";
    fn.options = rename_options().specs();
    fn.factory = bind_options(rename_options(), build_rename);
    return fn;
}

void register_rename(Registry& registry) {
    registry.add("rename.apply", rename_apply_descriptor);
}

} // namespace conveyor::plugins
