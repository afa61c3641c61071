#include "conveyor/expr/expression.hpp"

#include "conveyor/core/suggest.hpp"
#include "eval.hpp"

#include <algorithm>
#include <re2/re2.h>
#include <unordered_map>
#include <variant>

namespace conveyor::expr {

std::string Diagnostic::render(std::string_view text) const {
    // One line of context: the text with line breaks shown as spaces, the caret under the range.
    std::string line(text);
    for (char& c : line)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    const std::size_t at = std::min(offset, line.size());
    const std::size_t len = std::max<std::size_t>(1, std::min(length, line.size() + 1 - at));
    std::string caret(at, ' ');
    caret.append(len, '^');
    return message + "\n    " + line + "\n    " + caret;
}

std::string_view to_string(Type t) noexcept {
    switch (t) {
    case Type::Any:
        return "value";
    case Type::Null:
        return "null";
    case Type::Bool:
        return "true/false";
    case Type::Number:
        return "number";
    case Type::String:
        return "text";
    case Type::List:
        return "list";
    case Type::Object:
        return "object";
    }
    return "value";
}

Result<Expression> Expression::compile(std::string_view text) {
    auto parsed = parse_program(text);
    if (auto* d = std::get_if<Diagnostic>(&parsed)) return fail(ErrorKind::Config, d->render(text));
    return Expression(std::move(std::get<std::shared_ptr<Program>>(parsed)));
}

std::optional<Diagnostic> Expression::check(std::string_view text) {
    auto parsed = parse_program(text);
    if (auto* d = std::get_if<Diagnostic>(&parsed)) return *d;
    return std::nullopt;
}

const std::string& Expression::text() const noexcept {
    return program_->text;
}
Type Expression::type() const noexcept {
    return program_->root->type;
}
std::span<const FieldPath> Expression::fields() const noexcept {
    return program_->fields;
}

const FieldPath* Expression::as_field() const noexcept {
    return program_->root->op == Op::Field ? &program_->fields[program_->root->slot] : nullptr;
}

std::shared_ptr<const void> Expression::storage() const noexcept {
    return program_;
}

namespace {

/// The node that reads field `slot`, for the caret of an unknown-field message.
const Node* find_field_node(const Node& n, std::size_t slot) {
    if (n.op == Op::Field && n.slot == slot) return &n;
    for (const auto& a : n.args)
        if (const Node* hit = find_field_node(*a, slot)) return hit;
    return nullptr;
}

} // namespace

std::optional<Diagnostic> Expression::check_fields(const Schema& schema) const {
    for (std::size_t i = 0; i < program_->fields.size(); ++i) {
        const FieldPath& path = program_->fields[i];
        if (resolve(path, schema).found()) continue;
        const Node* node = find_field_node(*program_->root, i);
        Diagnostic d;
        d.message =
            "unknown field '" + path.root() + "'" + did_you_mean(path.root(), schema.names());
        if (node) {
            d.offset = node->offset;
            d.length = node->length;
        }
        return d;
    }
    return std::nullopt;
}

struct Evaluator::State {
    SchemaRef schema;
    std::vector<ResolvedPath> resolved;
    std::vector<std::size_t> columns; ///< resolved plain fields' columns, each once
    std::unordered_map<std::string, std::shared_ptr<const re2::RE2>> regexes;
    ZoneCache zones;
    std::optional<FieldComparison> comparison; ///< the whole expression, when it is one
};

Evaluator::Evaluator(Expression expression)
    : expression_(std::move(expression)), state_(std::make_unique<State>()) {
    state_->resolved.resize(expression_.fields().size());
    state_->comparison = as_field_comparison(*expression_.program().root);
}

Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

void Evaluator::bind(const SchemaRef& schema) {
    if (state_->schema == schema) return;
    state_->schema = schema;
    const auto fields = expression_.fields();
    state_->columns.clear();
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const ResolvedPath& r = state_->resolved[i] =
            schema ? resolve(fields[i], *schema) : ResolvedPath{};
        if (r.found() && r.next_step == fields[i].steps().size() &&
            std::find(state_->columns.begin(), state_->columns.end(), r.column) ==
                state_->columns.end())
            state_->columns.push_back(r.column);
    }
}

std::span<const std::size_t> Evaluator::columns() const noexcept {
    return state_->columns;
}

std::optional<Value> Evaluator::eval(std::span<const Value> row, Arena& arena) {
    EvalContext ctx;
    ctx.program = &expression_.program();
    ctx.row = row;
    ctx.resolved = &state_->resolved;
    ctx.arena = &arena;
    ctx.regex_cache = &state_->regexes;
    ctx.zone_cache = &state_->zones;
    Value v = eval_node(*ctx.program->root, ctx);
    if (ctx.failed) {
        error_ = std::move(ctx.error);
        return std::nullopt;
    }
    return v;
}

std::optional<bool> Evaluator::test(std::span<const Value> row, Arena& arena) {
    if (const auto& f = state_->comparison) {
        // The field as eval_node() reads it; neither side can fail.
        const Value field =
            field_value(expression_.program().fields[f->slot], state_->resolved[f->slot], row);
        return f->literal_left ? compare_as(f->op, *f->literal, field)
                               : compare_as(f->op, field, *f->literal);
    }
    auto v = eval(row, arena);
    if (!v) return std::nullopt;
    if (v->is_null()) return false;
    if (v->kind() == Kind::Bool) return v->as_bool();
    error_ = "the condition gave " + describe(*v) + ", not true or false (in '" +
             expression_.text() + "')";
    return std::nullopt;
}

} // namespace conveyor::expr
