#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace conveyor::json {
class Parser;
}

namespace conveyor::plugins::postgres {

/// How numeric columns become values (postgres.read's `numeric`).
enum class NumericAs : std::uint8_t {
    Auto,   ///< a number when a double holds it exactly (15 significant digits), else a string
    Number, ///< always a number (keeping the server's spelling)
    String, ///< always a string
};

/// How the text of one result column becomes a Value: picked once per column from its type
/// (PostgreSQL's text output; the session runs in UTC with ISO dates).
struct PgDecoder {
    enum class Kind : std::uint8_t {
        Text,        ///< text, varchar, uuid, and every type without a mapping of its own
        Int,         ///< int2, int4, int8, oid
        Float,       ///< float4, float8
        Numeric,     ///< numeric (by NumericAs)
        Bool,        ///< t / f
        Timestamp,   ///< "2024-01-02 10:11:12" -> "2024-01-02T10:11:12"
        TimestampTz, ///< "2024-01-02 10:11:12+00" -> "2024-01-02T10:11:12Z"
        Json,        ///< json, jsonb: nested values
        Array,       ///< one-dimensional or nested arrays of `element`
    };
    Kind kind = Kind::Text;
    NumericAs numeric = NumericAs::Auto;
    char delimiter = ','; ///< between array elements
    std::shared_ptr<const PgDecoder> element;

    /// The decoder of a type by its catalog entry: `oid`, `category` (pg_type.typcategory) and,
    /// for an array, its element's decoder.
    static PgDecoder for_type(std::uint32_t oid, char category,
                              std::shared_ptr<const PgDecoder> element, NumericAs numeric);

    /// `text` (never NULL: the caller maps NULL to null) as a value whose storage is in
    /// `arena`, or, with `borrow`, in `text` itself where it can be taken as it is (the caller
    /// keeps what `text` points into alive with the value: Batch::keep_alive). A malformed text
    /// (an array or JSON the server would not send) is a Data error.
    Result<Value> decode(std::string_view text, Arena& arena, json::Parser& parser,
                         bool borrow = false) const;
};

/// Whether a numeric's decimal text is held exactly by a double (at most 15 significant
/// digits, a modest exponent).
bool numeric_fits_double(std::string_view text) noexcept;

/// How a value is written into one column of `COPY ... FROM STDIN` (text format).
/// Integer: smallint, integer, bigint, which read no fraction, so an integral number is written
/// without one (1000.0 as 1000). Timestamp: timestamp without time zone, which ignores an
/// offset in its input, so a text with one is written in UTC (the session's zone).
enum class PgColumnKind : std::uint8_t { Plain, Array, Json, Integer, Timestamp };

/// Appends `v` as one COPY text field for a column of kind `column` (null and absent: \N;
/// strings escaped; arrays as array literals for array columns, JSON text elsewhere; objects
/// as JSON text). `scratch` is reused between calls.
void append_copy_field(std::string& out, const Value& v, PgColumnKind column, std::string& scratch);

/// Whether `v` is a number written as an integer that no int64 holds (a 20-digit id): its
/// number text is digits with an optional sign.
bool is_integer_text(const Value& v) noexcept;

/// The column type create_table gives to a value's kind (null: text).
std::string_view sql_type_for(Kind kind) noexcept;

} // namespace conveyor::plugins::postgres
