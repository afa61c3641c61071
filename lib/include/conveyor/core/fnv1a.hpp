#pragma once

#include <cstdint>
#include <string_view>

namespace conveyor {

/// FNV-1a's 64-bit offset basis: where a hash starts.
inline constexpr std::uint64_t kFnv1aBasis = 14695981039346656037ULL;

/// FNV-1a (64 bits) of `bytes`, continuing from `h`. Saved checkpoints, journal digests and
/// hash shards depend on its values: they must stay the same from release to release.
constexpr std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = kFnv1aBasis) noexcept {
    for (const char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL; // the FNV prime
    }
    return h;
}

} // namespace conveyor
