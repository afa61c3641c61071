#pragma once

// What the function library's files share (functions_text.cpp, functions_number.cpp,
// functions_time.cpp, functions_digest.cpp; functions.cpp puts their tables together): the
// checks of arguments, whose failures are record errors naming the function. Private to
// lib/src/expr.

#include "eval.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <string>

namespace conveyor::expr {

/// -1 as a Function's max_args: any number of arguments.
inline constexpr int kAnyArgs = -1;

inline bool any_null(std::span<const Value> args) {
    return std::any_of(args.begin(), args.end(), [](const Value& v) { return v.is_null(); });
}

inline std::string fname(const Node& call) {
    return std::string(call.function->info.name);
}

/// The text of argument `i`, or a record error.
inline std::optional<std::string_view> text_arg(EvalContext& ctx, const Node& call,
                                                std::span<const Value> args, std::size_t i) {
    auto t = to_text(ctx, args[i]);
    if (!t)
        ctx.fail(call, fname(call) + "() needs text as argument " + std::to_string(i + 1) +
                           ", got " + describe(args[i]));
    return t;
}

inline std::optional<Num> number_arg(EvalContext& ctx, const Node& call,
                                     std::span<const Value> args, std::size_t i) {
    auto n = to_number(args[i]);
    if (!n)
        ctx.fail(call, fname(call) + "() needs a number as argument " + std::to_string(i + 1) +
                           ", got " + describe(args[i]));
    return n;
}

inline std::optional<std::int64_t> int_arg(EvalContext& ctx, const Node& call,
                                           std::span<const Value> args, std::size_t i) {
    auto n = number_arg(ctx, call, args, i);
    if (!n) return std::nullopt;
    if (n->is_int) return n->i;
    if (std::trunc(n->d) != n->d || std::fabs(n->d) > 9e15) {
        ctx.fail(call, fname(call) + "() needs a whole number as argument " +
                           std::to_string(i + 1) + ", got " + describe(args[i]));
        return std::nullopt;
    }
    return static_cast<std::int64_t>(n->d);
}

/// White space as trim() and the casts skip it.
inline bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// Case mapping for ASCII, Latin-1, Greek and Cyrillic letters; other characters are kept
/// (functions_text.cpp).
std::string change_case(std::string_view s, bool upper);

// The functions of each file, in the order `conveyor describe expressions` lists them.
std::span<const Function> text_functions() noexcept;
std::span<const Function> number_functions() noexcept;
std::span<const Function> time_functions() noexcept;
std::span<const Function> digest_functions() noexcept;

} // namespace conveyor::expr
