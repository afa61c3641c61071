#include "conveyor/recordio/csv_typing.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace conveyor::recordio::csv {

namespace {

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// A double overflows only when its magnitude reaches about 1.8e308. A decimal with `int_digits`
// digits before the point and exponent `exp` is below 10^(int_digits + exp), so anything up to
// 10^308 is finite without parsing it; only the rare larger ones are checked for real.
constexpr std::int64_t kSafeDecimalMagnitude = 308;

} // namespace

NumberShape classify_number(std::string_view text, std::int64_t* as_int) noexcept {
    const char* const begin = text.data();
    const char* const end = begin + text.size();
    const char* p = begin;
    if (p == end) return NumberShape::None;
    const bool negative = *p == '-';
    if (negative && ++p == end) return NumberShape::None;
    // ".5" has no digit before the point (as Python, pandas and DuckDB read it).
    if (!is_digit(*p) && !(*p == '.' && p + 1 != end && is_digit(p[1]))) return NumberShape::None;

    const char* const int_begin = p;
    // Up to 19 digits fit in uint64 without overflow; longer runs are never an int64.
    std::uint64_t magnitude = 0;
    if (*p == '0') {
        ++p;
        if (p != end && is_digit(*p)) return NumberShape::None; // leading zero: "007" is a code
    } else {
        while (p != end && is_digit(*p)) {
            magnitude = magnitude * 10 + static_cast<std::uint64_t>(*p - '0');
            ++p;
        }
    }
    const std::int64_t int_digits = p - int_begin;

    if (p == end) {
        if (negative && int_digits == 1 && *int_begin == '0') return NumberShape::Decimal; // "-0"
        if (int_digits > 19) return NumberShape::None;
        constexpr std::uint64_t kMax =
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        if (magnitude > kMax + (negative ? 1 : 0)) return NumberShape::None; // beyond int64
        if (as_int)
            *as_int = negative ? static_cast<std::int64_t>(0 - magnitude)
                               : static_cast<std::int64_t>(magnitude);
        return NumberShape::Integer;
    }

    if (*p == '.') {
        // "5." has no digit after it: still the number 5 (never "." alone: see above).
        ++p;
        while (p != end && is_digit(*p))
            ++p;
    }
    std::int64_t exponent = 0;
    if (p != end && (*p == 'e' || *p == 'E')) {
        ++p;
        bool exp_negative = false;
        if (p != end && (*p == '+' || *p == '-')) {
            exp_negative = *p == '-';
            ++p;
        }
        const char* const exp_begin = p;
        while (p != end && is_digit(*p)) {
            if (exponent < 1'000'000) exponent = exponent * 10 + (*p - '0'); // saturates
            ++p;
        }
        if (p == exp_begin) return NumberShape::None; // "1e"
        if (exp_negative) exponent = -exponent;
    }
    if (p != end) return NumberShape::None;

    if (int_digits + exponent > kSafeDecimalMagnitude) {
        double value = 0;
        const auto [ptr, ec] = std::from_chars(begin, end, value);
        if (ec != std::errc{} || ptr != end || !std::isfinite(value)) return NumberShape::None;
    }
    return NumberShape::Decimal;
}

namespace detail {

Value infer_numeric(std::string_view text) noexcept {
    std::int64_t i = 0;
    switch (classify_number(text, &i)) {
    case NumberShape::Integer:
        return Value::integer(i);
    case NumberShape::Decimal:
        return Value::number_text(text);
    case NumberShape::None:
        break;
    }
    return Value::string(text);
}

} // namespace detail

} // namespace conveyor::recordio::csv
