#pragma once

// The groups of one pass of groupby.apply: a hash table from the encoded key to the group's
// key values and aggregation states, in order of first appearance.

#include "aggregation.hpp"
#include "conveyor/core/key_table.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace conveyor::plugins::groupby {

class GroupTable {
public:
    GroupTable(std::size_t key_count, const std::vector<Aggregation>& aggregations);

    /// The group whose encoded key is `key`, if any.
    [[nodiscard]] std::optional<std::uint32_t> find(const std::string& key) const {
        return index_.find(key);
    }
    /// A new group: its key values (copied; a missing value becomes null) and the sequence
    /// number of its first record.
    std::uint32_t insert(const std::string& key, const Value* keys, std::int64_t first_seq);
    /// Folds one record's aggregation inputs (one per aggregation) into group `g`.
    void fold(std::uint32_t g, const Input* inputs);

    [[nodiscard]] std::size_t size() const noexcept { return first_seq_.size(); }
    [[nodiscard]] std::int64_t first_seq(std::uint32_t g) const noexcept { return first_seq_[g]; }
    [[nodiscard]] const Value* keys(std::uint32_t g) const noexcept {
        return keys_.data() + static_cast<std::size_t>(g) * key_count_;
    }
    /// Approximate bytes held, for the memory budget.
    [[nodiscard]] std::uint64_t bytes() const noexcept {
        return bytes_ + arena_->reserved_bytes() + index_.memory_bytes() +
               keys_.capacity() * sizeof(Value) + states_.capacity() * sizeof(AggState) +
               first_seq_.capacity() * sizeof(std::int64_t);
    }
    /// Where key values and kept values live: a batch holding results keeps it alive.
    [[nodiscard]] const std::shared_ptr<Arena>& arena() const noexcept { return arena_; }
    /// Group `g`'s output row: its keys, then each aggregation's result (in `arena`). A result
    /// past a double's range (a sum of 1e308 and 1e308) is a data error naming the group: no
    /// writer can show it, and a null there would lose it without a word.
    Status result_row(std::uint32_t g, std::span<Value> row, Arena& arena);
    /// The groups in key order (nulls last), for `sorted = true`.
    [[nodiscard]] std::vector<std::uint32_t> key_order() const;

private:
    std::size_t key_count_;
    const std::vector<Aggregation>& aggregations_;
    KeyTable index_; ///< encoded key -> group (slots are group numbers)
    std::vector<Value> keys_;
    std::vector<AggState> states_;
    std::vector<std::int64_t> first_seq_;
    std::shared_ptr<Arena> arena_;
    std::uint64_t bytes_ = 0;
};

/// Key order of groupby.apply's `sorted`: each key ascending, nulls last.
int compare_keys(const Value* a, const Value* b, std::size_t n);

} // namespace conveyor::plugins::groupby
