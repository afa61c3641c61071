#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// The last few bytes of a text, and short texts, taken 16 bytes at a time.
///
/// The writers scan each text for bytes that need attention 16 at a time, and copy it; a text
/// shorter than 16 bytes (most fields: names, codes, numbers) and the tail of a longer one fell
/// to a loop a byte at a time and to a memcpy call. A 16-byte load that starts at a text's
/// byte and does not cross into the next 4 KiB page cannot fault, whatever lies after the text
/// in that page: the bytes beyond the text are loaded and then ignored (masked off, or
/// overwritten by what is written next). That is the same reasoning glibc's string functions
/// rest on. Sanitizers see a read past the object, so the one function that loads is not
/// instrumented by them.
namespace conveyor::short_bytes {

/// Whether the 16 bytes at `p` lie in p's page, so that loading them cannot fault.
[[nodiscard]] inline bool loadable16(const void* p) noexcept {
    return (reinterpret_cast<std::uintptr_t>(p) & 4095u) <= 4096u - 16u;
}

#if defined(__SSE2__)
/// The 16 bytes at `p` (loadable16(p) must hold); bytes past the caller's text are whatever the
/// page holds there.
__attribute__((no_sanitize("address", "thread"))) inline __m128i load16(const void* p) noexcept {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

/// The mask of the first `n` (< 16) bits: the bytes of a tail of n bytes in a movemask.
[[nodiscard]] inline unsigned first_bits(std::size_t n) noexcept {
    return (1u << n) - 1u;
}
#endif

/// Copies `n` bytes from `src` to `dst`, where `dst` has room for max(n, 16) bytes: one 16-byte
/// load and store when 0 < n <= 16 and the load cannot fault (the bytes stored past n are
/// garbage the caller writes over or cuts off), memcpy otherwise.
inline void copy(char* dst, const char* src, std::size_t n) noexcept {
#if defined(__SSE2__)
    if (n - 1 < 16 && loadable16(src)) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), load16(src));
        return;
    }
#endif
    if (n != 0) std::memcpy(dst, src, n);
}

} // namespace conveyor::short_bytes
