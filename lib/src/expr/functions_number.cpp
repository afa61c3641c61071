// Number functions of the expression language (abs, rounding, min and max), the casts
// (int, float, string, bool) and the tests of a value's kind.

#include "conveyor/format/json_writer.hpp"
#include "function_args.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace conveyor::expr {

namespace {

Value fn_abs(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto n = number_arg(ctx, call, args, 0);
    if (!n) return {};
    if (n->is_int && n->i != INT64_MIN) return Value::integer(n->i < 0 ? -n->i : n->i);
    return Value::real(std::fabs(n->as_double()));
}

Value rounding(EvalContext& ctx, const Node& call, std::span<const Value> args,
               double (*how)(double)) {
    if (any_null(args)) return Value::null();
    auto n = number_arg(ctx, call, args, 0);
    if (!n) return {};
    std::int64_t digits_wanted = 0;
    if (args.size() > 1) {
        auto d = int_arg(ctx, call, args, 1);
        if (!d) return {};
        digits_wanted = std::clamp<std::int64_t>(*d, -15, 15);
    }
    if (n->is_int && digits_wanted >= 0) return Value::integer(n->i);
    if (digits_wanted == 0) {
        const double r = how(n->d);
        if (std::fabs(r) < 9.2e18) return Value::integer(static_cast<std::int64_t>(r));
        return Value::real(r);
    }
    const double x = n->as_double();
    // Every double from 2^52 on is whole: nothing to round at digits >= 0 (scaling it could
    // overflow to infinity, which was written as an empty field).
    if (digits_wanted > 0 && !(std::fabs(x) < 0x1p52)) return Value::real(x);
    // 10^k is exact as a double (k <= 15) where 10^-k is not: divide and multiply by it.
    const double scale = std::pow(10.0, static_cast<double>(std::abs(digits_wanted)));
    const double r = digits_wanted > 0 ? how(x * scale) / scale : how(x / scale) * scale;
    if (!std::isfinite(r)) return Value::real(x); // ceil(DBL_MAX, -15): past the largest double
    if (digits_wanted < 0 && std::fabs(r) < 9.2e18)
        return Value::integer(static_cast<std::int64_t>(r));
    return Value::real(r);
}

Value fn_round(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return rounding(ctx, call, args, [](double x) { return std::round(x); });
}
Value fn_floor(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return rounding(ctx, call, args, [](double x) { return std::floor(x); });
}
Value fn_ceil(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return rounding(ctx, call, args, [](double x) { return std::ceil(x); });
}

Value extreme(EvalContext& ctx, const Node& call, std::span<const Value> args, bool want_max) {
    std::span<const Value> items = args;
    if (args.size() == 1 && args[0].kind() == Kind::Array) items = args[0].as_array();
    Value best = Value::null();
    for (const Value& v : items) {
        if (v.is_null()) continue;
        if (best.is_null()) {
            best = v;
            continue;
        }
        const auto c = compare_values(v, best);
        if (!c)
            return ctx.fail(call, fname(call) + "() cannot compare " + describe(v) + " with " +
                                      describe(best));
        if (want_max ? *c > 0 : *c < 0) best = v;
    }
    return best;
}

Value fn_min(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return extreme(ctx, call, args, false);
}
Value fn_max(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return extreme(ctx, call, args, true);
}

/// A printf-style number format: the text around its one conversion (with %% as %), and the
/// conversion for snprintf (`%08.3f`; length modifiers such as l in `%lf` dropped, `ll` put in
/// for integers).
struct NumberFormat {
    std::string before;
    std::string spec;
    std::string after;
    bool integer = false; ///< d i o x X: the number truncated to an integer
};

std::optional<NumberFormat> parse_number_format(std::string_view f, std::string& why) {
    NumberFormat out;
    std::string* text = &out.before;
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '%') {
            *text += f[i];
            continue;
        }
        if (i + 1 < f.size() && f[i + 1] == '%') {
            *text += '%';
            ++i;
            continue;
        }
        if (!out.spec.empty()) {
            why = "'" + std::string(f) + "' has more than one conversion (write %% for a %)";
            return std::nullopt;
        }
        const std::size_t start = i++;
        std::string spec = "%";
        while (i < f.size() && std::string_view("-+ 0#").find(f[i]) != std::string_view::npos)
            spec += f[i++];
        for (int part = 0; part < 2; ++part) { // width, then .precision
            if (part == 1) {
                if (i >= f.size() || f[i] != '.') break;
                spec += f[i++];
            }
            std::size_t digits = 0;
            for (; i < f.size() && f[i] >= '0' && f[i] <= '9'; ++i, ++digits)
                spec += f[i];
            if (digits > 3) {
                why = "'" + std::string(f) + "': a width or precision of more than 999";
                return std::nullopt;
            }
        }
        while (i < f.size() && (f[i] == 'l' || f[i] == 'h'))
            ++i;
        const char conv = i < f.size() ? f[i] : '\0';
        if (std::string_view("dioxXeEfFgG").find(conv) == std::string_view::npos || !conv) {
            why = "'" + std::string(f) + "': the conversion at position " +
                  std::to_string(start + 1) + " is not one of d i o x X f F e E g G";
            return std::nullopt;
        }
        out.integer = std::string_view("dioxX").find(conv) != std::string_view::npos;
        out.spec = spec + (out.integer ? "ll" : "") + conv;
        text = &out.after;
    }
    if (out.spec.empty()) {
        why = "'" + std::string(f) + "' has no conversion such as %.2f or %d";
        return std::nullopt;
    }
    return out;
}

