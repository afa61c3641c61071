#pragma once

// What the queue commands share: reporting an error with its exit code, reading a whole file
// (the pipeline's bytes for its digest, a part's manifest), stop requests from SIGINT/SIGTERM.

#include "conveyor/core/result.hpp"
#include "conveyor/queue/worker.hpp"

#include <memory>
#include <string>

namespace conveyor::cli {

/// The queue a --queue URL names, connected.
struct OpenedQueue {
    queue::QueueUrl url;
    std::unique_ptr<queue::WorkQueue> queue;
};
/// A Usage error for a malformed URL, TempFail when the engine cannot be reached.
Result<OpenedQueue> open_queue_arg(const std::string& text);

/// Prints "conveyor: ERROR" on stderr and returns its exit code (64 usage, 75 unreachable, ...).
int report_error(const Error& e);

Result<std::string> read_text_file(const std::string& path);

/// Loads `pipeline` as chunk 0 of `chunks` would be run, printing its problems (what a sharded
/// run refuses included); 0, or the exit code when it cannot run so (78, 66).
int check_as_chunk(const std::string& pipeline, std::uint32_t chunks);

/// SIGINT and SIGTERM request `stop` (from a thread of its own, not the signal handler) for as
/// long as the object lives, with "SIGINT" or "SIGTERM" as the reason.
class StopOnSignals {
public:
    explicit StopOnSignals(queue::Abandon& stop);
    ~StopOnSignals();
    StopOnSignals(const StopOnSignals&) = delete;
    StopOnSignals& operator=(const StopOnSignals&) = delete;
    /// Puts the handlers back: a pipeline run replaces them with its own while it runs.
    static void install();
};

} // namespace conveyor::cli
