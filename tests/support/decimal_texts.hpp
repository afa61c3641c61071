#pragma once

// Random plain decimal texts ("-0.52", "00012", "7381920.5"), for tests that check a shortcut
// reading of numeric text against std::from_chars.

#include <cstdint>
#include <random>
#include <string>

namespace conveyor::test {

/// 1 to `max_digits` digits, a point somewhere among them (or none), a minus sign a quarter of
/// the time. Leading zeros included: they are text a reader sees too.
inline std::string random_decimal_text(std::mt19937_64& rng, int max_digits) {
    const int digits = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(max_digits));
    std::string t = rng() % 4 == 0 ? "-" : "";
    const int point = static_cast<int>(rng() % static_cast<std::uint64_t>(digits + 1));
    for (int d = 0; d < digits; ++d) {
        if (d == point && d > 0) t += '.';
        t += static_cast<char>('0' + rng() % 10);
    }
    return t;
}

} // namespace conveyor::test
