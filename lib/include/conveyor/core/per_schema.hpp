#pragma once

#include "conveyor/core/schema.hpp"

#include <utility>
#include <vector>

namespace conveyor {

/// Caches something computed per input schema (a column index, a remapping), keyed by the
/// schema pointer: batches from one source share their schema object, so the lookup is one
/// pointer comparison per batch. Holds the schemas it has seen, so pointers stay unique.
template <class T>
class PerSchema {
public:
    template <class Compute>
    T& get(const SchemaRef& schema, Compute&& compute) {
        if (last_ < entries_.size() && entries_[last_].first == schema)
            return entries_[last_].second;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (entries_[i].first == schema) {
                last_ = i;
                return entries_[i].second;
            }
        }
        entries_.emplace_back(schema, compute(*schema));
        last_ = entries_.size() - 1;
        return entries_.back().second;
    }

private:
    std::vector<std::pair<SchemaRef, T>> entries_;
    std::size_t last_ = 0;
};

} // namespace conveyor
