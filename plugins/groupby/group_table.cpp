#include "group_table.hpp"

#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace conveyor::plugins::groupby {

GroupTable::GroupTable(std::size_t key_count, const std::vector<Aggregation>& aggregations)
    : key_count_(key_count), aggregations_(aggregations),
      arena_(std::make_shared<Arena>(64 * 1024)) {}

std::uint32_t GroupTable::insert(const std::string& key, const Value* keys,
                                 std::int64_t first_seq) {
    const auto g = static_cast<std::uint32_t>(first_seq_.size());
    index_.insert(key);
    for (std::size_t k = 0; k < key_count_; ++k)
        keys_.push_back(keys[k].is_null() ? Value::null() : copy_into(*arena_, keys[k]));
    states_.resize(states_.size() + aggregations_.size());
    first_seq_.push_back(first_seq);
    return g;
}

void GroupTable::fold(std::uint32_t g, const Input* inputs) {
    AggState* states = states_.data() + static_cast<std::size_t>(g) * aggregations_.size();
    for (std::size_t a = 0; a < aggregations_.size(); ++a) {
        const Aggregation& agg = aggregations_[a];
        if (!has_extra(agg.op)) {
            groupby::fold(agg, states[a], inputs[a], *arena_);
            continue;
        }
        const std::size_t before = states[a].extra_bytes_hint();
        groupby::fold(agg, states[a], inputs[a], *arena_);
        bytes_ += states[a].extra_bytes_hint() - before;
    }
}

Status GroupTable::result_row(std::uint32_t g, std::span<Value> row, Arena& arena) {
    const Value* k = keys(g);
    std::copy(k, k + key_count_, row.begin());
    AggState* states = states_.data() + static_cast<std::size_t>(g) * aggregations_.size();
    for (std::size_t a = 0; a < aggregations_.size(); ++a) {
        const Value v = result(aggregations_[a], states[a], arena);
        if (v.kind() == Kind::Double && !std::isfinite(v.as_double())) {
            std::string group = key_count_ ? "of the group (" : "of the whole input";
            for (std::size_t i = 0; i < key_count_; ++i)
                group += (i ? ", " : "") + json::to_string(k[i]);
            if (key_count_) group += ')';
            return fail(ErrorKind::Data,
                        fmt::format("'{}' {} overflows a double (it is beyond about 1.8e308), "
                                    "so it cannot be written as a number",
                                    aggregations_[a].output, group));
        }
        row[key_count_ + a] = v;
    }
    return {};
}

std::vector<std::uint32_t> GroupTable::key_order() const {
    std::vector<std::uint32_t> order(size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
        return compare_keys(keys(a), keys(b), key_count_) < 0;
    });
    return order;
}

int compare_keys(const Value* a, const Value* b, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        const bool na = a[k].is_null();
        const bool nb = b[k].is_null();
        if (na || nb) {
            if (na && nb) continue;
            return na ? 1 : -1;
        }
        if (const int c = compare_values(a[k], b[k]); c != 0) return c;
    }
    return 0;
}

} // namespace conveyor::plugins::groupby
