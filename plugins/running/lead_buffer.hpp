#pragma once

// running.apply's records waiting for their leads. A record waits until the record `offset`
// ahead in its partition has come (or the input ends), and the records after it wait with it,
// since output keeps input order. The waiting records are held in memory up to the stage's
// budget (its share of [global] memory_limit); beyond it the batches held are written, in
// order, to a spill file (exec/spill.hpp) and read back when their turn comes. Lead values
// that arrive for a spilled record stay in memory (one value per record and lead operation,
// text in the spill segment's arena) and are joined back when the record is read back.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/expr/operand.hpp"
#include "running_spec.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace conveyor {
struct OpenContext;
struct StageMetrics;
} // namespace conveyor

namespace conveyor::plugins::running {

/// Records whose waits are over, in input order, with their lead values (records x
/// operations) pointing into storage the batch keeps alive.
struct ReadyRecords {
    Batch batch;
    std::vector<Value> leads;
};

class LeadBuffer {
public:
    LeadBuffer(const RunningSpec& spec, const OpenContext& ctx);

    /// Holds `batch` and gives the records waiting in each partition the values of its rows.
    void hold(Batch&& batch);
    /// Moves the held records from the first one on that wait for nothing (at the end of the
    /// input: all of them; the leads still missing have no record that far ahead and stay
    /// null) to `out`, at most `max_batches` batches (records read back from a spill file
    /// come at most batch_size at a time). False when none could go.
    Result<bool> take_ready(bool at_end, std::vector<ReadyRecords>& out, std::size_t max_batches);
    /// Writes the batches held in memory to a spill file when the held records are over the
    /// budget.
    Status spill_if_over();
    [[nodiscard]] bool empty() const noexcept { return held_.empty() && segments_.empty(); }
    /// Removes the spill files (a failed or stopped run).
    void abort() noexcept;

private:
    /// Records written to one spill file, in order, numbered from `first`.
    struct Segment {
        std::string path;
        std::uint64_t first = 0;
        std::uint64_t count = 0;
        std::uint64_t read = 0; ///< records read back so far
        /// The text of the lead values of its records (they outlive the batches they came in).
        std::shared_ptr<Arena> arena;
        std::uint64_t arena_bytes = 0;
        std::unique_ptr<spill::RunReader> reader;
    };

    /// Record `record` (held) gets `v` as lead `o`.
    void complete(std::uint64_t record, std::size_t o, const Value& v);
    /// How many held records from the first one on may go (at most `most`).
    [[nodiscard]] std::size_t ready_count(bool at_end, std::size_t most) const;
    /// Takes `ready` records off the front of the per-record lead values and waits.
    std::vector<Value> take_leads(std::size_t ready);
    Result<bool> take_held(bool at_end, std::vector<ReadyRecords>& out);
    Result<bool> take_spilled(bool at_end, std::vector<ReadyRecords>& out);
    /// Reads the next `count` records of `seg` back into batches appended to `batches`.
    Status read_back(Segment& seg, std::size_t count, std::vector<Batch>& batches);
    [[nodiscard]] std::uint64_t held_bytes() const noexcept;

    const RunningSpec& spec_;
    expr::OperandReader reader_;
    std::string stage_;
    std::size_t batch_size_;
    std::uint64_t budget_;
    StageMetrics* metrics_;
    spill::Files files_;
    std::string key_;
    std::vector<Value> values_;

    // The records from the first one still waiting for a lead on, numbered in input order
    // from 0: the older ones in spill files (segments_), the newer ones in memory (held_,
    // with the number of each batch's first record and the bytes it holds); per record, its
    // lead values (records x operations) and how many leads it still waits for; per
    // partition and operation, the records waiting.
    std::deque<Segment> segments_;
    std::deque<Batch> held_;
    std::deque<std::uint64_t> held_starts_;
    std::deque<std::uint64_t> held_sizes_;
    std::uint64_t held_batch_bytes_ = 0;
    std::uint64_t segment_bytes_ = 0; ///< the segments' arenas
    std::deque<Value> leads_;
    std::deque<std::uint32_t> waits_;
    std::uint64_t first_record_ = 0; ///< the first held record's number
    std::uint64_t next_record_ = 0;
    std::unordered_map<std::string, std::vector<std::deque<std::uint64_t>>> waiting_;
    std::uint64_t waiting_count_ = 0;
    /// The schema of the records last held or read back: records read back with the same
    /// fields get the same schema object (downstream caches stay small).
    spill::RowShaper shaper_;
    bool spilled_ = false;
};

} // namespace conveyor::plugins::running
