#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/format/column_types.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace conveyor::recordio::json {

/// json.read's `types`: field name and the type its values are converted to.
using FieldTypes = std::vector<std::pair<std::string, coltype::ColumnType>>;

/// Converts the fields of `object` (an Object value parsed into `arena`) that `types` names, in
/// place: of duplicate keys the last, which is the one a batch keeps. Checked in the order of
/// `types`; the first field that is not of its type stops it: its message comes back ("field
/// 'n' (types.n = \"int\"): ...", no location).
std::optional<std::string> convert_fields(const Value& object, const FieldTypes& types,
                                          Arena& arena);

/// Turns parsed JSON objects into batches. A batch's schema is the union of its records' keys;
/// a record without a key gets Value::absent() there (writers omit it), so heterogeneous records
/// come out as they went in. Every record's own key order is kept: a key new to the batch is
/// placed just before the next of the record's keys already in the union (or at the end), and a
/// record whose known keys are in an order the union cannot follow starts the next batch.
/// Duplicate keys in one record: the last value wins.
class BatchBuilder {
public:
    BatchBuilder();

    /// Where the current batch's values are parsed into.
    [[nodiscard]] Arena& arena() { return *arena_; }

    /// Keeps `owner` alive with the current batch: the text a record was parsed in place from
    /// (Parser::parse_in_place), and counts `bytes` (the record's text) in the batch's payload,
    /// as csv.read counts the bytes a batch covers rather than the blocks it holds: batches of
    /// a few records share one buffer. Held again for the next batch when a record is carried
    /// over.
    template <class T>
    void hold(const std::shared_ptr<T>& owner, std::size_t bytes) {
        held_bytes_ += bytes;
        if (!holds_.empty() && holds_.back().get() == owner.get()) return;
        holds_.push_back(owner);
    }

    /// Adds `object` (an Object value living in arena(), in an arena kept by build(true), or
    /// in what hold() keeps). False when its key order conflicts with the batch: build() this
    /// batch, then add it again. `keys_as_prev`: the caller knows `object` has the keys, in
    /// order, of the record added just before it (Parser::same_keys_as_last() of records that
    /// are all added), so they need no comparing.
    bool add(const Value& object, bool keys_as_prev = false);
    [[nodiscard]] std::size_t rows() const noexcept { return records_.size(); }

    /// The batch of everything added since the last build(); a new arena for the next one. The
    /// previous arena stays alive with the next batch when `carry` (a record is carried over).
    Batch build(bool carry);

    /// The keys of `object` in order, without duplicates.
    static SchemaRef keys_of(const Value& object);

private:
    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

    std::uint32_t id_of(std::string_view key, std::size_t index);
    /// Whether `members` have the previous record's keys, in its order (as many as it had).
    [[nodiscard]] bool same_keys_as_prev(std::span<const Member> members) const noexcept;
    /// Whether every record of the batch has the schema's keys, in its order, once each.
    [[nodiscard]] bool same_keys_throughout() const noexcept;
    void place_new_keys();

    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    struct Eq {
        using is_transparent = void;
        bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    };

    // Key dictionary, kept across batches so that ids (and schema reuse) are stable.
    std::vector<std::string> names_;
    std::unordered_map<std::string, std::uint32_t, Hash, Eq> ids_;
    std::vector<std::uint32_t> pos_;   ///< id -> position in order_, or kNone
    std::vector<std::uint32_t> stamp_; ///< id -> last record that had it
    std::uint32_t record_stamp_ = 0;

    // The batch being built.
    std::shared_ptr<Arena> arena_;
    std::vector<std::shared_ptr<Arena>> carried_;
    std::vector<std::shared_ptr<const void>> holds_;
    std::size_t held_bytes_ = 0;
    std::vector<std::uint32_t> order_;      ///< key ids in schema order
    std::vector<Value> records_;            ///< the objects, in order
    std::vector<std::uint32_t> member_ids_; ///< ids of every member of every record, flat
    std::vector<std::uint32_t> prev_ids_;   ///< the previous record's ids: the usual guess
    /// The previous record is in this batch: a record with the same keys needs no placing and
    /// no order check.
    bool prev_in_batch_ = false;
    /// Every record of the batch came through the same-keys path after its first.
    bool one_key_order_ = false;

    // Scratch for add().
    std::vector<std::uint32_t> ids_scratch_;
    std::vector<std::uint8_t> first_scratch_;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> groups_; ///< (anchor id, new id)
    std::vector<std::uint32_t> order_scratch_;

    // The last schema built, reused while the key order stays the same.
    std::vector<std::uint32_t> last_order_;
    SchemaRef last_schema_;
    std::size_t arena_hint_ = 64 * 1024;
};

} // namespace conveyor::recordio::json
