#pragma once

// The JSON number grammar (RFC 8259 section 6), shared by the parser and its error diagnosis.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace conveyor::json::detail {

enum class NumberShape : std::uint8_t { Invalid, Integer, Real };

struct NumberScan {
    NumberShape shape = NumberShape::Invalid;
    /// Digits before the decimal point (leading zeros included).
    std::size_t int_digits = 0;
    /// Decimal exponent (saturated), 0 without one.
    long exponent = 0;
};

inline bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

/// Checks that all of `t` is one JSON number.
inline NumberScan scan_number(std::string_view t) noexcept {
    NumberScan r;
    std::size_t i = 0;
    const std::size_t n = t.size();
    if (i < n && t[i] == '-') ++i;
    if (i >= n || !is_digit(t[i])) return r;
    const std::size_t int_begin = i;
    if (t[i] == '0') {
        ++i;
    } else {
        while (i < n && is_digit(t[i]))
            ++i;
    }
    r.int_digits = i - int_begin;
    bool real = false;
    if (i < n && t[i] == '.') {
        ++i;
        if (i >= n || !is_digit(t[i])) return r;
        while (i < n && is_digit(t[i]))
            ++i;
        real = true;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        bool negative = false;
        if (i < n && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
        if (i >= n || !is_digit(t[i])) return r;
        long e = 0;
        while (i < n && is_digit(t[i])) {
            if (e < 1000000) e = e * 10 + (t[i] - '0');
            ++i;
        }
        r.exponent = negative ? -e : e;
        real = true;
    }
    if (i != n) return r;
    r.shape = real ? NumberShape::Real : NumberShape::Integer;
    return r;
}

} // namespace conveyor::json::detail
