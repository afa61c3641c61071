#pragma once

// ASCII helpers for text that is ASCII by definition (HTTP header names and methods, file
// extensions, option words, hex digits of escapes): no locale involved.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace conveyor {

inline char ascii_lower(char c) noexcept {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
    return out;
}

/// Equal ignoring ASCII case.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

/// The value of hex digit `c` (either case), or -1 when it is not one.
inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// The two lowercase hex digits of each of the `n` bytes at `p`, written at `out` (2n chars):
/// the inverse of hex_value.
inline void write_hex(char* out, const unsigned char* p, std::size_t n) noexcept {
    constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = kHex[p[i] >> 4];
        out[2 * i + 1] = kHex[p[i] & 15];
    }
}

/// The hex digits of the bytes of `bytes`, appended to `out`.
inline void append_hex(std::string& out, std::string_view bytes) {
    const std::size_t from = out.size();
    out.resize(from + 2 * bytes.size());
    write_hex(out.data() + from, reinterpret_cast<const unsigned char*>(bytes.data()),
              bytes.size());
}

/// The bytes the hex digits `hex` stand for, written at `out` (hex.size() / 2 bytes): the
/// inverse of write_hex; false for an odd length or a character that is not a hex digit.
inline bool read_hex(std::string_view hex, char* out) noexcept {
    if (hex.size() % 2 != 0) return false;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_value(hex[i]);
        const int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i / 2] = static_cast<char>(hi * 16 + lo);
    }
    return true;
}

/// `s` ends with `suffix`, ignoring ASCII case (".CSV" is a ".csv").
inline bool iends_with(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

} // namespace conveyor
