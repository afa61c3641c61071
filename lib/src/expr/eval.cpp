// Walking a compiled tree for one row. Every node returns a Value; a record error sets
// ctx.failed and the value is ignored from there up.

#include "eval.hpp"

#include "conveyor/core/short_decimal.hpp"
#include "conveyor/format/integer_text.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/time_zone.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <re2/re2.h>

namespace conveyor::expr {

namespace {

constexpr std::size_t kRegexCacheLimit = 256;
/// Zones named by fields: there are about 600, a record may name any.
constexpr std::size_t kZoneCacheLimit = 1024;

/// A plain decimal number ("42", "-2.5", "1e3", "007", ".5", "5."), as filter.apply has
/// always read them; never "inf", "nan" or hex.
std::optional<Num> parse_numeric_text(std::string_view s) noexcept {
    if (s.empty()) return std::nullopt;
    const std::size_t at = (s[0] == '-' || s[0] == '+') && s.size() > 1 ? 1 : 0;
    const char first = s[at] == '.' && s.size() > at + 1 ? s[at + 1] : s[at];
    if (first < '0' || first > '9') return std::nullopt;
    const std::string_view body = s[0] == '+' ? s.substr(1) : s;
    // Most numeric text is short ("1854.94", "42"): read without from_chars (the filter's
    // main cost on such columns), with the very values the calls below give.
    bool point = false;
    if (const std::optional<double> d = short_decimal(body, &point)) {
        if (point) return Num{false, 0, *d};
        return Num{true, static_cast<std::int64_t>(*d), 0}; // at most 15 digits: exact
    }
    std::int64_t i = 0;
    auto [pi, ei] = std::from_chars(body.data(), body.data() + body.size(), i);
    if (ei == std::errc{} && pi == body.data() + body.size()) return Num{true, i, 0};
    double d = 0;
    auto [pd, ed] = std::from_chars(body.data(), body.data() + body.size(), d);
    if (ed != std::errc{} || pd != body.data() + body.size() || !std::isfinite(d))
        return std::nullopt;
    return Num{false, 0, d};
}

bool truthy_or_fail(EvalContext& ctx, const Node& node, const Value& v, bool& out) {
    if (v.is_null()) {
        out = false;
        return true;
    }
    if (v.kind() == Kind::Bool) {
        out = v.as_bool();
        return true;
    }
    ctx.fail(node, "expected true or false, got " + describe(v));
    return false;
}

Value arithmetic(Op op, const Node& node, const Value& a, const Value& b, EvalContext& ctx) {
    if (a.is_null() || b.is_null()) return Value::null();
    const auto x = to_number(a);
    const auto y = to_number(b);
    const char* sym = op == Op::Add   ? "+"
                      : op == Op::Sub ? "-"
                      : op == Op::Mul ? "*"
                      : op == Op::Div ? "/"
                                      : "%";
    if (!x || !y)
        return ctx.fail(node,
                        std::string("'") + sym + "' needs numbers, got " + describe(x ? b : a));
    if (x->is_int && y->is_int) {
        std::int64_t r = 0;
        switch (op) {
        case Op::Add:
            if (!__builtin_add_overflow(x->i, y->i, &r)) return Value::integer(r);
            break;
        case Op::Sub:
            if (!__builtin_sub_overflow(x->i, y->i, &r)) return Value::integer(r);
            break;
        case Op::Mul:
            if (!__builtin_mul_overflow(x->i, y->i, &r)) return Value::integer(r);
            break;
        case Op::Div:
            if (y->i == 0) return ctx.fail(node, "division by zero");
            // INT64_MIN / -1 is past int64 (and `%` on it traps): a double below.
            if (!(x->i == INT64_MIN && y->i == -1) && x->i % y->i == 0)
                return Value::integer(x->i / y->i);
            break;
        case Op::Mod: {
            if (y->i == 0) return ctx.fail(node, "modulo by zero");
            if (y->i == -1) return Value::integer(0);
            std::int64_t m = x->i % y->i;
            if (m != 0 && ((m < 0) != (y->i < 0))) m += y->i; // the sign of the divisor
            return Value::integer(m);
        }
        default:
            break;
        }
    }
    const double p = x->as_double();
    const double q = y->as_double();
    double r = 0;
    switch (op) {
    case Op::Add:
        r = p + q;
        break;
    case Op::Sub:
        r = p - q;
        break;
    case Op::Mul:
        r = p * q;
        break;
    case Op::Div:
        if (q == 0) return ctx.fail(node, "division by zero");
        r = p / q;
        break;
    case Op::Mod:
        if (q == 0) return ctx.fail(node, "modulo by zero");
        r = std::fmod(p, q);
        if (r != 0 && ((r < 0) != (q < 0))) r += q;
        break;
    default:
        break;
    }
    if (!std::isfinite(r)) return ctx.fail(node, std::string("'") + sym + "' overflowed");
    return Value::real(r);
}

Value match(const Node& node, const Value& subject, const Value& pattern, EvalContext& ctx) {
    if (subject.is_null()) return Value::boolean(false);
    const re2::RE2* re = ctx.regex(node, pattern);
    if (!re) return Value::null();
    const auto text = to_text(ctx, subject);
    if (!text) return Value::boolean(false);
    return Value::boolean(RE2::PartialMatch(re2::StringPiece(text->data(), text->size()), *re));
}

bool contained(const Value& item, const Value& list) {
    if (list.kind() != Kind::Array) return false;
    for (const Value& v : list.as_array())
        if (values_equal(item, v)) return true;
    return false;
}

} // namespace

Value EvalContext::fail(const Node& node, std::string message) {
    if (!failed) {
        failed = true;
        const std::string_view where =
            std::string_view(program->text)
                .substr(node.offset, std::min<std::size_t>(node.length, 60));
        error = std::move(message) + " (in '" + std::string(where) + "')";
    }
    return Value::null();
}

Value EvalContext::list(std::span<const Value> items) {
    Value* out = arena->allocate_array<Value>(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
        out[i] = items[i];
    return Value::array(out, static_cast<std::uint32_t>(items.size()));
}

const re2::RE2* EvalContext::regex(const Node& node, const Value& pattern) {
    if (node.regex) return node.regex.get();
    const auto text = pattern.is_string() ? std::optional(pattern.as_string()) : std::nullopt;
    if (!text) {
        fail(node, "a regular expression must be a string, got " + describe(pattern));
        return nullptr;
    }
    auto it = regex_cache->find(std::string(*text));
    if (it != regex_cache->end()) return it->second.get();
    std::string why;
    auto re = compile_regex(*text, &why);
    if (!re) {
        fail(node, "invalid regular expression '" + std::string(*text) + "': " + why);
        return nullptr;
    }
    if (regex_cache->size() >= kRegexCacheLimit) regex_cache->clear();
    return regex_cache->emplace(std::string(*text), std::move(re)).first->second.get();
}

const timefmt::TimeZone* EvalContext::zone(const Node& call, std::string_view name) {
    if (call.zone) return call.zone.get();
    if (auto it = zone_cache->find(name); it != zone_cache->end()) return it->second.get();
    std::string why;
    auto z = timefmt::find_zone(name, &why);
    if (!z) {
        fail(call, std::string(call.function->info.name) + "(): " + why);
        return nullptr;
    }
    if (zone_cache->size() >= kZoneCacheLimit) zone_cache->clear();
    return zone_cache->emplace(std::string(name), std::move(z)).first->second.get();
}

std::optional<Num> to_number(const Value& v) noexcept {
    switch (v.kind()) {
    case Kind::Int:
        return Num{true, v.as_int(), 0};
    case Kind::Double: {
        if (v.has_number_text()) {
            if (auto n = parse_numeric_text(v.number_text())) return n;
        }
        return Num{false, 0, v.as_double()};
    }
    case Kind::String:
        return parse_numeric_text(v.as_string());
    default:
        return std::nullopt;
    }
}

Value from_number(const Num& n) noexcept {
    return n.is_int ? Value::integer(n.i) : Value::real(n.d);
}

std::string negated_text(std::string_view text) {
    if (text.starts_with('-')) return std::string(text.substr(1));
    if (text.starts_with('+')) text.remove_prefix(1);
    return "-" + std::string(text);
}

std::optional<std::string_view> to_text(EvalContext& ctx, const Value& v) {
    switch (v.kind()) {
    case Kind::String:
        return v.as_string();
    case Kind::Bool:
        return v.as_bool() ? std::string_view("true") : std::string_view("false");
    case Kind::Int: {
        char buf[24];
        auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.as_int());
        (void)ec;
        return ctx.arena->copy(std::string_view(buf, static_cast<std::size_t>(p - buf)));
    }
    case Kind::Double: {
        if (v.has_number_text()) return v.number_text();
        std::string s;
        json::append_double(s, v.as_double());
        return ctx.arena->copy(s);
    }
    default:
        return std::nullopt;
    }
}

std::string describe(const Value& v) {
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        return "null";
    case Kind::Bool:
        return v.as_bool() ? "true" : "false";
    case Kind::Int:
        return "number " + std::to_string(v.as_int());
    case Kind::Double:
        return "number " + json::to_string(v);
    case Kind::String: {
        std::string_view s = v.as_string();
        if (s.size() > 40) return "string '" + std::string(s.substr(0, 40)) + "...'";
        return "string '" + std::string(s) + "'";
    }
    case Kind::Array:
        return "list";
    case Kind::Object:
        return "object";
    }
    return "value";
}

