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

namespace conveyor {

class OutputFile;

/// The run journal behind `conveyor run --resume`: work that is expensive or must not be done
/// twice (an http.fetch response) is recorded as it finishes, keyed by what was asked (a
/// request's fingerprint). Each entry is written at once, so a killed process loses nothing it
/// recorded, and fsynced every `[global] checkpoint_interval` entries, so a machine crash loses
/// at most that many. A resumed run goes through the pipeline again: it re-reads its (local)
/// inputs, rewrites its outputs from scratch (all or nothing, as always) and takes every
/// recorded result from the journal instead of doing the work again, so its output is the one
/// an uninterrupted run gives and only the work in flight at the crash is repeated.
///
/// Lives in `<state_dir>/<pipeline>.journal/`; created on the first entry (runs that record
/// nothing leave nothing behind) and removed when the run completes. The journal remembers the
/// pipeline file and the input files it was made for; if any changed, --resume says so and
/// starts afresh. Thread-safe.
class RunJournal {
public:
    enum class Mode : std::uint8_t {
        Fresh,  ///< discard an earlier journal (`--fresh`, and the default)
        Resume, ///< use an earlier unfinished run's journal when it still applies
    };

    /// `note` receives what happened to an earlier journal, for the log (may stay empty).
    static Result<std::unique_ptr<RunJournal>> open(const PipelineSpec& pipeline, Mode mode,
                                                    std::string* note);
    ~RunJournal();

    /// A result recorded for `key` by stage `stage` (in this run or the resumed one).
    [[nodiscard]] std::optional<std::string> lookup(std::string_view stage, std::string_view key) const;
    /// Records a result (any text without newlines, e.g. compact JSON).
    Status record(std::string_view stage, std::string_view key, std::string_view result);
    /// Results taken from an earlier run so far.
    [[nodiscard]] std::uint64_t reused() const;
    /// Results available from the earlier run when this one started.
    [[nodiscard]] std::uint64_t loaded() const noexcept { return loaded_; }
    /// The run completed: the journal is removed.
    void complete();

    [[nodiscard]] const std::string& directory() const noexcept { return dir_; }

    /// A stable 128-bit fingerprint (hex) of `text`, for keys.
    static std::string fingerprint(std::string_view text);

private:
    RunJournal() = default;
    Status ensure_open();

    mutable std::mutex mu_;
    std::string dir_;
    std::string meta_; ///< what the journal is for (pipeline + inputs)
    std::uint64_t interval_ = 1000;
    std::unordered_map<std::string, std::string> entries_; ///< "stage\x1fkey" -> result
    std::uint64_t loaded_ = 0;
    mutable std::uint64_t reused_ = 0;
    std::uint64_t since_sync_ = 0;
    int fd_ = -1;
};

} // namespace conveyor