Value fn_format_number(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto n = number_arg(ctx, call, args, 0);
    auto f = n ? text_arg(ctx, call, args, 1) : std::nullopt;
    if (!f) return {};
    std::string why;
    const std::optional<NumberFormat> format = parse_number_format(*f, why);
    if (!format) return ctx.fail(call, "format_number(): " + why);
    char buf[1400]; // a width and a precision of 999 at most, and a double's 309 digits
    int len = 0;
    if (format->integer) {
        if (!n->is_int && !(std::fabs(n->d) < 9.2e18))
            return ctx.fail(call, "format_number(): " + describe(args[0]) +
                                      " is out of range for an integer conversion");
        const long long i = n->is_int ? n->i : static_cast<long long>(std::trunc(n->d));
        len = std::snprintf(buf, sizeof buf, format->spec.c_str(), i);
    } else {
        len = std::snprintf(buf, sizeof buf, format->spec.c_str(), n->as_double());
    }
    if (len < 0 || static_cast<std::size_t>(len) >= sizeof buf)
        return ctx.fail(call, "format_number(): the result is too long");
    return ctx.string(format->before + std::string(buf, static_cast<std::size_t>(len)) +
                      format->after);
}

// ---- casts and tests --------------------------------------------------------------------

/// The number int() and float() make of a value: numeric text may have white space around it.
std::optional<Num> cast_number(const Value& v) {
    if (v.kind() != Kind::String) return to_number(v);
    return to_number(Value::string(trim_right(trim_left(v.as_string()))));
}

Value fn_int(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Bool) return Value::integer(v.as_bool() ? 1 : 0);
    const std::optional<Num> n = cast_number(v);
    if (!n) return ctx.fail(call, "int(): cannot make an integer of " + describe(v));
    if (n->is_int) return Value::integer(n->i);
    if (!(std::fabs(n->d) < 9.2e18))
        return ctx.fail(call, "int(): " + describe(v) + " is out of range");
    return Value::integer(static_cast<std::int64_t>(std::trunc(n->d)));
}

Value fn_float(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Bool) return Value::real(v.as_bool() ? 1.0 : 0.0);
    const std::optional<Num> n = cast_number(v);
    if (!n) return ctx.fail(call, "float(): cannot make a number of " + describe(v));
    return Value::real(n->as_double());
}

Value fn_string(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    (void)call;
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (auto t = to_text(ctx, v)) return Value::string(*t);
    return ctx.string(json::to_string(v));
}

Value fn_bool(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Bool) return v;
    if (v.is_number()) return Value::boolean(v.as_double() != 0);
    if (v.kind() == Kind::String) {
        std::string s = change_case(v.as_string(), false);
        if (s == "true" || s == "yes" || s == "y" || s == "1" || s == "on")
            return Value::boolean(true);
        if (s == "false" || s == "no" || s == "n" || s == "0" || s == "off")
            return Value::boolean(false);
    }
    return ctx.fail(call, "bool(): cannot make true/false of " + describe(v));
}

Value fn_is_null(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(args[0].is_null());
}
Value fn_is_number(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(args[0].is_number());
}
Value fn_is_string(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(args[0].is_string());
}
Value fn_is_present(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(!args[0].is_absent());
}
Value fn_is_absent(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(args[0].is_absent());
}
/// Present with no value: null (an empty CSV field) or empty text.
bool empty_value(const Value& v) {
    return v.kind() == Kind::Null || (v.is_string() && v.as_string().empty());
}
Value fn_is_empty(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(empty_value(args[0]));
}
Value fn_is_not_empty(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(!args[0].is_absent() && !empty_value(args[0]));
}