namespace {

/// The text a number was written in: a number's kept text, or numeric text.
std::string_view written(const Value& v) noexcept {
    if (v.has_number_text()) return v.number_text();
    if (v.kind() == Kind::String) return v.as_string();
    return {};
}

/// p <=> q for two numbers read from a and b: integers beyond int64 that one double cannot
/// tell apart (12345678901234567890 and ...891, ids read from JSON) by their digits.
int compare_doubles(double p, double q, const Value& a, const Value& b) noexcept {
    if (p < q) return -1;
    if (p > q) return 1;
    if (p != q || std::fabs(p) < 9.2e18) return 0; // NaN; or a double tells them apart
    return compare_integer_texts(written(a), written(b)).value_or(0);
}

} // namespace

bool values_equal(const Value& a, const Value& b) noexcept {
    if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
    if (a.is_number() || b.is_number()) {
        const auto x = to_number(a);
        const auto y = to_number(b);
        if (!x || !y || a.kind() == Kind::Bool || b.kind() == Kind::Bool) return false;
        if (x->is_int && y->is_int) return x->i == y->i;
        return compare_doubles(x->as_double(), y->as_double(), a, b) == 0;
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case Kind::Bool:
        return a.as_bool() == b.as_bool();
    case Kind::String:
        return a.as_string() == b.as_string();
    case Kind::Array: {
        const auto x = a.as_array();
        const auto y = b.as_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!values_equal(x[i], y[i])) return false;
        return true;
    }
    default:
        return json_equal(a, b);
    }
}

