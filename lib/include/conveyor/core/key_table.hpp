#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor {

/// A hash table from byte-string keys (encoded group or join keys, format/value_key.hpp) to
/// dense slot numbers 0, 1, 2, ... in order of first insertion. Open addressing over one flat
/// array of (hash, slot), keys stored back to back: a lookup touches one or two cache lines
/// instead of a node per key, which is what a hash join or group-by spends its time on.
class KeyTable {
public:
    static constexpr std::uint32_t kNone = UINT32_MAX;

    /// The slot of `key`, which becomes slot size() when new; second: whether it was new.
    std::pair<std::uint32_t, bool> insert(std::string_view key);
    [[nodiscard]] std::optional<std::uint32_t> find(std::string_view key) const {
        return find(key, hash_of(key));
    }
    /// find() with the key's hash_of() computed before (and prefetch()ed: a probe of many
    /// keys hashes and prefetches them all first, so that the cache misses overlap).
    [[nodiscard]] std::optional<std::uint32_t> find(std::string_view key, std::uint64_t hash) const;
    static std::uint64_t hash_of(std::string_view key) noexcept;
    void prefetch(std::uint64_t hash) const noexcept {
        if (!entries_.empty()) __builtin_prefetch(&entries_[hash & (entries_.size() - 1)]);
    }
    [[nodiscard]] std::size_t size() const noexcept { return offsets_.size(); }
    /// The key of `slot`.
    [[nodiscard]] std::string_view key(std::uint32_t slot) const noexcept {
        const std::uint64_t from = offsets_[slot];
        const std::uint64_t to = slot + 1 < offsets_.size() ? offsets_[slot + 1] : bytes_.size();
        return std::string_view(bytes_).substr(from, to - from);
    }
    [[nodiscard]] std::size_t memory_bytes() const noexcept {
        return entries_.capacity() * sizeof(Entry) + offsets_.capacity() * sizeof(std::uint64_t) +
               bytes_.capacity();
    }
    void clear() {
        entries_.clear();
        offsets_.clear();
        bytes_.clear();
    }

private:
    /// Keys up to kInline bytes are also kept in the entry, so that finding one compares
    /// there and does not reach into bytes_ (another cache miss).
    static constexpr std::size_t kInline = 16;
    struct Entry {
        std::uint64_t hash = 0;
        std::uint32_t slot = kNone;
        std::uint32_t size = 0;
        char inline_key[kInline];
    };
    [[nodiscard]] bool matches(const Entry& e, std::uint64_t h, std::string_view key) const {
        if (e.hash != h || e.size != key.size()) return false;
        if (key.size() <= kInline) return std::memcmp(e.inline_key, key.data(), key.size()) == 0;
        return this->key(e.slot) == key;
    }
    void grow();

    std::vector<Entry> entries_; ///< a power of two long, at most half full
    std::vector<std::uint64_t> offsets_;
    std::string bytes_;
};

} // namespace conveyor