/// Miller's names for the kinds of value. Null is "empty", as Miller calls an empty CSV
/// field (which csv.read makes null), so that typeof(x) == "empty" works as it does there.
Value fn_typeof(EvalContext&, const Node&, std::span<const Value> args) {
    const Value& v = args[0];
    switch (v.kind()) {
    case Kind::Absent:
        return Value::string("absent");
    case Kind::Null:
        return Value::string("empty");
    case Kind::Bool:
        return Value::string("boolean");
    case Kind::Int:
        return Value::string("int");
    case Kind::Double:
        return Value::string("float");
    case Kind::String:
        return Value::string(v.as_string().empty() ? "empty" : "string");
    case Kind::Array:
        return Value::string("array");
    case Kind::Object:
        return Value::string("map");
    }
    return Value::string("empty");
}

} // namespace

std::span<const Function> number_functions() noexcept {
    static const Function kTable[] = {
        {{"abs", "abs(x)", "absolute value"}, 1, 1, Type::Number, -1, fn_abs},
        {{"round", "round(x, digits = 0)", "rounded half away from zero"},
         1,
         2,
         Type::Number,
         -1,
         fn_round},
        {{"floor", "floor(x, digits = 0)", "rounded down"}, 1, 2, Type::Number, -1, fn_floor},
        {{"ceil", "ceil(x, digits = 0)", "rounded up"}, 1, 2, Type::Number, -1, fn_ceil},
        {{"min", "min(a, b, ...) or min(list)", "the smallest non-null value"},
         1,
         kAnyArgs,
         Type::Any,
         -1,
         fn_min},
        {{"max", "max(a, b, ...) or max(list)", "the largest non-null value"},
         1,
         kAnyArgs,
         Type::Any,
         -1,
         fn_max},
        {{"format_number", "format_number(x, format)",
          "a number as text, printf style with one conversion (Miller's fmtnum): '%.2f' (17 "
          "becomes 17.00), '%08.3f', '%d' (decimals truncated), '%x', '%.3e', text around it "
          "kept, %% for a %"},
         2,
         2,
         Type::String,
         -1,
         fn_format_number},
        {{"int", "int(x)",
          "an integer (text is parsed, decimals truncated); a failure is a record error"},
         1,
         1,
         Type::Number,
         -1,
         fn_int},
        {{"float", "float(x)", "a floating-point number; a failure is a record error"},
         1,
         1,
         Type::Number,
         -1,
         fn_float},
        {{"string", "string(x)", "text (lists and objects as JSON)"},
         1,
         1,
         Type::String,
         -1,
         fn_string},
        {{"bool", "bool(x)", "true/false from true/false, yes/no, 1/0, on/off or a number"},
         1,
         1,
         Type::Bool,
         -1,
         fn_bool},
        {{"is_null", "is_null(x)", "true when x is null or missing"},
         1,
         1,
         Type::Bool,
         -1,
         fn_is_null},
        {{"is_number", "is_number(x)", "true when x is a number"},
         1,
         1,
         Type::Bool,
         -1,
         fn_is_number},
        {{"is_string", "is_string(x)", "true when x is text"}, 1, 1, Type::Bool, -1, fn_is_string},
        {{"is_present", "is_present(x)", "true when the field is there (null included)"},
         1,
         1,
         Type::Bool,
         -1,
         fn_is_present},
        {{"is_absent", "is_absent(x)", "true when the field is not there"},
         1,
         1,
         Type::Bool,
         -1,
         fn_is_absent},
        {{"is_empty", "is_empty(x)", "true when x is there with no value: null or empty text"},
         1,
         1,
         Type::Bool,
         -1,
         fn_is_empty},
        {{"is_not_empty", "is_not_empty(x)", "true when x is there with a value"},
         1,
         1,
         Type::Bool,
         -1,
         fn_is_not_empty},
        {{"typeof", "typeof(x)",
          "the kind of x as Miller names it: int, float, boolean, string, empty (null, as an "
          "empty CSV field is, or empty text), array, map or absent (no such field)"},
         1,
         1,
         Type::String,
         -1,
         fn_typeof},
    };
    return kTable;
}

} // namespace conveyor::expr