bool compare_as(Op op, const Value& l, const Value& r) noexcept {
    if (op == Op::Eq || op == Op::Ne) return values_equal(l, r) == (op == Op::Eq);
    // <, <=, >, >=: false when the two cannot be ordered (null, a number and other text).
    const auto c = compare_values(l, r);
    if (!c) return false;
    switch (op) {
    case Op::Lt:
        return *c < 0;
    case Op::Le:
        return *c <= 0;
    case Op::Gt:
        return *c > 0;
    default:
        return *c >= 0;
    }
}

std::optional<FieldComparison> as_field_comparison(const Node& root) noexcept {
    const bool comparison = root.op == Op::Eq || root.op == Op::Ne || root.op == Op::Lt ||
                            root.op == Op::Le || root.op == Op::Gt || root.op == Op::Ge;
    if (!comparison || root.args.size() != 2) return std::nullopt;
    const Node& a = *root.args[0];
    const Node& b = *root.args[1];
    FieldComparison f;
    f.op = root.op;
    if (a.op == Op::Field && b.op == Op::Literal) {
        f.slot = a.slot;
        f.literal = &b.literal;
    } else if (a.op == Op::Literal && b.op == Op::Field) {
        f.slot = b.slot;
        f.literal = &a.literal;
        f.literal_left = true;
    } else {
        return std::nullopt;
    }
    return f;
}

