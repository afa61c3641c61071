#include "conveyor/recordio/json_batch_builder.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_set>

namespace conveyor::recordio::json {

std::optional<std::string> convert_fields(const Value& object, const FieldTypes& types,
                                          Arena& arena) {
    // The members live in `arena`, which the parser filled: they are the caller's to change.
    const std::span<const Member> members = object.as_object();
    auto* m = const_cast<Member*>(members.data());
    std::string why;
    for (const auto& [name, type] : types) {
        for (std::size_t i = members.size(); i-- > 0;) {
            if (m[i].key != name) continue;
            std::optional<Value> converted = coltype::convert(m[i].value, type, arena, &why);
            if (!converted)
                return fmt::format("field '{}' (types.{} = \"{}\"): {}", name, name,
                                   coltype::to_string(type), why);
            m[i].value = *converted;
            break;
        }
    }
    return std::nullopt;
}

namespace {
/// Beyond this many distinct keys (keys that are really data, e.g. ids), the dictionary is
/// started afresh at the next batch so it cannot grow without bound.
constexpr std::size_t kMaxDictionary = 1 << 16;
constexpr std::size_t kMaxArenaHint = 16u << 20;
constexpr std::size_t kHintStep = 64 * 1024;
} // namespace

BatchBuilder::BatchBuilder() {
    arena_ = std::make_shared<Arena>(arena_hint_);
}

std::uint32_t BatchBuilder::id_of(std::string_view key, std::size_t index) {
    // Records of one file usually repeat the previous record's keys.
    if (index < prev_ids_.size()) {
        const std::uint32_t guess = prev_ids_[index];
        if (names_[guess] == key) return guess;
    }
    if (auto it = ids_.find(key); it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(names_.size());
    names_.emplace_back(key);
    ids_.emplace(std::string(key), id);
    pos_.push_back(kNone);
    stamp_.push_back(0);
    return id;
}

bool BatchBuilder::add(const Value& object, bool keys_as_prev) {
    const auto members = object.as_object();
    const std::size_t n = members.size();
    if (prev_in_batch_ && n == prev_ids_.size() && (keys_as_prev || same_keys_as_prev(members))) {
        // The previous record's keys in its order (duplicates included): they were placed and
        // their order checked when it was added to this batch, and nothing was added since.
        records_.push_back(object);
        member_ids_.insert(member_ids_.end(), prev_ids_.begin(), prev_ids_.end());
        return true;
    }
    if (++record_stamp_ == 0) {
        std::fill(stamp_.begin(), stamp_.end(), 0);
        record_stamp_ = 1;
    }
    ids_scratch_.resize(n);
    first_scratch_.resize(n);
    std::int64_t last = -1;
    bool has_new = false;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t id = id_of(members[i].key, i);
        ids_scratch_[i] = id;
        if (stamp_[id] == record_stamp_) { // a duplicate key: no say in the order
            first_scratch_[i] = 0;
            continue;
        }
        stamp_[id] = record_stamp_;
        first_scratch_[i] = 1;
        const std::uint32_t p = pos_[id];
        if (p == kNone) {
            has_new = true;
            continue;
        }
        if (static_cast<std::int64_t>(p) <= last) return false;
        last = p;
    }
    if (has_new) place_new_keys();
    one_key_order_ = records_.empty();
    records_.push_back(object);
    member_ids_.insert(member_ids_.end(), ids_scratch_.begin(), ids_scratch_.end());
    prev_ids_.assign(ids_scratch_.begin(), ids_scratch_.end());
    prev_in_batch_ = true;
    return true;
}

bool BatchBuilder::same_keys_throughout() const noexcept {
    if (!one_key_order_ || prev_ids_.size() != order_.size()) return false;
    for (std::size_t i = 0; i < order_.size(); ++i)
        if (order_[i] != prev_ids_[i]) return false;
    return true;
}

bool BatchBuilder::same_keys_as_prev(std::span<const Member> members) const noexcept {
    for (std::size_t i = 0; i < members.size(); ++i) {
        // Compared as views: an empty key may have a null data(), which memcmp must not see.
        if (std::string_view(names_[prev_ids_[i]]) != members[i].key) return false;
    }
    return true;
}

void BatchBuilder::place_new_keys() {
    // Each new key goes just before the record's next key that is already placed.
    groups_.clear();
    std::uint32_t anchor = kNone;
    bool anchored = false;
    for (std::size_t i = ids_scratch_.size(); i-- > 0;) {
        if (!first_scratch_[i]) continue;
        const std::uint32_t id = ids_scratch_[i];
        if (pos_[id] != kNone) {
            anchor = id;
        } else {
            groups_.emplace_back(anchor, id);
            anchored |= anchor != kNone;
        }
    }
    std::reverse(groups_.begin(), groups_.end());
    if (!anchored) {
        for (const auto& g : groups_) {
            pos_[g.second] = static_cast<std::uint32_t>(order_.size());
            order_.push_back(g.second);
        }
        return;
    }
    order_scratch_.clear();
    std::size_t j = 0;
    for (const std::uint32_t id : order_) {
        while (j < groups_.size() && groups_[j].first == id)
            order_scratch_.push_back(groups_[j++].second);
        order_scratch_.push_back(id);
    }
    while (j < groups_.size())
        order_scratch_.push_back(groups_[j++].second);
    order_.swap(order_scratch_);
    for (std::size_t p = 0; p < order_.size(); ++p)
        pos_[order_[p]] = static_cast<std::uint32_t>(p);
}

Batch BatchBuilder::build(bool carry) {
    SchemaRef schema;
    if (last_schema_ && order_ == last_order_) {
        schema = last_schema_;
    } else {
        std::vector<std::string> names;
        names.reserve(order_.size());
        for (const std::uint32_t id : order_)
            names.push_back(names_[id]);
        schema = make_schema(std::move(names));
        last_order_ = order_;
        last_schema_ = schema;
    }

    Batch batch(schema, records_.size());
    if (same_keys_throughout()) {
        // Every record has the schema's keys in its order: members go to columns as they are.
        for (const Value& record : records_) {
            std::span<Value> row = batch.append_row();
            const std::span<const Member> members = record.as_object();
            for (std::size_t i = 0; i < members.size(); ++i)
                row[i] = members[i].value;
        }
    } else {
        std::size_t k = 0;
        for (const Value& record : records_) {
            std::span<Value> row = batch.append_row();
            for (const Member& m : record.as_object())
                row[pos_[member_ids_[k++]]] = m.value;
        }
    }
    std::size_t payload = arena_->reserved_bytes() + held_bytes_;
    batch.keep_alive(arena_);
    for (auto& owner : carried_) {
        payload += owner->reserved_bytes();
        batch.keep_alive(std::move(owner));
    }
    for (const auto& owner : holds_)
        batch.keep_alive(owner);
    batch.set_payload_bytes(payload);

    for (const std::uint32_t id : order_)
        pos_[id] = kNone;
    prev_in_batch_ = false;
    order_.clear();
    records_.clear();
    member_ids_.clear();
    carried_.clear();
    if (carry) {
        // The carried record may lie in the arena and in what was held (only in the last).
        carried_.push_back(arena_);
        if (!holds_.empty()) holds_.erase(holds_.begin(), holds_.end() - 1);
    } else {
        holds_.clear();
    }
    held_bytes_ = 0;
    // The next arena's first block holds what this one held, and an eighth more: sized by what
    // was reserved, a batch just larger than the blocks before it (64 + 128 + 256 KiB) got a
    // second block twice the first, and every batch after it three times what it used. Whole
    // 64 KiB keep the size the same from batch to batch, so that malloc can reuse the block
    // freed with an earlier batch (a new size above its mmap threshold is fresh pages).
    const std::size_t used = arena_->used_bytes();
    const std::size_t want = (used + used / 8 + kHintStep - 1) / kHintStep * kHintStep;
    arena_hint_ = std::clamp<std::size_t>(want, 16 * 1024, kMaxArenaHint);
    arena_ = std::make_shared<Arena>(arena_hint_);
    if (names_.size() > kMaxDictionary) {
        names_.clear();
        ids_.clear();
        pos_.clear();
        stamp_.clear();
        prev_ids_.clear();
        last_order_.clear();
        last_schema_.reset();
    }
    return batch;
}

SchemaRef BatchBuilder::keys_of(const Value& object) {
    std::vector<std::string> names;
    std::unordered_set<std::string_view> seen;
    for (const Member& m : object.as_object())
        if (seen.insert(m.key).second) names.emplace_back(m.key);
    return make_schema(std::move(names));
}

} // namespace conveyor::recordio::json
