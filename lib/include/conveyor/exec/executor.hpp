#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/result.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {

class BatchObserver;
class MetricsRegistry;
class RunContext;

struct RunOptions {
    /// Where per-stage counters go; a private registry is used when null.
    MetricsRegistry* metrics = nullptr;
    /// Handle SIGINT/SIGTERM/SIGHUP (graceful stop, second signal aborts). The CLI sets this.
    bool handle_signals = false;
    /// Sees every batch leaving the stages it observes, before it moves downstream
    /// (`--tap`, `--keep-intermediate`; obs/batch_observer.hpp). Null: nothing is observed.
    BatchObserver* observer = nullptr;
};

/// How one stage ended.
struct StageOutcome {
    std::string id;
    bool failed = false;
    std::optional<Error> error;
    /// Records left out because they could not be processed (continue strategy).
    std::uint64_t failed_records = 0;
};

/// How a run ended. exit_code() turns it into the documented process exit code.
struct RunReport {
    /// The error that stopped the run (stop strategy, timeout, cancellation); ok otherwise.
    Status status;
    std::vector<StageOutcome> stages;
    /// Under `strategy = "continue"`: the run completed but some stages or records failed.
    bool completed_with_failures = false;
    /// SIGINT, SIGTERM or SIGHUP if the run was interrupted by one (0 otherwise).
    int signal = 0;
    /// A batch run was stopped (signal): its outputs were rolled back, none was committed.
    bool stopped_batch = false;
    /// Stopped in batch mode after a checkpoint, or failed after a database sink committed
    /// one: the run journal holds it and the files it names were kept, so `conveyor run
    /// --resume` carries the run on from there.
    bool resumable = false;
    std::chrono::nanoseconds wall{0};

    [[nodiscard]] int exit_code() const noexcept;
};

/// "SIGINT", "SIGTERM" or "SIGHUP" (the signals a run stops on); "signal N" for others.
[[nodiscard]] std::string signal_name(int signal);

/// Runs a validated pipeline to completion with the executor it names (`[global] executor`).
/// Blocks the calling thread; stages run on the run's own threads.
RunReport run_pipeline(const PipelineSpec& pipeline, RunContext& run,
                       const RunOptions& options = {});

} // namespace conveyor
