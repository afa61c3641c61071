#pragma once

#include "conveyor/core/error.hpp"
#include "conveyor/core/result.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace conveyor {

class Runtime;         // exec/runtime.hpp: the Asio execution contexts of a run
class WorkPool;        // core/work_pool.hpp
class DeadLetterQueue; // exec/dead_letter.hpp
class RunJournal;      // exec/journal.hpp

namespace net {
class Clock; // net/clock.hpp
}

/// Paths of temporary output files currently being written, so that an immediate abort (second
/// signal, kill by timeout) can delete them before the process exits, and the directories the
/// run created for its outputs, so that a run that fails leaves none of them behind.
/// Thread-safe.
class TempFiles {
public:
    void add(const std::string& path);
    void remove(const std::string& path);
    /// Unlinks every registered file, then removes the directories (remove_directories());
    /// safe to call from any thread, more than once.
    void remove_all() noexcept;

    /// `dir` did not exist before this run created it for an output.
    void add_directory(const std::string& dir);
    /// Removes the directories added, deepest first, each only if it is empty (a file the run
    /// committed, kept for `--resume` or that someone else put there keeps it, and its
    /// parents), and forgets them.
    void remove_directories() noexcept;
    /// Forgets the directories added: they stay (the run committed, or keeps its files for
    /// `--resume`).
    void keep_directories() noexcept;

private:
    std::mutex mu_;
    std::unordered_set<std::string> paths_;
    std::vector<std::string> dirs_;
};

/// Output files their stage has finished (every byte written, fsynced, closed) that are not in
/// place yet. While a run's stages run (run_pipeline), OutputFile::commit() hands its rename
/// over to this list instead of renaming, so that a run commits all of its outputs or none:
/// once every stage has ended, run_pipeline calls commit_all() if the run ended well, and
/// roll_back() if it failed, was cancelled or was stopped in batch mode. Until then each file
/// stays a temporary file beside its target, registered in TempFiles (an abort deletes it).
/// Thread-safe.
class FinishedOutputs {
public:
    /// Whether OutputFile::commit() hands its rename over to this list.
    [[nodiscard]] bool deferring() const noexcept {
        return deferring_.load(std::memory_order_acquire);
    }
    void set_deferring(bool on) noexcept { deferring_.store(on, std::memory_order_release); }

    /// `temp` is complete and durable (or, with `needs_sync`, complete: commit_all() makes it
    /// durable); renaming it over `target` commits it.
    void add(std::string temp, std::string target, bool needs_sync = false);
    /// Makes the files that need it durable (one syncfs per file system), moves every file
    /// into place in the order added, then fsyncs each directory once. At the first failure
    /// the files not yet moved are deleted, so are the directories the run created that are
    /// left empty, and the error names the target; otherwise those directories stay.
    Status commit_all(TempFiles& temp_files);
    /// Makes the files added so far that need it durable now (a checkpoint that names them:
    /// one syncfs per file system), instead of at commit_all().
    Status make_durable();
    /// Deletes every file and the empty directories the run created for its outputs
    /// (TempFiles::remove_directories()), or with `keep` leaves them where they are (a
    /// checkpoint of the run names them: `--resume` takes them up again).
    void roll_back(TempFiles& temp_files, bool keep) noexcept;
    [[nodiscard]] std::size_t size() const;

private:
    struct Entry {
        std::string temp;
        std::string target;
        bool needs_sync = false;
    };
    /// syncfs once per file system of the entries that need it; they need it no more.
    static Status sync_file_systems(std::vector<Entry>& entries);
    std::atomic<bool> deferring_{false};
    mutable std::mutex mu_;
    std::vector<Entry> entries_;
};

/// Run-wide state shared by the executor and the stages: graceful stop, fatal cancellation,
/// temporary files and the standard streams. One per run; owned by the caller of the executor.
class RunContext {
public:
    RunContext();
    ~RunContext();
    RunContext(const RunContext&) = delete;
    RunContext& operator=(const RunContext&) = delete;

