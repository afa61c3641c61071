#include "conveyor/core/key_table.hpp"

#include <cstring>
#include <functional>

namespace conveyor {

std::uint64_t KeyTable::hash_of(std::string_view key) noexcept {
    std::uint64_t h = std::hash<std::string_view>{}(key);
    // Spread the bits: the table picks its bucket from the low ones.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void KeyTable::grow() {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(old.empty() ? 1024 : old.size() * 2, Entry{});
    const std::size_t mask = entries_.size() - 1;
    for (const Entry& e : old) {
        if (e.slot == kNone) continue;
        std::size_t i = e.hash & mask;
        while (entries_[i].slot != kNone)
            i = (i + 1) & mask;
        entries_[i] = e;
    }
}

std::pair<std::uint32_t, bool> KeyTable::insert(std::string_view key) {
    if ((offsets_.size() + 1) * 2 > entries_.size()) grow();
    const std::uint64_t h = hash_of(key);
    const std::size_t mask = entries_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        Entry& e = entries_[i];
        if (e.slot == kNone) {
            e.hash = h;
            e.slot = static_cast<std::uint32_t>(offsets_.size());
            e.size = static_cast<std::uint32_t>(key.size());
            if (key.size() <= kInline) std::memcpy(e.inline_key, key.data(), key.size());
            offsets_.push_back(bytes_.size());
            bytes_.append(key);
            return {e.slot, true};
        }
        if (matches(e, h, key)) return {e.slot, false};
    }
}

std::optional<std::uint32_t> KeyTable::find(std::string_view key, std::uint64_t h) const {
    if (entries_.empty()) return std::nullopt;
    const std::size_t mask = entries_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        const Entry& e = entries_[i];
        if (e.slot == kNone) return std::nullopt;
        if (matches(e, h, key)) return e.slot;
    }
}

} // namespace conveyor
