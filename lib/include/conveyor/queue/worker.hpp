#pragma once

// A worker's loop over a WorkQueue: take a chunk, renew its lease on a heartbeat thread while
// the chunk runs, stage the chunk's output under attempt-private names, pass the commit fence,
// commit, acknowledge. What runs a chunk is a ChunkRunner (the CLI's runs the pipeline as shard
// I of N); this loop knows only the queue's protocol.

#include "conveyor/queue/work_queue.hpp"

#include <atomic>
#include <functional>
#include <mutex>

namespace conveyor::queue {

/// A request to give up the chunk in hand (the worker was told to stop, or its lease is gone).
/// Thread-safe: requested from a signal-watching or heartbeat thread, read by the runner.
class Abandon {
public:
    void request(const std::string& why);
    [[nodiscard]] bool requested() const noexcept { return requested_.load(); }
    [[nodiscard]] std::string why() const;
    /// `fn` runs once on the first request (at once when there was one already); it must only
    /// flip flags or post work. Replaces an earlier callback; an empty `fn` removes it.
    void on_request(std::function<void()> fn);

private:
    mutable std::mutex mutex_;
    std::atomic<bool> requested_{false};
    std::string why_;
    std::function<void()> callback_;
};

/// What a worker runs one chunk with.
struct ChunkJob {
    std::string pipeline;
    std::uint32_t chunk = 0;
    std::uint32_t chunks = 1;
    std::string attempt; ///< the delivery's attempt id: part of every name the attempt writes
};

/// What stage() wrote: attempt-private files, none of them final.
struct StagedChunk {
    std::uint32_t chunk = 0;
    std::string attempt;
    std::vector<std::string> files;
};

struct CommitOutcome {
    bool committed = false;   ///< false: the chunk's parts were there already (another attempt)
    std::string committed_by; ///< the attempt whose parts are in place
};

class ChunkRunner {
public:
    virtual ~ChunkRunner() = default;
    /// Runs the chunk, writing only attempt-private files. Returns early with a Cancelled error
    /// once `abandon` is requested. Any other error is the attempt's failure.
    virtual Result<StagedChunk> stage(const ChunkJob& job, Abandon& abandon) = 0;
    /// Moves the staged files to the chunk's part names without ever replacing one: when the
    /// chunk is committed already, leaves those parts, discards its own and says whose they are.
    virtual Result<CommitOutcome> commit(const StagedChunk& staged) = 0;
    /// Removes what stage() wrote.
    virtual void discard(const StagedChunk& staged) noexcept = 0;
};

struct WorkerOptions {
    std::string consumer; ///< unique among the queue's workers (host, pid, a random part)
    /// End when nothing is pending or in flight, instead of waiting for more work.
    bool exit_when_empty = false;
    /// How long an idle worker waits between looks at the queue.
    std::chrono::milliseconds idle_wait{500};
    /// How long the engine may stay unreachable (restarted, failing over) between chunks
    /// before the worker gives up with that error: it tries again meanwhile, 0.5 s after the
    /// first failure, doubling up to 8 s.
    std::chrono::milliseconds engine_outage{60000};
};

struct WorkerReport {
    std::uint32_t committed = 0;
    std::uint32_t already_committed = 0; ///< another attempt's parts were in place
    std::uint32_t lease_lost = 0;        ///< the fence refused: the chunk went to another worker
    std::uint32_t failed = 0;
    std::uint32_t abandoned = 0; ///< given up on a stop request (back to the queue after its lease)
};

/// Takes and runs chunks until `stop` is requested or, with exit_when_empty, the queue has
/// nothing left to hand out. A stop abandons the chunk in hand (its lease runs out and another
/// worker takes it). Between chunks, an engine that cannot be reached (TempFail) is tried
/// again for up to options.engine_outage; any other error reaching the queue, or that one
/// past it, ends the loop with that error.
Result<WorkerReport> run_worker(WorkQueue& queue, ChunkRunner& runner, const WorkerOptions& options,
                                Abandon& stop);

} // namespace conveyor::queue
