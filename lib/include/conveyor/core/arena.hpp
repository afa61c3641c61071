#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace conveyor {

/// Append-only bump allocator. Memory handed out stays valid and never moves until the arena
/// is destroyed; the arena is the owner that string and nested values of a Batch point into.
/// Not thread-safe: a batch's writable arena is written by one stage at a time (see Batch).
class Arena {
public:
    explicit Arena(std::size_t first_block = 16 * 1024) : next_block_(first_block) {}
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    void* allocate(std::size_t bytes, std::size_t align = alignof(std::max_align_t)) {
        std::size_t at = (used_ + align - 1) & ~(align - 1);
        if (blocks_.empty() || at + bytes > cap_) {
            grow(bytes + align);
            at = (used_ + align - 1) & ~(align - 1);
        }
        used_ = at + bytes;
        return blocks_.back().get() + at;
    }

    template <class T>
    T* allocate_array(std::size_t n) {
        return static_cast<T*>(allocate(n * sizeof(T), alignof(T)));
    }

    /// Copies `s` into the arena; the returned view lives as long as the arena.
    std::string_view copy(std::string_view s) {
        if (s.empty()) return {};
        char* p = static_cast<char*>(allocate(s.size(), 1));
        std::memcpy(p, s.data(), s.size());
        return {p, s.size()};
    }

    /// Bytes reserved from the system (for memory accounting).
    [[nodiscard]] std::size_t reserved_bytes() const noexcept { return reserved_; }
    /// Bytes handed out, with what each full block left unused at its end: what a block of
    /// its own would have needed to hold the same.
    [[nodiscard]] std::size_t used_bytes() const noexcept { return spent_ + used_; }

private:
    void grow(std::size_t min_bytes) {
        std::size_t size = next_block_ > min_bytes ? next_block_ : min_bytes;
        blocks_.push_back(std::make_unique_for_overwrite<std::byte[]>(size));
        spent_ += cap_;
        cap_ = size;
        used_ = 0;
        reserved_ += size;
        if (next_block_ < (std::size_t{1} << 22)) next_block_ *= 2;
    }

    std::vector<std::unique_ptr<std::byte[]>> blocks_;
    std::size_t used_ = 0;
    std::size_t cap_ = 0;
    std::size_t spent_ = 0; ///< sizes of the blocks before the last
    std::size_t next_block_;
    std::size_t reserved_ = 0;
};

} // namespace conveyor
