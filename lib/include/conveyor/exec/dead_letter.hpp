#pragma once

#include "conveyor/core/error.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace conveyor {

class OutputFile;
class RunContext;

/// `[error_handling] dead_letter_queue`: an NDJSON file with one line per record a stage
/// gave up on, so nothing is lost silently:
///   {"stage":"fetch","error":{"kind":"temporary","message":"..."},"attempts":4,
///    "timestamp":"2026-11-23T14:08:12.123Z","where":"users.csv:17","record":{...}}
/// Input that could not be parsed into a record carries `"raw":"<the text>"` instead.
/// Written like every other output: a temporary file renamed into place when the run ends
/// (commit), so a killed run leaves no partial file. Thread-safe.
class DeadLetterQueue {
public:
    ~DeadLetterQueue();
    static Result<std::unique_ptr<DeadLetterQueue>> open(const std::string& path, RunContext* run);

    /// Appends one failed record (`row` laid out as `schema`).
    Status add(std::string_view stage, const Schema& schema, std::span<const Value> row,
               const Error& error, std::uint32_t attempts);
    /// Appends input that never became a record: `"raw": "<text>"` instead of `"record"`.
    Status add_raw(std::string_view stage, std::string_view raw, const Error& error);
    [[nodiscard]] std::uint64_t count() const;
    /// Makes the file visible (called once the run has ended, whatever its outcome).
    Status commit();
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    DeadLetterQueue() = default;
    void begin_entry(std::string_view stage, const Error& error, std::uint32_t attempts);
    mutable std::mutex mu_;
    std::unique_ptr<OutputFile> out_;
    std::string path_;
    std::string buf_;
    std::uint64_t count_ = 0;
};

} // namespace conveyor
