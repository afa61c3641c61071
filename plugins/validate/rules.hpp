#pragma once

#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <re2/re2.h>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor::plugins::validate {

/// The types field_types can demand. Text that reads as the type counts (CSV without type
/// inference gives text): "42" is an int, "true" a bool, "2026-12-04T10:00:00Z" a timestamp.
enum class FieldType : std::uint8_t { String, Int, Float, Number, Bool, Object, Array, Timestamp };

std::optional<FieldType> parse_field_type(std::string_view name) noexcept;
const std::vector<std::string>& field_type_names();
std::string_view to_string(FieldType type) noexcept;

/// One broken rule of one record.
struct Violation {
    std::string rule; ///< required_fields, non_nullable, field_types, patterns, unique_fields
    std::string field;
    std::string message;
};

/// validate.schema's rules, compiled once (immutable, shared by runs).
struct Rules {
    std::vector<std::string> required;
    std::vector<std::string> non_nullable;
    std::vector<std::pair<std::string, FieldType>> types;
    std::vector<std::pair<std::string, std::shared_ptr<const RE2>>> patterns;
    std::vector<std::string> unique;
};

/// Checks records against Rules. Holds the run state of unique_fields: two independent 64-bit
/// hashes of every value seen per field (16 bytes a value, in memory: ~1.6 GB for 100M
/// distinct values; a false duplicate needs both hashes to collide).
class Checker {
public:
    explicit Checker(const Rules& rules) : rules_(rules), seen_(rules.unique.size()) {}

    /// Every rule `row` breaks, in rule order (required, non-nullable, types, patterns,
    /// unique); empty for a valid record. A record that breaks a rule does not enter the
    /// unique sets, so its valid twin later is not called a duplicate.
    std::vector<Violation> check(const Schema& schema, std::span<const Value> row);

private:
    const Rules& rules_;
    std::vector<std::set<std::pair<std::uint64_t, std::uint64_t>>> seen_;
};

/// The text a value is checked as by patterns and shown as in messages (JSON for nested).
std::string value_text(const Value& v);

} // namespace conveyor::plugins::validate
