#pragma once

// The record gather.apply emits for one input record: its branches' answers nested under the
// branch names (merge = "nest") or in one record (merge = "flat", earlier branches by priority
// winning a clash), plus the optional report of which branches arrived, failed, timed out.

#include "conveyor/core/batch.hpp"
#include "gather_policy.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace conveyor::plugins::gather {

enum class MergeMode : std::uint8_t { Nest, Flat };

/// A record some input brought: row `row` of `batch` (null: none).
struct Held {
    std::shared_ptr<Batch> batch;
    std::uint32_t row = 0;
    [[nodiscard]] explicit operator bool() const noexcept { return batch != nullptr; }
};

struct MergeSpec {
    MergeMode mode = MergeMode::Nest;
    /// Per branch, the name it goes by (its entry in `inputs`): the field it nests under, the
    /// names the report lists. Shared with the batches that point at them.
    std::shared_ptr<const std::vector<std::string>> names;
    std::vector<std::size_t> order; ///< branch indexes by precedence (flat: earlier wins)
    std::optional<std::string> report_field;
    bool report_chosen = false; ///< policy = "priority": the report names the branch chosen
};

/// Builds the output batches, a record at a time. One per run.
class Merger {
public:
    Merger(MergeSpec spec, std::size_t batch_rows);

    /// Appends the record made of `answers` (one per branch; empty ones left out) with the
    /// report of `states`; `chosen` is the branch Policy::Priority picked (or npos).
    void add(std::span<const Held> answers, std::span<const BranchState> states,
             std::size_t chosen);
    /// The batches made so far (the last one too, unfinished as it may be).
    std::vector<Batch> take();
    [[nodiscard]] bool empty() const noexcept { return done_.empty() && !current_; }

private:
    struct FlatLayout {
        SchemaRef schema;
        /// Per output field: (branch, column) pairs in precedence order; the first present
        /// value wins.
        std::vector<std::vector<std::pair<std::size_t, std::size_t>>> sources;
    };
    const FlatLayout& flat_layout(std::span<const Held> answers);
    Batch& batch_for(const SchemaRef& schema);
    void share(Batch& out, const Held& h);
    Value nested(Batch& out, const Held& h);
    Value report(Batch& out, std::span<const BranchState> states, std::size_t chosen);

    MergeSpec spec_;
    std::size_t batch_rows_;
    SchemaRef nest_schema_;
    std::map<std::vector<SchemaRef>, FlatLayout> flat_;
    // Scratch reused for every record: the flat layout's lookup key, the row being built.
    std::vector<SchemaRef> key_;
    std::vector<Value> values_;
    std::optional<Batch> current_;
    std::vector<const void*> shared_; ///< storages and schemas `current_` already co-owns
    std::vector<Batch> done_;
};

} // namespace conveyor::plugins::gather
