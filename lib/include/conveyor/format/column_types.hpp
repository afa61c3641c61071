#pragma once

// Declared column types (csv.read / json.read `types = { zip = "string", qty = "int" }`):
// what a reader makes of a field whose type the pipeline states instead of inferring it.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::coltype {

enum class ColumnType : std::uint8_t { String, Int, Float, Bool, Timestamp };

/// "string", "int", "float", "bool", "timestamp" (also "integer", "double", "number",
/// "boolean", "str").
std::optional<ColumnType> parse(std::string_view name) noexcept;
/// Every spelling parse() takes, for "did you mean".
const std::vector<std::string>& names();
std::string_view to_string(ColumnType type) noexcept;

/// `v` as `type`. Null stays null. string: numbers and booleans become their text (an integer
/// or decimal read from a file gives back exactly that text); int: an integer, or text that
/// is one (white space around it allowed), a decimal only when whole ("2.0"); float: any
/// number or numeric text; bool: true/false, 1/0, yes/no, on/off (any case); timestamp: ISO
/// 8601 text (an offset or Z, none = UTC) normalised to UTC ("2024-05-01T10:00:00Z"), or a
/// number of seconds since 1970. New text is allocated in `arena`. nullopt when `v` cannot be
/// read as the type (`why` says why, e.g. "'1.5' is not a whole number").
std::optional<Value> convert(const Value& v, ColumnType type, Arena& arena, std::string* why);

/// convert() for a field of text (a CSV cell): the empty text is no value (null) for every
/// type but string, whether it came unquoted and read as text (infer_types = false) or quoted
/// (`""`, as files that quote every field write it): such a file has no other way to leave a
/// number out. Everything else as convert().
std::optional<Value> convert_text_field(const Value& v, ColumnType type, Arena& arena,
                                        std::string* why);

} // namespace conveyor::coltype
