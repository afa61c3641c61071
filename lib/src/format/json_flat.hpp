#pragma once

// The scanning behind the parser's flat-object path (json_parser.cpp): one JSON object whose
// values are strings, numbers, true, false or null (keys without escapes, strings with the
// common ones) is most of what NDJSON holds, and it can be read in one pass without simdjson's
// structural index. These scanners only ever accept what RFC 8259 accepts; anything else (a
// surrogate escape, a nested value, an error) makes the caller hand the text to the general
// parser, which decides.

#include "conveyor/core/ascii.hpp"
#include "conveyor/core/utf8.hpp"
#include "json_number.hpp"
#include "utf8.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace conveyor::json::detail {

inline bool is_json_ws(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// Where the string whose text starts at `p` stops being plain: at its closing quote or at a
/// backslash (`escape` set), when what lies before is neither a control character nor
/// ill-formed UTF-8 and lies before `end`; nullptr otherwise. Reads up to 16 bytes past `end`
/// (the caller's padding).
inline const char* string_stop(const char* p, const char* end, bool& escape) noexcept {
    while (p < end) {
#if defined(__SSE2__)
        // 16 bytes at a time: most strings end in the first block, so the loop's branch
        // follows the data less than 8 bytes at a time did. A signed compare below 0x20 also
        // takes the bytes of 0x80 and above (negative).
        // The kind of the first stop comes from the masks: loading its byte again put a load
        // on the path of every string.
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const auto quotes =
            static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('"'))));
        const auto backslashes =
            static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
        const auto others =
            static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20))));
        const unsigned hit = quotes | backslashes | others;
        if (hit == 0) {
            p += 16;
            continue;
        }
        const char* at = p + __builtin_ctz(hit);
        if (at >= end) return nullptr;
        const unsigned first = hit & (0u - hit);
        if (quotes & first) return at;
        if (backslashes & first) {
            escape = true;
            return at;
        }
#else
        constexpr std::uint64_t kOnes = 0x0101010101010101ull;
        constexpr std::uint64_t kHigh = 0x8080808080808080ull;
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
        if (*at == '"') return at;
        if (*at == '\\') {
            escape = true;
            return at;
        }
#endif
        const auto c = static_cast<unsigned char>(*at);
        if (c < 0x80) return nullptr; // a control character
        const int n = utf8_sequence(reinterpret_cast<const unsigned char*>(at),
                                    static_cast<std::size_t>(end - at));
        if (n <= 0) return nullptr;
        p = at + n;
    }
    return nullptr;
}

/// The closing quote of the string whose text starts at `p`, when the string lies before `end`
/// and holds neither a backslash nor a control character, and its bytes are well-formed
/// UTF-8; nullptr otherwise. Reads up to 16 bytes past `end`.
inline const char* plain_string_end(const char* p, const char* end) noexcept {
    bool escape = false;
    const char* at = string_stop(p, end, escape);
    return escape ? nullptr : at;
}

/// Appends what the escape at `p` (a backslash before `end`) stands for to `out`: the
/// one-letter escapes and \uXXXX outside the surrogates. The end of the escape; nullptr for
/// anything else (a surrogate, half of a pair; not an escape), which the caller leaves to the
/// general path.
inline const char* read_escape(const char* p, const char* end, std::string& out) {
    if (end - p < 2) return nullptr;
    // The one-letter escapes, and what each stands for.
    static constexpr std::string_view kLetters = "\"\\/bfnrt";
    static constexpr std::string_view kMeanings = "\"\\/\b\f\n\r\t";
    if (const std::size_t k = kLetters.find(p[1]); k != std::string_view::npos) {
        out += kMeanings[k];
        return p + 2;
    }
    if (p[1] != 'u') return nullptr;
    if (end - p < 6) return nullptr;
    std::uint32_t cp = 0;
    for (int i = 2; i < 6; ++i) {
        const int d = hex_value(p[i]);
        if (d < 0) return nullptr;
        cp = cp * 16 + static_cast<std::uint32_t>(d);
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return nullptr;
    append_utf8(out, cp);
    return p + 6;
}

/// The end of the number starting at `p` (before `end`) in its common forms, an integer or a
/// fraction without an exponent (`real` set for a fraction); nullptr when the text there has an
/// exponent or is no number, which the caller reads the general way. What follows the number
/// is the caller's to check.
inline const char* plain_number_end(const char* p, const char* end, bool& real) noexcept {
    if (*p == '-') ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    if (*p == '0') {
        ++p;
    } else {
        do
            ++p;
        while (p < end && is_digit(*p));
    }
    if (p < end && *p == '.') {
        ++p;
        if (p == end || !is_digit(*p)) return nullptr;
        do
            ++p;
        while (p < end && is_digit(*p));
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) return nullptr;
    return p;
}

/// The keys of the last object the flat pass read, each as the bytes `"key":` it takes in the
/// text, to check the next object's keys against a word or two at a time: records of one input
/// mostly repeat their keys, and a key so checked needs no scan for its end or its ':' (and,
/// being the last object's, no check for escapes or UTF-8).
class KeyGuess {
public:
    [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
    /// The length of key `i` (without its quotes).
    [[nodiscard]] std::size_t key_size(std::size_t i) const noexcept { return keys_[i].bytes - 3; }

    /// Whether the text at `p` (before `end`, which has 8 readable bytes after it) starts with
    /// key `i` as `"key":`.
    [[nodiscard]] bool matches(std::size_t i, const char* p, const char* end) const noexcept {
        const Key& k = keys_[i];
        if (static_cast<std::size_t>(end - p) < k.bytes) return false;
        if constexpr (std::endian::native != std::endian::little)
            return std::memcmp(p, words_.data() + k.first_word, k.bytes) == 0;
        const std::uint64_t* w = words_.data() + k.first_word;
        std::size_t left = k.bytes;
        for (; left > 8; left -= 8, p += 8, ++w) {
            std::uint64_t t;
            std::memcpy(&t, p, 8);
            if (t != *w) return false;
        }
        std::uint64_t t;
        std::memcpy(&t, p, 8);
        const std::uint64_t mask =
            left == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * left)) - 1;
        return ((t ^ *w) & mask) == 0;
    }

    void clear() noexcept {
        keys_.clear();
        words_.clear();
    }
    /// Adds the next key (plain: no escapes, as the pass read it).
    void add(std::string_view key) {
        Key k;
        k.first_word = words_.size();
        k.bytes = key.size() + 3;
        words_.resize(words_.size() + (k.bytes + 7) / 8, 0);
        auto* out = reinterpret_cast<unsigned char*>(words_.data() + k.first_word);
        out[0] = '"';
        if (!key.empty()) std::memcpy(out + 1, key.data(), key.size());
        out[key.size() + 1] = '"';
        out[key.size() + 2] = ':';
        keys_.push_back(k);
    }

private:
    struct Key {
        std::size_t first_word = 0;
        std::size_t bytes = 0; ///< of `"key":`
    };
    std::vector<Key> keys_;
    std::vector<std::uint64_t> words_;
};

/// Whether `c` may appear in a JSON number's text (the grammar itself is scan_number's).
inline bool is_number_char(char c) noexcept {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

} // namespace conveyor::json::detail
