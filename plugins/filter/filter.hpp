#pragma once

#include "conveyor/core/value.hpp"
#include "conveyor/option/option_value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::plugins::filter {

enum class Op : std::uint8_t { Eq, Ne, Gt, Ge, Lt, Le, Contains, In, NotIn, IsNull, NotNull };

/// Parses an operator as written in a pipeline (`==`, `=`, `!=`, `<>`, `>`, ..., `in`).
std::optional<Op> parse_op(std::string_view text);
/// Every accepted spelling, for error messages and `describe`.
const std::vector<std::string>& op_spellings();

/// The value a filter compares with, in every form a record value might need: numbers
/// compare numerically whatever the TOML literal type (`value = "100"` against a numeric
/// column compares as a number), strings lexically, booleans by value.
struct Literal {
    std::optional<double> number;
    std::optional<std::int64_t> integer;
    std::optional<std::string> text;
    std::optional<bool> boolean;

    static Literal from_option(const OptionValue& v);
};

/// A compiled condition `column <op> value`, evaluated on one value at a time.
class Condition {
public:
    Condition(Op op, std::vector<Literal> values) : op_(op), values_(std::move(values)) {}
    /// Null and absent values never match a comparison; `is_null` matches them.
    [[nodiscard]] bool matches(const Value& v) const;

private:
    [[nodiscard]] bool equals(const Value& v, const Literal& lit) const;
    Op op_;
    std::vector<Literal> values_; ///< one value, or the list of `in` / `not_in`
};

/// Three-way comparison of a record value with a literal; nullopt when they cannot be
/// compared (null, or kinds with nothing in common). With `ordering` (<, >, ...) a string
/// that is not a number has no order against a numeric literal; for equality it is text.
std::optional<int> compare(const Value& v, const Literal& lit, bool ordering);

} // namespace conveyor::plugins::filter
