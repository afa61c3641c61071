#pragma once

// The scanning behind the parser's flat-object path (json_parser.cpp): one JSON object whose
// values are strings, numbers, true, false or null, with no escapes anywhere, is most of what
// NDJSON holds, and it can be read in one pass without simdjson's structural index. These
// scanners only ever accept what RFC 8259 accepts; anything else (an escape, a nested value,
// an error) makes the caller hand the text to the general parser, which decides.

#include "utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace conveyor::json::detail {

inline bool is_json_ws(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// The closing quote of the string whose text starts at `p`, when the string lies before `end`
/// and holds neither a backslash nor a control character, and its bytes are well-formed
/// UTF-8; nullptr otherwise. Reads up to 8 bytes past `end` (the caller's padding).
inline const char* plain_string_end(const char* p, const char* end) noexcept {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    constexpr std::uint64_t kHigh = 0x8080808080808080ull;
    while (p < end) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        // A byte of each kind sets its high bit in `hit`: '"', '\\', below 0x20, or 0x80 and
        // above. Borrows can only set bits above the lowest true hit, so the lowest is exact.
        const std::uint64_t q = w ^ (kOnes * '"');
        const std::uint64_t b = w ^ (kOnes * '\\');
        const std::uint64_t hit =
            (((q - kOnes) & ~q) | ((b - kOnes) & ~b) | ((w - kOnes * 0x20) & ~w) | w) & kHigh;
        if (hit == 0) {
            p += 8;
            continue;
        }
        const char* at = p + (__builtin_ctzll(hit) >> 3);
        if (at >= end) return nullptr;
        const auto c = static_cast<unsigned char>(*at);
        if (c == '"') return at;
        if (c < 0x80) return nullptr; // a backslash or a control character
        const int n = utf8_sequence(reinterpret_cast<const unsigned char*>(at),
                                    static_cast<std::size_t>(end - at));
        if (n <= 0) return nullptr;
        p = at + n;
    }
    return nullptr;
}

/// Whether `c` may appear in a JSON number's text (the grammar itself is scan_number's).
inline bool is_number_char(char c) noexcept {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

} // namespace conveyor::json::detail
