// Powers and logarithms of the expression language: sqrt, pow, exp, log, log10. A result that
// is not a finite number (the square root of a negative number, the logarithm of 0) is a
// record error: JSON cannot hold it, and csv.write would write it empty.

#include "function_args.hpp"

#include <cmath>
#include <limits>

namespace conveyor::expr {

namespace {

/// `r` computed by function `call`, or the record error when it is not finite.
Value finite(EvalContext& ctx, const Node& call, std::span<const Value> args, double r) {
    if (std::isfinite(r)) return Value::real(r);
    std::string shown;
    for (std::size_t i = 0; i < args.size(); ++i)
        shown += (i ? ", " : "") + describe(args[i]);
    return ctx.fail(call, fname(call) + "(" + shown + ") is not a finite number");
}

Value unary(EvalContext& ctx, const Node& call, std::span<const Value> args, double (*f)(double)) {
    if (args[0].is_null()) return Value::null();
    auto n = number_arg(ctx, call, args, 0);
    if (!n) return {};
    return finite(ctx, call, args, f(n->as_double()));
}

Value fn_sqrt(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return unary(ctx, call, args, [](double x) { return std::sqrt(x); });
}
Value fn_exp(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return unary(ctx, call, args, [](double x) { return std::exp(x); });
}
Value fn_log(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return unary(ctx, call, args, [](double x) { return std::log(x); });
}
Value fn_log10(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return unary(ctx, call, args, [](double x) { return std::log10(x); });
}

/// An integer to a power of 0 or more stays an integer while it fits (2 ** 10 is 1024).
Value fn_pow(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto base = number_arg(ctx, call, args, 0);
    auto exponent = base ? number_arg(ctx, call, args, 1) : std::nullopt;
    if (!exponent) return {};
    if (base->is_int && exponent->is_int && exponent->i >= 0) {
        std::int64_t result = 1;
        std::int64_t b = base->i;
        bool fits = true;
        for (std::int64_t e = exponent->i; e > 0 && fits; e >>= 1) {
            if ((e & 1) != 0) fits = !__builtin_mul_overflow(result, b, &result);
            if (e > 1 && fits) fits = !__builtin_mul_overflow(b, b, &b);
        }
        if (fits) return Value::integer(result);
    }
    return finite(ctx, call, args, std::pow(base->as_double(), exponent->as_double()));
}

} // namespace

std::span<const Function> math_functions() noexcept {
    static const Function kTable[] = {
        {{"sqrt", "sqrt(x)", "square root"}, 1, 1, Type::Number, -1, fn_sqrt},
        {{"pow", "pow(x, y)",
          "x to the power y (also x ** y); integers stay integers while the result fits"},
         2,
         2,
         Type::Number,
         -1,
         fn_pow},
        {{"exp", "exp(x)", "e to the power x"}, 1, 1, Type::Number, -1, fn_exp},
        {{"log", "log(x)", "natural logarithm"}, 1, 1, Type::Number, -1, fn_log},
        {{"log10", "log10(x)", "logarithm to base 10"}, 1, 1, Type::Number, -1, fn_log10},
    };
    return kTable;
}

} // namespace conveyor::expr
