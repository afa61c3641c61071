#pragma once

// The order sort.apply puts records in: keys (field paths), each ascending or descending,
// nulls first or last, strings by bytes, "naturally" (file2 before file10) or case-folded.

#include "conveyor/core/value.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/format/value_key.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace conveyor::plugins::sort {

struct SortKey {
    std::string text;     ///< as written in `by`
    expr::FieldPath path; ///< `amount`, `user.address.city`, `tags[0]`
    bool descending = false;
};

struct SortOrder {
    std::vector<SortKey> keys;
    /// Nulls (and missing fields) after every value, whatever the direction; else before.
    bool nulls_last = true;
    Collation collation = Collation::Binary;
    /// Strings by bytes with A-Z taken as a-z (collation = "nocase", `mlr sort -c`): "Bob"
    /// and "bob" are equal, so they keep their input order.
    bool fold_case = false;

    /// <0, 0, >0 as the record with key values `a` goes before, with, or after the one with
    /// `b` (each keys.size() long). Numbers compare as numbers (1 < 2.5 < 10), strings by
    /// bytes (or naturally), false < true; values of different kinds by kind (numbers, then
    /// strings, booleans, lists, objects), so that every input has one order.
    [[nodiscard]] int compare(const Value* a, const Value* b) const;

    /// What a sort compares first: the first key reduced to a class and 64 bits, so that
    /// records whose prefixes differ are in the order of compare(); `exact` when equal
    /// prefixes mean an equal first key (numbers that a double holds exactly, booleans, nulls).
    struct Prefix {
        std::uint64_t bits = 0;
        std::uint8_t cls = 0;
        bool exact = false;
    };
    [[nodiscard]] Prefix prefix(const Value& first) const;
};

} // namespace conveyor::plugins::sort
