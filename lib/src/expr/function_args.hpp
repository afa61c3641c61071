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

/// UTF-8: code points are counted by their lead bytes.
inline bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

inline std::size_t code_points(std::string_view s) {
    std::size_t n = 0;
    for (char c : s)
        n += is_continuation(c) ? 0 : 1;
    return n;
}

/// Byte offset of code point `cp` (s.size() when past the end).
inline std::size_t byte_offset(std::string_view s, std::size_t cp) {
    std::size_t i = 0;
    std::size_t seen = 0;
    while (i < s.size()) {
        if (!is_continuation(s[i])) {
            if (seen == cp) return i;
            ++seen;
        }
        ++i;
    }
    return s.size();
}

/// White space as trim() and the casts skip it.
inline bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// `s` without the white space at its start.
inline std::string_view trim_left(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    return s;
}

/// `s` without the white space at its end.
inline std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

/// `part` (a piece of `whole`) as a result: `whole` itself when it is all of it, else a copy.
inline Value part_of(EvalContext& ctx, std::string_view whole, std::string_view part) {
    return part.size() == whole.size() ? Value::string(whole) : ctx.string(part);
}

/// Case mapping for ASCII, Latin-1, Greek and Cyrillic letters; other characters are kept
/// (functions_text.cpp).
std::string change_case(std::string_view s, bool upper);

// The functions of each file, in the order `conveyor describe expressions` lists them.
std::span<const Function> text_functions() noexcept;
std::span<const Function> text_cut_functions() noexcept;
std::span<const Function> number_functions() noexcept;
std::span<const Function> math_functions() noexcept;
std::span<const Function> time_functions() noexcept;
std::span<const Function> digest_functions() noexcept;

} // namespace conveyor::expr
