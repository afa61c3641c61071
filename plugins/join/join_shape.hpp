#pragma once

// The records join.apply puts out for one pair of input schemas: the left fields, then the
// right ones; with `on` (the same key names on both sides) the right key fields are left out
// and the key fields take the right value where there is no left record; other names both
// sides have get `suffixes`.

#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <span>
#include <string>
#include <vector>

namespace conveyor::plugins::join {

struct JoinShape {
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    SchemaRef schema;
    std::vector<std::size_t> left;      ///< per output column: left column, or npos
    std::vector<std::size_t> right;     ///< per output column: right column, or npos
    std::size_t left_width = 0;         ///< output columns [0, left_width) are the left's, in order
    std::vector<std::size_t> coalesced; ///< left columns that take the right value when null

    /// Fills `out` (schema->size() values) from a left and a right row, either may be empty
    /// (no record on that side: its fields are null).
    void fill(std::span<const Value> l, std::span<const Value> r, std::span<Value> out) const;
};

/// `shared_keys`: the key fields named alike on both sides (`on`), written once.
JoinShape make_shape(const Schema& left, const Schema& right,
                     std::span<const std::string> shared_keys, const std::string& left_suffix,
                     const std::string& right_suffix);

} // namespace conveyor::plugins::join
