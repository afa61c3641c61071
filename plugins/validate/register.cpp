#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/registry/registry.hpp"
#include "rules.hpp"

#include <set>

namespace conveyor::plugins::validate {

namespace {

/// validate.schema's options (the earlier tool's names).
struct ValidateOptions {
    std::vector<std::string> required_fields;
    StringPairs field_types;
    std::vector<std::string> non_nullable;
    std::vector<std::string> unique_fields;
    StringPairs patterns;
};

const OptionTable<ValidateOptions>& validate_options() {
    static const auto table =
        OptionTable<ValidateOptions>()
            .add("required_fields", &ValidateOptions::required_fields,
                 {.description = "Fields every record must have (null counts as present)",
                  .example = "[\"id\", \"email\"]"})
            .add("field_types", &ValidateOptions::field_types,
                 {.description = "Field = type: string, int, float, number, bool, object, "
                                 "array, timestamp (text that reads as the type counts; null "
                                 "passes, see non_nullable)",
                  .example = "{ id = \"int\", amount = \"number\" }"})
            .add("non_nullable", &ValidateOptions::non_nullable,
                 {.description = "Fields that must be present and not null"})
            .add("unique_fields", &ValidateOptions::unique_fields,
                 {.description = "Fields whose value may not repeat an earlier valid record's "
                                 "(each field on its own; kept in memory, 16 bytes a value)"})
            .add("patterns", &ValidateOptions::patterns,
                 {.description = "Field = RE2 regular expression its text must match (anywhere "
                                 "unless anchored with ^...$)",
                  .example = "{ email = \"^[^@]+@[^@]+$\" }"});
    return table;
}

constexpr std::string_view kInvalidOutput = "invalid";
constexpr std::string_view kErrorsField = "_errors";

/// Checks each record against the rules; a valid record passes on. An invalid one goes to the
/// named output `invalid` with an `_errors` list ({rule, field, message} per broken rule) when
/// a stage reads that output; otherwise it is a record error whose message lists every rule
/// it breaks (the stage's error strategy decides: fail the run, or leave it out and write it
/// to the dead-letter queue).
class ValidateOperator final : public Operator {
public:
    ValidateOperator(const Rules& rules, StageErrors* errors, bool invalid_read)
        : checker_(rules), errors_(errors), invalid_read_(invalid_read) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const std::size_t rows = batch.rows();
        keep_.assign(rows, 1);
        invalid_.clear();
        std::size_t failed = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            std::vector<Violation> broken = checker_.check(batch.schema(), batch.row(r));
            if (broken.empty()) continue;
            keep_[r] = 0;
            ++failed;
            if (invalid_read_) {
                invalid_.emplace_back(r, std::move(broken));
                continue;
            }
            std::string message = "invalid record: ";
            for (std::size_t i = 0; i < broken.size(); ++i)
                message += (i ? "; " : "") + broken[i].message + " (" + broken[i].rule + ")";
            Error e(ErrorKind::Data, std::move(message));
            if (!errors_) return fail(std::move(e));
            if (Status st = errors_->record_failed(batch.schema(), batch.row(r), std::move(e)); !st)
                return st;
        }
        if (!invalid_.empty()) out.emit_to(1, invalid_batch(batch));
        if (failed == rows) return {};
        if (failed) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    /// Where `_errors` goes in records of a schema: its own column if the input has one (a
    /// second validation), else a new last one.
    struct Layout {
        SchemaRef schema;
        std::size_t errors_column = 0;
    };

    Batch invalid_batch(Batch& batch) {
        const Layout& layout = layouts_.get(batch.schema_ref(), [](const Schema& s) {
            Layout l;
            if (auto c = s.find(kErrorsField)) {
                l.errors_column = *c;
                return l; // schema stays the input's (set below)
            }
            std::vector<std::string> names = s.names();
            l.errors_column = names.size();
            names.emplace_back(kErrorsField);
            l.schema = make_schema(std::move(names));
            return l;
        });
        const SchemaRef& schema = layout.schema ? layout.schema : batch.schema_ref();
        Batch part(schema, invalid_.size());
        part.share_storage_of(batch);
        Arena& arena = part.arena();
        for (const auto& [r, broken] : invalid_) {
            std::span<Value> row = part.append_row();
            const auto in = batch.row(r);
            std::copy(in.begin(), in.end(), row.begin());
            Value* items = arena.allocate_array<Value>(broken.size());
            for (std::size_t i = 0; i < broken.size(); ++i) {
                Member* m = arena.allocate_array<Member>(3);
                m[0] = {arena.copy("rule"), Value::string(arena.copy(broken[i].rule))};
                m[1] = {arena.copy("field"), Value::string(arena.copy(broken[i].field))};
                m[2] = {arena.copy("message"), Value::string(arena.copy(broken[i].message))};
                items[i] = Value::object(m, 3);
            }
            row[layout.errors_column] =
                Value::array(items, static_cast<std::uint32_t>(broken.size()));
        }
        return part;
    }

