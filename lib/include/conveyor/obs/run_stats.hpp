#pragma once

// A plain snapshot of a run's counters, taken during the run (progress, /metrics) or at its end
// (summary table, --stats-json, --metrics-textfile): every exporter renders the same numbers.

#include "conveyor/obs/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::obs {

/// What is known of a run before it starts.
struct RunDescription {
    struct Stage {
        std::string id;
        std::string function;
        bool source = false;
        bool sink = false;
        std::vector<std::string> named_outputs; ///< Stage::named_outputs, in order
    };
    std::string pipeline;
    std::string file;
    std::string executor;
    std::vector<Stage> stages; ///< file order
    std::chrono::system_clock::time_point started_at;
    std::int64_t started_ns = 0; ///< steady clock, as StageMetrics::now_ns()
};

struct StageStats {
    std::string id;
    std::string function;
    bool source = false;
    bool sink = false;
    StageState state = StageState::Pending;
    std::uint64_t records_in = 0;
    std::uint64_t records_out = 0;
    std::uint64_t records_read = 0;
    std::uint64_t records_filtered = 0;
    std::uint64_t records_failed = 0;
    std::uint64_t records_dead_lettered = 0;
    std::uint64_t records_dropped = 0;
    std::uint64_t records_nulled = 0; ///< StageMetrics::records_nulled (part of records_out)
    /// Why records failed: StageMetrics::first_errors() at the time of the snapshot.
    std::vector<FirstErrors::Entry> first_errors;
    /// StageMetrics::warnings(): doubts about the run as a whole, for the end of the summary.
    std::vector<FirstErrors::Entry> warnings;
    std::uint64_t records_spilled = 0; ///< StageMetrics::records_spilled
    std::uint64_t retries = 0;
    std::uint64_t batches_in = 0;
    std::uint64_t batches_out = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t bytes_total = 0; ///< a source's input size; 0 = unknown
    std::uint64_t queued_records = 0;
    std::uint64_t queue_capacity = 0;
    /// Records sent to each named output (route.apply's routes), in declaration order.
    std::vector<std::pair<std::string, std::uint64_t>> named_outputs;
    /// Counters the stage shows in the summary (ShownIn::Summary): per label value, its count
    /// (gather.apply: complete, partial, failed, timed_out).
    std::vector<std::pair<std::string, std::uint64_t>> outcomes;
    double busy_seconds = 0;   ///< time spent in the stage's own code
    double active_seconds = 0; ///< from its start to its end (or now)
    std::optional<std::string> error;

    std::uint64_t records_pending = 0; ///< StageMetrics::records_pending

    /// Records a source produced, else records the stage finished: received and no longer
    /// waiting inside it (http.fetch takes records long before their responses come).
    [[nodiscard]] std::uint64_t records_handled() const noexcept {
        if (source) return records_out;
        return records_in > records_pending ? records_in - records_pending : 0;
    }
    /// records_handled() per active second (0 before the stage ran).
    [[nodiscard]] double records_per_second() const noexcept {
        return active_seconds > 0 ? static_cast<double>(records_handled()) / active_seconds : 0;
    }
};

struct RunStats {
    std::string pipeline;
    std::string file;
    std::string executor;
    std::chrono::system_clock::time_point started_at;
    double wall_seconds = 0;
    bool finished = false;
    int exit_code = 0; ///< meaningful once finished
    /// "running", then "ok" | "failed" | "completed_with_failures" | "interrupted".
    std::string status = "running";
    std::optional<std::string> error;
    std::vector<StageStats> stages; ///< file order
};

/// A snapshot while the run goes on. Stages the executor has not registered yet read as zero.
/// (A pipeline's description and its final numbers come from exec/run_stats_of.hpp: obs
/// knows neither pipelines nor executors.)
RunStats collect_stats(const RunDescription& run, MetricsRegistry& metrics);

} // namespace conveyor::obs
