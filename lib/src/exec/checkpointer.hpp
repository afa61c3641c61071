#pragma once

// The run's checkpoint coordinator (stage/stage.hpp, Checkpoint): sources ask it when to put a
// checkpoint marker into their output, every source and sync stage reports its state for each
// checkpoint, and once all have reported one it is committed to the run journal.

#include "conveyor/core/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {
class DeadLetterQueue;
class RunContext;
class RunJournal;
} // namespace conveyor

namespace conveyor::exec {

class Checkpointer {
public:
    /// `participants[i]`: stage i reports states (a source or a sink), with its id. Transforms
    /// pass markers on but keep no state that a checkpoint must hold.
    /// Checkpoint ids continue after `last_committed` (the resumed checkpoint's, or 0).
    /// A source puts a marker in its output at most every `interval` records; `source_batch`
    /// is the most records a source emits at once. `dead_letters` (may be null) writes the
    /// entries of each committed checkpoint's records and adds its state to it; when it
    /// cannot, `run` is cancelled with that error (like a sink that cannot write).
    Checkpointer(RunJournal& journal, std::vector<std::optional<std::string>> participants,
                 std::uint64_t interval, std::size_t source_batch, std::uint64_t last_committed,
                 DeadLetterQueue* dead_letters, RunContext& run);

    [[nodiscard]] std::uint64_t last_committed_at_start() const noexcept { return start_; }
    /// Whether stage `node` reports states (a transform only passes markers on).
    [[nodiscard]] bool participates(std::size_t node) const noexcept {
        return participants_[node].has_value();
    }

    /// A source that emitted `since` records after its last marker (whose id was `own`): the
    /// id of the marker to emit now (> own), or 0 for none yet. Markers also follow when
    /// another source has started a checkpoint, so that every source takes part in every one.
    [[nodiscard]] std::uint64_t due(std::uint64_t own, std::uint64_t since);
    /// A source has ended (or stopped) after marker `own`: the id of the last marker to put
    /// after its records (> own), so that the run has a checkpoint after everything it read;
    /// 0 when no more checkpoints are taken.
    [[nodiscard]] std::uint64_t due_at_end(std::uint64_t own);
    /// Whether checkpoint `id` should be durable (about once a second; the first to ask decides).
    [[nodiscard]] bool durable(std::uint64_t id);

    /// Stage `node`'s state at checkpoint `id`.
    void report(std::size_t node, std::uint64_t id, std::string state);
    /// Stage `node` is done. A source passes `final_state` (its position at the end), which
    /// stands for every later checkpoint. A sink passes none: a checkpoint it did not report
    /// never completes, since a marker it never got means that records before it did not
    /// reach the sink (a stage stopped by a signal left them out), and its output is only
    /// committed with the run's (FinishedOutputs), so a resume never leaves it alone.
    void finished(std::size_t node, std::optional<std::string> final_state);
    /// No more checkpoints this run (a stage failed under strategy = "continue"; writing the
    /// journal failed).
    void disable();

    [[nodiscard]] std::uint64_t committed() const;

private:
    /// Commits every checkpoint now complete, in order (drops the lock while writing).
    void commit_ready(std::unique_lock<std::mutex>& lock);

    struct Participant {
        std::string stage;
        bool done = false;
        std::optional<std::string> final_state; ///< a source's, standing for later checkpoints
    };

    RunJournal& journal_;
    DeadLetterQueue* dead_letters_;
    RunContext& run_;
    std::vector<std::optional<Participant>> participants_;
    std::uint64_t interval_;
    std::size_t source_batch_;
    std::uint64_t start_;

    mutable std::mutex mu_;
    bool disabled_ = false;
    bool committing_ = false;
    std::uint64_t requested_ = 0; ///< highest id a source has started
    std::uint64_t committed_ = 0; ///< highest id committed
    /// Per pending checkpoint id: the states reported so far, per stage.
    std::map<std::uint64_t, std::vector<std::optional<std::string>>> pending_;
    std::map<std::uint64_t, bool> durable_;
    std::chrono::steady_clock::time_point last_durable_{};
};

} // namespace conveyor::exec
