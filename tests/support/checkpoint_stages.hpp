#pragma once

// Stages that take part in checkpoints, for executor and plugin tests: a counting source
// resumable at a record count, a pass-through transform, and a sink whose "output" (a vector)
// a resumed run truncates to the checkpoint, as a file sink truncates its temporary file.
// Each reports its count per checkpoint id in a Ledger, so tests can check that every
// checkpoint is a consistent cut.

#include "conveyor/stage/stage.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace conveyor::test {

/// What every stage reported per checkpoint id: records emitted (sources) or taken (sinks).
struct Ledger {
    std::mutex mu;
    std::map<std::string, std::map<std::uint64_t, std::uint64_t>> at;
    void note(const std::string& stage, std::uint64_t id, std::uint64_t n) {
        std::lock_guard lock(mu);
        at[stage][id] = n;
    }
    /// The stage's count at checkpoint `id`: a source that ended before it stands at its end.
    std::uint64_t position(const std::string& stage, std::uint64_t id) {
        std::lock_guard lock(mu);
        auto& m = at[stage];
        if (auto it = m.find(id); it != m.end()) return it->second;
        return m.empty() ? 0 : m.rbegin()->second;
    }
};

/// The output a resumable sink has written (ids of the records taken, in order).
struct Output {
    std::mutex mu;
    std::vector<std::int64_t> rows;
    bool finished = false;             ///< the sink's finish() ran
    std::uint64_t last_checkpoint = 0; ///< the last checkpoint the sink reported its state for
    std::condition_variable changed;
};

/// Records {id: offset + i} for i in [0, count); `*emitted` counts what it emitted (all runs).
struct CountSourceHandle {
    std::shared_ptr<const Stage> stage;
    std::shared_ptr<std::atomic<std::uint64_t>> emitted;
};
CountSourceHandle count_source(std::string name, std::uint64_t count, std::int64_t offset,
                               std::shared_ptr<Ledger> ledger);
/// Passes records on; takes part in checkpoints.
std::shared_ptr<const Stage> pass_stage();
/// Appends column 0 (an integer) of every record to `out`; fails ("crashes") once it has
/// taken `crash_after` records in this run (0: never). Opened with a resume state it keeps the
/// first k rows of `out`; with `reject_resume` it refuses to resume (its output is gone).
/// With `crash_after_finished_of`, the crash waits until that output's sink has finished and
/// this sink has reported its state for that sink's last checkpoint too, so that the crash
/// comes after a checkpoint that has the other sink's whole output.
std::shared_ptr<const Stage>
resumable_sink(std::shared_ptr<Output> out, std::uint64_t crash_after,
               std::shared_ptr<Ledger> ledger, bool reject_resume = false,
               std::shared_ptr<Output> crash_after_finished_of = nullptr);

} // namespace conveyor::test
