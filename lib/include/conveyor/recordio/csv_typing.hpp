#pragma once

#include "conveyor/core/bare_empty.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <string_view>

/// How text fields (CSV cells, plain-text lines) become typed values. Shared by csv.read and
/// other text sources so that "42" means the same thing everywhere.
namespace conveyor::recordio::csv {

/// What a piece of text looks like as a number.
enum class NumberShape : std::uint8_t {
    None,    ///< not a number we recognise (stays a string)
    Integer, ///< `-?(0|[1-9][0-9]*)` and fits in int64
    Decimal, ///< JSON number grammar with a fraction or an exponent, finite as a double; also
             ///< with no digit before or after the point (".5", "-.5", "5.")
};

/// Classifies `text`; for Integer also stores the value in `*as_int` (when non-null).
/// Text that follows the integer grammar but does not fit in int64 is None (it would lose
/// digits), and so is a decimal whose value overflows a double ("1e999"). "-0" is a Decimal so
/// that its sign survives a round trip.
NumberShape classify_number(std::string_view text, std::int64_t* as_int = nullptr) noexcept;

/// The typed value of one field when type inference is on:
///  - an empty unquoted field is null; an empty quoted field (`""`) is the empty string,
///    which lets a writer tell the two apart;
///  - integers become Int, decimals (also `.5`, `-.5`, `5.`) become a Double that keeps its
///    text (zero copy: the value views `text`, so `text` must live in storage the batch
///    co-owns; JSON writers write `.5` as 0.5);
///  - everything else (`007`, `+1`, `1,50`, `1e999`, `inf`, `true`) stays a string viewing
///    `text`.
/// Quoted non-empty fields are typed like unquoted ones: quoting is a CSV syntax matter.
/// Inline because it runs once per field; most fields are decided by their first byte.
inline Value infer_value(std::string_view text, bool quoted) noexcept;

namespace detail {
/// infer_value for text starting with a digit, '-' or '.'.
Value infer_numeric(std::string_view text) noexcept;
} // namespace detail

/// An unquoted empty field read without type inference (core/bare_empty.hpp).
using conveyor::bare_empty;
using conveyor::is_bare_empty;

inline Value infer_value(std::string_view text, bool quoted) noexcept {
    if (text.empty()) return quoted ? Value::string(text) : Value::null();
    const char c = text.front();
    if ((c >= '0' && c <= '9') || c == '-' || c == '.') return detail::infer_numeric(text);
    return Value::string(text);
}

} // namespace conveyor::recordio::csv
