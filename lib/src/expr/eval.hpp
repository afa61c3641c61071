#pragma once

// What the evaluator and the functions share: the per-row context, record errors, and the
// conversions between values (numbers from numeric text, text from numbers). Private to
// lib/src/expr.

#include "program.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace conveyor::expr {

/// A number taken from a value: an integer when it is one, else a double.
struct Num {
    bool is_int = true;
    std::int64_t i = 0;
    double d = 0;
    [[nodiscard]] double as_double() const noexcept { return is_int ? static_cast<double>(i) : d; }
};

/// Hashes std::string and std::string_view alike, so a lookup by a view allocates nothing.
struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
using ZoneCache = std::unordered_map<std::string, std::shared_ptr<const timefmt::TimeZone>,
                                     TextHash, std::equal_to<>>;

struct EvalContext {
    const Program* program = nullptr;
    std::span<const Value> row;
    const std::vector<ResolvedPath>* resolved = nullptr;
    Arena* arena = nullptr;
    /// Regexes whose pattern was only known at run time, by pattern.
    std::unordered_map<std::string, std::shared_ptr<const re2::RE2>>* regex_cache = nullptr;
    /// Time zones named at run time (by a field), by name.
    ZoneCache* zone_cache = nullptr;
    bool failed = false;
    std::string error;

    /// Records a record error at `node` and returns null (callers return it on).
    Value fail(const Node& node, std::string message);
    /// A string value owned by the arena.
    Value string(std::string_view s) { return Value::string(arena->copy(s)); }
    /// A list value owned by the arena.
    Value list(std::span<const Value> items);
    /// The regex of a call or match: the one compiled at load, or built now from `pattern`.
    const re2::RE2* regex(const Node& node, const Value& pattern);
    /// The time zone of a call: the one loaded at load, or found now by `name` (a record error
    /// naming it when there is no such zone).
    const timefmt::TimeZone* zone(const Node& call, std::string_view name);
};

/// The number in `v`: ints and doubles, and strings that are plain decimal numbers ("42",
/// "-2.5", "1e3"). nullopt for anything else.
std::optional<Num> to_number(const Value& v) noexcept;
/// A Value holding `n`.
Value from_number(const Num& n) noexcept;
/// The number text of `-text` ("12" -> "-12", "-12" -> "12"), so that negating an integer
/// past int64 keeps its digits.
std::string negated_text(std::string_view text);
/// The text of a scalar: a string as is, numbers as written, booleans as true/false (written
/// into `ctx.arena` when needed); nullopt for lists and objects.
std::optional<std::string_view> to_text(EvalContext& ctx, const Value& v);
/// The kind of a value in messages: "string 'abc'", "number 3", "list".
std::string describe(const Value& v);

/// == as the language defines it (numbers with numeric text, null equals null).
bool values_equal(const Value& a, const Value& b) noexcept;
/// Ordering: negative, zero, positive; nullopt when the two cannot be ordered (null, a number
/// and non-numeric text, different kinds).
std::optional<int> compare_values(const Value& a, const Value& b) noexcept;

/// Evaluates a node (eval.cpp).
Value eval_node(const Node& node, EvalContext& ctx);

/// The value of field `path` (resolved as `r` against the row's schema) in `row`: the column
/// itself when the path is a plain field there, else the lookup into nested values.
inline Value field_value(const FieldPath& path, const ResolvedPath& r, std::span<const Value> row) {
    if (r.next_step == path.steps().size() && r.found() && r.column < row.size())
        return row[r.column];
    return lookup(path, r, row);
}

/// `l op r` for a comparison (==, !=, <, <=, >, >=), as eval_node() decides it.
bool compare_as(Op op, const Value& l, const Value& r) noexcept;

/// A condition that compares one field with a literal (`amount >= 1000`, `"DE" == country`):
/// most filters. Such a tree cannot fail, so Evaluator::test() decides it without walking it.
struct FieldComparison {
    Op op = Op::Eq;
    std::size_t slot = 0; ///< the field's
    const Value* literal = nullptr;
    bool literal_left = false;
};
/// `root` as a FieldComparison; nullopt when it is not one.
std::optional<FieldComparison> as_field_comparison(const Node& root) noexcept;

} // namespace conveyor::expr