std::optional<int> compare_values(const Value& a, const Value& b) noexcept {
    if (a.is_null() || b.is_null()) return std::nullopt;
    if (a.is_number() || b.is_number()) {
        if (a.kind() == Kind::Bool || b.kind() == Kind::Bool) return std::nullopt;
        // Number text ("1854.94") against an integer (amount >= 1000): ordered digit by
        // digit, the same as reading it as a double first.
        if (a.has_number_text() && b.kind() == Kind::Int)
            if (const std::optional<int> c = compare_short_decimal(a.number_text(), b.as_int()))
                return c;
        if (b.has_number_text() && a.kind() == Kind::Int)
            if (const std::optional<int> c = compare_short_decimal(b.number_text(), a.as_int()))
                return -*c;
        const auto x = to_number(a);
        const auto y = to_number(b);
        if (!x || !y) return std::nullopt; // "n/a" is neither above nor below 1000
        if (x->is_int && y->is_int) return x->i < y->i ? -1 : (x->i > y->i ? 1 : 0);
        return compare_doubles(x->as_double(), y->as_double(), a, b);
    }
    if (a.kind() == Kind::String && b.kind() == Kind::String) {
        const int c = a.as_string().compare(b.as_string());
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    if (a.kind() == Kind::Bool && b.kind() == Kind::Bool)
        return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
    return std::nullopt;
}

namespace {

/// [a, b, ...] with items that are not all constant.
Value eval_list(const Node& node, EvalContext& ctx) {
    Value items[16];
    std::vector<Value> many;
    const bool small = node.args.size() <= 16;
    if (!small) many.resize(node.args.size());
    Value* out = small ? items : many.data();
    for (std::size_t i = 0; i < node.args.size(); ++i) {
        out[i] = eval_node(*node.args[i], ctx);
        if (ctx.failed) return {};
    }
    return ctx.list({out, node.args.size()});
}

/// and / or: the right side only when the left does not decide.
Value eval_logic(const Node& node, EvalContext& ctx) {
    const Value l = eval_node(*node.args[0], ctx);
    bool lb = false;
    if (ctx.failed || !truthy_or_fail(ctx, *node.args[0], l, lb)) return {};
    if (node.op == Op::And && !lb) return Value::boolean(false);
    if (node.op == Op::Or && lb) return Value::boolean(true);
    const Value r = eval_node(*node.args[1], ctx);
    bool rb = false;
    if (ctx.failed || !truthy_or_fail(ctx, *node.args[1], r, rb)) return {};
    return Value::boolean(rb);
}

/// ==, !=, <, <=, >, >=: the two sides, then compare_as().
Value eval_comparison(const Node& node, EvalContext& ctx) {
    const Value l = eval_node(*node.args[0], ctx);
    if (ctx.failed) return {};
    const Value r = eval_node(*node.args[1], ctx);
    if (ctx.failed) return {};
    return Value::boolean(compare_as(node.op, l, r));
}

/// A function call; if and coalesce evaluate only the arguments they need.
Value eval_call(const Node& node, EvalContext& ctx) {
    const Function& f = *node.function;
    // Only the lazy functions (if, coalesce) have no impl: no name comparison per call
    // for the others.
    if (!f.impl && f.info.name == "if") {
        const Value c = eval_node(*node.args[0], ctx);
        bool b = false;
        if (ctx.failed || !truthy_or_fail(ctx, *node.args[0], c, b)) return {};
        return eval_node(*node.args[b ? 1 : 2], ctx);
    }
    if (!f.impl) { // coalesce
        for (const auto& a : node.args) {
            const Value v = eval_node(*a, ctx);
            if (ctx.failed) return {};
            if (!v.is_null()) return v;
        }
        return Value::null();
    }
    Value small[8];
    std::vector<Value> many;
    const bool fits = node.args.size() <= 8;
    if (!fits) many.resize(node.args.size());
    Value* args = fits ? small : many.data();
    for (std::size_t i = 0; i < node.args.size(); ++i) {
        // A regex argument compiled at load is not evaluated again.
        if (node.regex && static_cast<int>(i) == f.regex_arg) {
            args[i] = node.args[i]->literal;
            continue;
        }
        args[i] = eval_node(*node.args[i], ctx);
        if (ctx.failed) return {};
    }
    const Value v = f.impl(ctx, node, {args, node.args.size()});
    if (ctx.failed) return {};
    return v;
}

/// (expr)[i], negative i counting from the end; absent when out of range.
Value eval_index(const Node& node, EvalContext& ctx) {
    const Value v = eval_node(*node.args[0], ctx);
    if (ctx.failed) return {};
    if (v.kind() != Kind::Array) return Value::absent();
    const auto items = v.as_array();
    const std::optional<std::size_t> at = item_at(node.index, items.size());
    return at ? items[*at] : Value::absent();
}

} // namespace

Value eval_node(const Node& node, EvalContext& ctx) {
    switch (node.op) {
    case Op::Literal:
        return node.literal;
    case Op::Field:
        return field_value(ctx.program->fields[node.slot], (*ctx.resolved)[node.slot], ctx.row);
    case Op::List:
        return eval_list(node, ctx);
    case Op::Neg: {
        const Value v = eval_node(*node.args[0], ctx);
        if (ctx.failed || v.is_null()) return Value::null();
        const auto n = to_number(v);
        if (!n) return ctx.fail(node, "'-' needs a number, got " + describe(v));
        if (n->is_int && n->i != INT64_MIN) return Value::integer(-n->i);
        // An integer past int64 (a 20-digit id) keeps its digits, as its literal does.
        if (v.has_number_text() && !n->is_int &&
            v.number_text().find_first_of(".eE") == std::string_view::npos)
            return Value::number_text(ctx.arena->copy(negated_text(v.number_text())));
        return Value::real(-n->as_double());
    }
    case Op::Not: {
        const Value v = eval_node(*node.args[0], ctx);
        bool b = false;
        if (ctx.failed || !truthy_or_fail(ctx, *node.args[0], v, b)) return {};
        return Value::boolean(!b);
    }
    case Op::And:
    case Op::Or:
        return eval_logic(node, ctx);
    case Op::Coalesce: {
        const Value l = eval_node(*node.args[0], ctx);
        if (ctx.failed) return {};
        if (!l.is_null()) return l;
        return eval_node(*node.args[1], ctx);
    }
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Mod: {
        const Value l = eval_node(*node.args[0], ctx);
        if (ctx.failed) return {};
        const Value r = eval_node(*node.args[1], ctx);
        if (ctx.failed) return {};
        return arithmetic(node.op, node, l, r, ctx);
    }
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
        return eval_comparison(node, ctx);
    case Op::Match:
    case Op::NotMatch: {
        const Value l = eval_node(*node.args[0], ctx);
        if (ctx.failed) return {};
        const Value r = node.regex ? Value() : eval_node(*node.args[1], ctx);
        if (ctx.failed) return {};
        const Value m = match(node, l, r, ctx);
        if (ctx.failed) return {};
        if (l.is_null()) return Value::boolean(false);
        return Value::boolean(m.as_bool() == (node.op == Op::Match));
    }
    case Op::In:
    case Op::NotIn: {
        const Value l = eval_node(*node.args[0], ctx);
        if (ctx.failed) return {};
        const Value r = eval_node(*node.args[1], ctx);
        if (ctx.failed) return {};
        if (!r.is_null() && r.kind() != Kind::Array)
            return ctx.fail(node, "'in' needs a list on its right, got " + describe(r));
        return Value::boolean(contained(l, r) == (node.op == Op::In));
    }
    case Op::Call:
        return eval_call(node, ctx);
    case Op::Member: {
        const Value v = eval_node(*node.args[0], ctx);
        if (ctx.failed) return {};
        const Value* m = v.find(node.key);
        return m ? *m : Value::absent();
    }
    case Op::Index:
        return eval_index(node, ctx);
    }
    return Value::null();
}

} // namespace conveyor::expr
