#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/result.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace conveyor {

class OutputFile;

/// Whether a sink of `pipeline` commits at checkpoints (a database table): what it committed
/// stays in its table when the run fails or is killed.
[[nodiscard]] bool commits_at_checkpoints(const PipelineSpec& pipeline);

/// The run journal behind `conveyor run --resume`. It holds two things:
///
/// - Results of work that is expensive or must not be done twice (an http.fetch response),
///   recorded as it finishes, keyed by what was asked (a request's fingerprint). Each entry is
///   written at once, so a killed process loses nothing it recorded, and fsynced every
///   `[global] checkpoint_interval` entries, so a machine crash loses at most that many.
/// - Checkpoints (stage/stage.hpp, Checkpoint): every stage's state at a consistent cut, each
///   committed in one write once every stage has reported it, and which sinks had finished
///   their output. A killed run resumes from its last checkpoint: sources continue after their
///   positions, sinks carry on writing the output they had.
///
/// A batch run stopped by a signal keeps its checkpoints (its outputs were rolled back, the
/// files its last checkpoint names kept): a resume carries on from there. A resumed run without
/// a usable checkpoint (its stages do not all take part, or the run failed, which rolls its
/// outputs back, or was stopped in streaming mode, which commits them) goes through the
/// pipeline again from the start, taking every recorded result from the journal
/// instead of doing the work again; either way its output is the one an uninterrupted run
/// gives.
///
/// Lives in `<state_dir>/<stem>.journal/`; created on the first entry (runs that record
/// nothing leave nothing behind) and removed when the run completes. The journal remembers the
/// pipeline file and the input files it was made for; if any changed, --resume says so and
/// starts afresh. One run owns it at a time (an flock on `<stem>.journal.lock` beside
/// it): a run of the same pipeline overlapping a running one keeps no journal (and so takes
/// no checkpoints) and never touches the other's. Thread-safe.
class RunJournal {
public:
    enum class Mode : std::uint8_t {
        Fresh, ///< discard an earlier journal (`--fresh`)
        /// The default: discard an earlier journal, unless it still applies and its run's
        /// database sinks committed rows at its checkpoints (only --resume can go on from
        /// those rows; a run from the start would append them again).
        Start,
        Resume, ///< use an earlier unfinished run's journal when it still applies
    };

    /// `note` receives what happened to an earlier journal, for the log (may stay empty).
    /// Resume fails (TempFail) while the run to resume is still running; Start fails (Config)
    /// where it keeps the earlier journal.
    static Result<std::unique_ptr<RunJournal>> open(const PipelineSpec& pipeline, Mode mode,
                                                    std::string* note);

    /// False when another run of the pipeline, still running, owns the journal: this run
    /// records nothing (record() and the checkpoint calls do nothing).
    [[nodiscard]] bool usable() const;
    ~RunJournal();

    /// A result recorded for `key` by stage `stage` (in this run or the resumed one).
    [[nodiscard]] std::optional<std::string> lookup(std::string_view stage,
                                                    std::string_view key) const;
    /// Records a result (any text without newlines, e.g. compact JSON).
    Status record(std::string_view stage, std::string_view key, std::string_view result);
    /// Results taken from an earlier run so far.
    [[nodiscard]] std::uint64_t reused() const;
    /// Results available from the earlier run when this one started.
    [[nodiscard]] std::uint64_t loaded() const noexcept { return loaded_; }
    /// The run completed: the journal is removed.
    void complete();

    [[nodiscard]] const std::string& directory() const noexcept { return dir_; }

    /// The last checkpoint the interrupted run committed (Resume mode); nullopt when none.
    struct CommittedCheckpoint {
        std::uint64_t id = 0;
        std::unordered_map<std::string, std::string> states; ///< stage id -> state
    };
    [[nodiscard]] const std::optional<CommittedCheckpoint>& resumed_checkpoint() const noexcept {
        return resumed_;
    }
    /// Whether `stage` finished its output (a sink committed its file) in the interrupted run.
    [[nodiscard]] bool finished_before(std::string_view stage) const;
    /// Forgets the interrupted run's checkpoint (its outputs cannot be carried on): a resume
    /// starts from the beginning, still reusing recorded results.
    void forget_resumed_checkpoint();

    /// Commits checkpoint `id` with each stage's state (one write; fdatasync when `durable`).
    Status commit_checkpoint(std::uint64_t id,
                             const std::vector<std::pair<std::string, std::string>>& states,
                             bool durable);
    /// `stage` committed its output: a resume leaves it alone. (Runs no longer record this:
    /// outputs are committed together when the run ends, FinishedOutputs; journals that hold
    /// it are still honoured.)
    Status record_finished(std::string_view stage);
    /// Drops every checkpoint of this run (it failed, or was stopped in streaming mode: its
    /// outputs were rolled back or committed, so there is nothing to carry on); recorded
    /// results stay.
    void discard_checkpoints();

    /// A stable 128-bit fingerprint (hex) of `text`, for keys.
    static std::string fingerprint(std::string_view text);

private:
    RunJournal() = default;
    Status ensure_open();
    /// Takes the journal's lock (creating the state directory); false when another live run
    /// holds it.
    Result<bool> lock();
    Status ensure_checkpoints_open();
    void load_checkpoints();

    mutable std::mutex mu_;
    std::string dir_;
    std::string meta_; ///< what the journal is for (pipeline + inputs)
    std::uint64_t interval_ = 1000;
    std::unordered_map<std::string, std::string> entries_; ///< "stage\x1fkey" -> result
    std::uint64_t loaded_ = 0;
    mutable std::uint64_t reused_ = 0;
    std::uint64_t since_sync_ = 0;
    int fd_ = -1;
    int checkpoints_fd_ = -1;
    int lock_fd_ = -1;  ///< held while this run owns the journal
    bool busy_ = false; ///< another running run owns it: record nothing
    std::optional<CommittedCheckpoint> resumed_;
    std::vector<std::string> finished_; ///< stages finished in the interrupted run
};

} // namespace conveyor