    /// Graceful stop (first SIGINT/SIGTERM): sources end as if at end of input, records in
    /// flight drain, sinks finish. In batch mode run_pipeline then rolls the outputs back
    /// (FinishedOutputs) and keeps what `--resume` needs; in streaming mode it commits what
    /// arrived. Thread-safe, idempotent.
    void request_stop() noexcept;
    [[nodiscard]] bool stop_requested() const noexcept {
        return stop_.load(std::memory_order_relaxed);
    }

    /// Fatal cancellation: every stage abandons its work and sinks roll back. The first reason
    /// wins. Runs the on_cancel callbacks. Thread-safe, idempotent.
    void cancel(Error reason) noexcept;
    [[nodiscard]] bool cancelled() const noexcept {
        return cancelled_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::optional<Error> cancel_reason() const;

    /// Becomes readable once stop or cancel is requested; blocking reads poll() it together
    /// with their file descriptor so that they can be interrupted.
    [[nodiscard]] int interrupt_fd() const noexcept { return interrupt_fd_; }

    using CallbackId = std::uint64_t;
    /// Registers `fn` to run once when the run is cancelled (immediately if it already is).
    /// It runs on the cancelling thread and must only post work or flip flags.
    CallbackId on_cancel(std::function<void()> fn);
    /// Unregisters a callback. If cancel() is running the callbacks on another thread, waits
    /// until they are done: what a callback refers to may go away once this returns.
    void remove_on_cancel(CallbackId id);

    TempFiles& temp_files() noexcept { return temp_files_; }
    FinishedOutputs& finished_outputs() noexcept { return finished_outputs_; }

    /// The process's standard streams by default; tests substitute pipes.
    int stdin_fd = 0;
    int stdout_fd = 1;

    /// The execution contexts of the run (set by the executor before stages open).
    Runtime* runtime = nullptr;
    /// The run's worker threads, for stages that split CPU work into pieces (set with
    /// `runtime`; nullptr outside a run: such a stage then does the work itself).
    WorkPool* work_pool = nullptr;

    /// Uniform numbers in [0, 1) for retry jitter; tests replace it with a fixed sequence.
    std::function<double()> uniform01;
    /// Called before every retry wait with the stage and the delay chosen (tests record them).
    std::function<void(std::string_view stage, std::chrono::milliseconds delay)> on_backoff;

    /// How stages that wait on their own (http.fetch: retry backoff, Retry-After, rate limit)
    /// tell the time and draw their backoff jitter. Where a member is empty (always, outside
    /// tests) each stage run uses the real steady clock, or a random source of its own. Tests
    /// give virtual time and a fixed jitter, and read the delays asked for instead of sleeping.
    struct StageTime {
        /// Makes the clock of one stage run. Called on the run's executor (strand), the only
        /// one that then uses the clock.
        std::function<std::unique_ptr<net::Clock>()> make_clock;
        /// A uniform integer in [0, max_inclusive] (net::UniformRandom). Called from stage
        /// runs' executors, several of which may run at once.
        std::function<std::uint64_t(std::uint64_t max_inclusive)> random;
    };
    StageTime stage_time;

    /// Waits up to `d` on the calling thread, returning early (false) when a stop or a
    /// cancellation is requested. Not for I/O threads.
    bool wait_for(std::chrono::milliseconds d) const;

    /// Results of finished work (http.fetch responses) recorded for `--resume`; nullptr when
    /// the run keeps no journal.
    RunJournal* journal = nullptr;

    /// Where stages send records they give up on; nullptr unless
    /// `[error_handling] dead_letter_queue` is enabled (set by the executor).
    DeadLetterQueue* dead_letters = nullptr;

private:
    void wake() noexcept;

    std::atomic<bool> stop_{false};
    std::atomic<bool> cancelled_{false};
    int interrupt_fd_ = -1;
    mutable std::mutex mu_;
    std::optional<Error> reason_;
    std::unordered_map<CallbackId, std::function<void()>> callbacks_;
    std::condition_variable callbacks_done_;
    bool running_callbacks_ = false;
    std::thread::id cancelling_thread_;
    CallbackId next_id_ = 1;
    TempFiles temp_files_;
    FinishedOutputs finished_outputs_;
};

} // namespace conveyor
