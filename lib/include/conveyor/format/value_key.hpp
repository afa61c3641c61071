#pragma once

// Values as keys: a byte encoding for hashing group and join keys, the one order sort keys
// and min/max use, and deep copies into an arena (for values kept beyond their batch).

#include "conveyor/core/arena.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <string>

namespace conveyor {

enum class Collation : std::uint8_t { Binary, Natural };

/// a <=> b for two non-null values under `collation`, ascending. Numbers compare as numbers
/// (1 < 2.5 < 10; integers beyond int64 written in their text by their digits), strings by bytes
/// (or naturally: file2 before file10), false < true; values of different kinds by kind (numbers,
/// then strings, booleans, lists, objects), so that every input has one order.
int compare_values(const Value& a, const Value& b, Collation collation = Collation::Binary);

/// Appends a byte encoding of `v` to `key` such that values equal as JSON (1 and 1.0) encode
/// the same and different values differently; null and absent encode the same. An integer
/// beyond int64 that keeps its text (12345678901234567890 read from JSON) encodes its digits,
/// so that two of them one double cannot tell apart stay two keys.
void encode_key(std::string& key, const Value& v);

/// A deep copy of `v` whose strings, arrays and objects live in `arena`.
Value copy_into(Arena& arena, const Value& v);

/// `v` as a sort key: a decimal that keeps its text (as read from CSV or JSON) becomes a plain
/// double, so that comparisons do not parse it again and again; beyond int64 it keeps its text,
/// which tells apart integers one double cannot (compare_values).
inline Value key_value(const Value& v) noexcept {
    if (v.kind() != Kind::Double) return v;
    const double d = v.as_double();
    return d > -9.2e18 && d < 9.2e18 ? Value::real(d) : v;
}

} // namespace conveyor
