#pragma once

// UTF-8 well-formedness as the Unicode standard defines it (Table 3-7), shared by the JSON
// writer (which replaces what is not well-formed) and the parser's error diagnosis.

#include <cstddef>
#include <cstdint>

namespace conveyor::json::detail {

/// Length of the well-formed UTF-8 sequence starting at `p` (1..4), or, when the bytes there
/// are not well-formed, the negated length of the maximal ill-formed subpart (-1..-3): the
/// longest prefix that could still have started a valid sequence. Replacing each such subpart
/// with one U+FFFD is the practice the standard recommends. `avail` >= 1.
inline int utf8_sequence(const unsigned char* p, std::size_t avail) noexcept {
    const unsigned char b0 = p[0];
    if (b0 < 0x80) return 1;
    int need;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        if (b0 == 0xE0)
            lo = 0xA0; // no overlongs
        else if (b0 == 0xED)
            hi = 0x9F; // no UTF-16 surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        if (b0 == 0xF0)
            lo = 0x90; // no overlongs
        else if (b0 == 0xF4)
            hi = 0x8F; // nothing above U+10FFFF
    } else {
        return -1; // stray continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (avail < 2 || p[1] < lo || p[1] > hi) return -1;
    for (int i = 2; i <= need; ++i) {
        if (static_cast<std::size_t>(i) >= avail || (p[i] & 0xC0) != 0x80) return -i;
    }
    return need + 1;
}

} // namespace conveyor::json::detail