    Checker checker_;
    StageErrors* errors_;
    bool invalid_read_;
    std::vector<std::uint8_t> keep_;
    std::vector<std::pair<std::size_t, std::vector<Violation>>> invalid_;
    PerSchema<Layout> layouts_;
};

class ValidateStage final : public Stage {
public:
    explicit ValidateStage(Rules rules) : rules_(std::move(rules)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed) {
            // Over a CSV header a misspelt field would fail every record: say so up front.
            auto known = [&](const std::string& f, const char* key) -> Status {
                if (in->find(f)) return {};
                return fail(ErrorKind::Config, std::string(key) + ": field '" + f +
                                                   "' is not in the input" +
                                                   did_you_mean(f, in->names()));
            };
            for (const std::string& f : rules_.required)
                if (Status st = known(f, "required_fields"); !st) return st.error();
            for (const std::string& f : rules_.non_nullable)
                if (Status st = known(f, "non_nullable"); !st) return st.error();
            for (const auto& [f, t] : rules_.types)
                if (Status st = known(f, "field_types"); !st) return st.error();
            for (const auto& [f, re] : rules_.patterns)
                if (Status st = known(f, "patterns"); !st) return st.error();
            for (const std::string& f : rules_.unique)
                if (Status st = known(f, "unique_fields"); !st) return st.error();
        }
        const bool invalid_read = !ctx.named_outputs_read.empty() && ctx.named_outputs_read[0];
        // A stage has one initial schema for all its outputs, and the invalid output's records
        // carry _errors besides the input's fields: when a stage reads it, the schema is left
        // unknown, so that its readers (select.apply of _errors, csv.write's header) take the
        // fields from the records instead of refusing _errors as not in the input.
        OpenedStage opened(std::make_unique<ValidateOperator>(rules_, ctx.errors, invalid_read),
                           invalid_read ? nullptr : in);
        opened.fixed_schema = fixed && !invalid_read;
        // unique_fields remembers what it saw; that memory is not part of a checkpoint, so a
        // run that checks uniqueness takes none (--resume starts over).
        opened.checkpoints = rules_.unique.empty();
        return opened;
    }

    [[nodiscard]] std::vector<NamedOutput> named_outputs() const override {
        return {{std::string(kInvalidOutput),
                 "invalid records, each with an _errors list of {rule, field, message}",
                 /*may_go_unread=*/true}};
    }

private:
    Rules rules_;
};

std::unique_ptr<Stage> build_validate(BuildContext& ctx, const ValidateOptions& o) {
    Rules rules;
    rules.required = o.required_fields;
    rules.non_nullable = o.non_nullable;
    rules.unique = o.unique_fields;
    bool ok = true;
    for (const auto& [field, type] : o.field_types) {
        if (auto t = parse_field_type(type)) {
            rules.types.emplace_back(field, *t);
            continue;
        }
        ctx.error("field_types", "field_types." + field + ": unknown type '" + type + "'" +
                                     did_you_mean(type, field_type_names()) +
                                     " (types: string, "
                                     "int, float, number, bool, object, array, timestamp)");
        ok = false;
    }
    for (const auto& [field, pattern] : o.patterns) {
        RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_shared<RE2>(pattern, options);
        if (!re->ok()) {
            ctx.error("patterns",
                      "patterns." + field + ": invalid regular expression: " + re->error());
            ok = false;
            continue;
        }
        rules.patterns.emplace_back(field, std::move(re));
    }
    for (const char* key : {"required_fields", "non_nullable", "unique_fields"}) {
        const std::vector<std::string>& list =
            std::string_view(key) == "required_fields" ? o.required_fields
            : std::string_view(key) == "non_nullable"  ? o.non_nullable
                                                       : o.unique_fields;
        std::set<std::string> seen;
        for (const std::string& f : list) {
            if (!seen.insert(f).second) {
                ctx.error(key, "field '" + f + "' is listed twice");
                ok = false;
            }
        }
    }
    if (!ok) return nullptr;
    if (rules.required.empty() && rules.non_nullable.empty() && rules.types.empty() &&
        rules.patterns.empty() && rules.unique.empty()) {
        ctx.error("required_fields", "validate.schema needs at least one rule: required_fields, "
                                     "field_types, non_nullable, unique_fields or patterns");
        return nullptr;
    }
    return std::make_unique<ValidateStage>(std::move(rules));
}

} // namespace

} // namespace conveyor::plugins::validate

namespace conveyor::plugins {

/// validate.schema's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor validate_schema_descriptor() {
    FunctionDescriptor fn;
    fn.name = "validate.schema";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Check records against rules; invalid ones go to output 'invalid'";
    fn.description =
        "Checks every record against the rules given: required_fields, non_nullable, "
        "field_types, patterns (RE2) and unique_fields. A valid record passes on unchanged. An "
        "invalid one goes to the named output `invalid` (read it with inputs = "
        "[\"<stage>.invalid\"]) with an `_errors` list of {rule, field, message}, one per rule "
        "it breaks. When no stage reads that output, an invalid record is a record error whose "
        "message lists every rule it breaks: under "
        "strategy = \"continue\" it is left out and written to the dead-letter queue (when "
        "enabled) with that message; under \"stop\" the run fails naming the record's "
        "problems. Over CSV input, a rule naming a field that is not in the header is an "
        "error before any row is read.";
    fn.options = validate::validate_options().specs();
    fn.factory = bind_options(validate::validate_options(), validate::build_validate);
    return fn;
}

void register_validate(Registry& registry) {
    registry.add("validate.schema", validate_schema_descriptor);
}

} // namespace conveyor::plugins
