#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace conveyor {

/// The parts of `-?[0-9]+(\.[0-9]+)?` with at most 15 digits (CSV amounts, prices), read
/// once for short_decimal() and compare_short_decimal().
struct ShortDecimal {
    bool negative = false;
    std::uint64_t digits = 0; ///< every digit, the point left out: 1854.94 is 185494
    int fraction = 0;         ///< digits after the point (0: none)
    std::uint64_t whole = 0;  ///< the digits before the point
    bool fraction_nonzero = false;
};

/// `text` read as a ShortDecimal; nullopt for anything else (more digits, an exponent, a
/// point with no digit on either side).
inline std::optional<ShortDecimal> scan_short_decimal(std::string_view text) noexcept {
    ShortDecimal r;
    const char* p = text.data();
    const char* const end = p + text.size();
    r.negative = p != end && *p == '-';
    if (r.negative) ++p;
    int count = 0;
    int fraction = -1; // digits after the point; -1: no point yet
    for (; p != end; ++p) {
        const char c = *p;
        if (c >= '0' && c <= '9') {
            r.digits = r.digits * 10 + static_cast<std::uint64_t>(c - '0');
            if (++count > 15) return std::nullopt;
            if (fraction >= 0) {
                ++fraction;
                r.fraction_nonzero |= c != '0';
            }
        } else if (c == '.' && fraction < 0 && count > 0) {
            fraction = 0;
            r.whole = r.digits;
        } else {
            return std::nullopt;
        }
    }
    if (count == 0 || fraction == 0) return std::nullopt;
    if (fraction < 0) r.whole = r.digits;
    r.fraction = fraction < 0 ? 0 : fraction;
    return r;
}

/// The value of `-?[0-9]+(\.[0-9]+)?` with at most 15 digits, exactly as from_chars gives it:
/// the digits form an integer below 2^53 and the divisor a power of ten up to 10^15, both exact
/// as doubles, so one division rounds correctly. nullopt for anything else (more digits, an
/// exponent), which from_chars reads. `point`, when given, says whether the text had a decimal
/// point (without one it is an integer of at most 15 digits).
inline std::optional<double> short_decimal(std::string_view text, bool* point = nullptr) noexcept {
    static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const std::optional<ShortDecimal> r = scan_short_decimal(text);
    if (!r) return std::nullopt;
    double d = static_cast<double>(r->digits);
    if (r->fraction > 0) d /= kPow10[r->fraction];
    if (point) *point = r->fraction > 0;
    return r->negative ? -d : d;
}

/// How the number `text` compares with the integer `c`: -1, 0 or 1, exactly as comparing
/// short_decimal(text) with double(c) does, found without reading the decimal as a double.
/// With at most 15 digits, text and c differ by at least one unit of text's last digit, which
/// is more than rounding either to a double can take away, so the order is the decimal's own.
/// nullopt when short_decimal() does not read `text` or |c| >= 2^53.
inline std::optional<int> compare_short_decimal(std::string_view text, std::int64_t c) noexcept {
    constexpr std::int64_t kExact = std::int64_t{1} << 53;
    if (c >= kExact || c <= -kExact) return std::nullopt;
    const std::optional<ShortDecimal> r = scan_short_decimal(text);
    if (!r) return std::nullopt;
    // text is sign * (whole + f) with 0 <= f < 1, f > 0 exactly when fraction_nonzero.
    const auto whole = static_cast<std::int64_t>(r->whole);
    if (!r->negative) {
        if (whole != c) return whole > c ? 1 : -1;
        return r->fraction_nonzero ? 1 : 0;
    }
    if (-whole != c) return -whole > c ? 1 : -1;
    return r->fraction_nonzero ? -1 : 0;
}

} // namespace conveyor
