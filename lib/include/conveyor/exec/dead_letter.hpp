#pragma once

#include "conveyor/core/error.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace conveyor {

class OutputFile;
class RunContext;

/// `[error_handling] dead_letter_queue`: an NDJSON file with one line per record a stage
/// gave up on, so nothing is lost silently:
///   {"stage":"fetch","error":{"kind":"temporary","message":"..."},"attempts":4,
///    "timestamp":"2026-11-23T14:08:12.123Z","where":"users.csv:17","record":{...}}
/// Input that could not be parsed into a record carries `"raw":"<the text>"` instead. What JSON
/// text would change follows: `"unquoted_empty":["f"]` names the fields that were bare empty
/// strings (core/bare_empty.hpp), `"bytes":{"f":"636166e9"}` gives in hex the fields whose text
/// is not UTF-8 (shown with U+FFFD in the record), `"raw_bytes":"..."` the same for raw text;
/// `conveyor replay` puts them back.
/// Written like every other output: a temporary file renamed into place when the run ends
/// (commit), so a killed run leaves no partial file. Dead letters that cannot be written (a
/// full disk) fail the run whatever the stages' strategy: add() cancels the run, and
/// run_pipeline commits no output when commit() fails. Thread-safe.
///
/// Checkpoints: the queue takes part like a sink. An entry carries its record's epoch (the last
/// checkpoint its stage had passed, StageErrors::checkpoint_epoch); while the run takes
/// checkpoints, entries wait in memory until the checkpoint after their record is committed
/// (checkpoint()), so the file at a checkpoint holds exactly the entries of the records before
/// it. A resumed run adopts that file (open() with the state) and the records after the
/// checkpoint, processed again, add their entries once.
class DeadLetterQueue {
public:
    /// The name its state has in a checkpoint (not a valid stage id).
    static constexpr std::string_view kCheckpointName = "[dead letters]";

    ~DeadLetterQueue();
    /// `resume`: the state checkpoint() returned in the interrupted run.
    static Result<std::unique_ptr<DeadLetterQueue>>
    open(const std::string& path, RunContext* run,
         const std::optional<std::string>& resume = std::nullopt);

    /// Appends one failed record (`row` laid out as `schema`). A failure to write cancels the
    /// run (`run` given to open()) with the error, which names the file.
    Status add(std::string_view stage, const Schema& schema, std::span<const Value> row,
               const Error& error, std::uint32_t attempts, std::uint64_t epoch = 0);
    /// Appends input that never became a record: `"raw": "<text>"` instead of `"record"`.
    Status add_raw(std::string_view stage, std::string_view raw, const Error& error,
                   std::uint64_t epoch = 0);
    [[nodiscard]] std::uint64_t count() const;
    /// The run takes checkpoints: entries wait for the checkpoint after their record.
    void keep_back_for_checkpoints();
    /// Checkpoint `id` is being committed: writes the entries of the records before it (epoch
    /// below `id`) and returns the state open() continues from.
    Result<std::string> checkpoint(std::uint64_t id, bool durable);
    /// Writes the entries still held back and commits the file (OutputFile::commit(): renamed
    /// now, or handed to the run's FinishedOutputs while it defers). Called by run_pipeline once
    /// every stage has ended, when the run commits its outputs or keeps them for --resume;
    /// otherwise the queue is destroyed uncommitted and its file deleted.
    Status commit();
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    DeadLetterQueue() = default;
    void begin_entry(std::string_view stage, const Error& error, std::uint32_t attempts);
    Status put_locked(std::uint64_t epoch);
    /// Cancels the run when `s` is a failure; returns `s`.
    Status failed(Status s);
    mutable std::mutex mu_;
    std::unique_ptr<OutputFile> out_;
    RunContext* run_ = nullptr;
    std::string path_;
    std::string buf_;
    std::uint64_t count_ = 0;
    bool keep_back_ = false;
    std::deque<std::pair<std::uint64_t, std::string>> waiting_; ///< (epoch, entry line)
};

} // namespace conveyor
