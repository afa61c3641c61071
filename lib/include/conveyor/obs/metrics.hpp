#pragma once

#include "conveyor/obs/extra_metrics.hpp"
#include "conveyor/obs/first_errors.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace conveyor {

/// What a stage is doing right now. Changes are published with notify_all so a test can wait
/// for a state (std::atomic::wait) instead of sleeping.
enum class StageState : int {
    Pending = 0,
    Running = 1,
    WaitingForInput = 2,  ///< suspended until an input has a batch
    WaitingForOutput = 3, ///< suspended until downstream has room (backpressure)
    Done = 4,
    Failed = 5,
};

/// Per-stage counters, updated by the executor (records, batches, state) and by stages
/// (bytes, errors). Lock-free; read at any time, during or after a run.
struct StageMetrics {
    explicit StageMetrics(std::string stage_id) : id(std::move(stage_id)) {}

    std::string id;
    std::atomic<std::uint64_t> records_in{0};
    std::atomic<std::uint64_t> records_out{0};
    std::atomic<std::uint64_t> batches_in{0};
    std::atomic<std::uint64_t> batches_out{0};
    /// Records a source has produced so far (read from its input); equals records_out for
    /// sources unless a batch is still waiting for room downstream.
    std::atomic<std::uint64_t> records_read{0};
    /// Records the stage could not process, whatever happened to them next (left out, sent to
    /// the dead-letter queue, or kept with a null result by http.fetch on_error = "null").
    /// Any makes the run exit 3 ("completed with failures").
    std::atomic<std::uint64_t> records_failed{0};
    /// Failed records the stage still passed on, with a null result (http.fetch
    /// on_error = "null"): they are part of records_out, not left out.
    std::atomic<std::uint64_t> records_nulled{0};
    /// Records left out and written to the dead-letter queue.
    std::atomic<std::uint64_t> records_dead_lettered{0};
    /// Records a filter-like stage chose not to pass on.
    std::atomic<std::uint64_t> records_filtered{0};
    /// Records left out without a dead-letter queue (continue strategy, on_error = "drop").
    /// Per stage: records in = records out + filtered + dead-lettered + dropped.
    std::atomic<std::uint64_t> records_dropped{0};
    /// Records received but not finished yet (neither passed on nor left out), for stages that
    /// hold many at once (http.fetch waiting for responses); 0 for stages that finish each
    /// record as they take it. Rates count records finished: records_in - records_pending.
    std::atomic<std::uint64_t> records_pending{0};
    /// Retry attempts beyond the first (a request tried three times counts 2), of requests or
    /// of opening the stage.
    std::atomic<std::uint64_t> retries{0};
    std::atomic<std::uint64_t> bytes_read{0};
    std::atomic<std::uint64_t> bytes_written{0};
    std::atomic<std::uint64_t> busy_ns{0};
    /// Size of a source's input when it is known (a regular file), for percent and ETA;
    /// 0 = unknown. Set once by the source when it opens its input.
    std::atomic<std::uint64_t> bytes_total{0};
    /// Records waiting in the stage's input queue now, and what the queue holds at most
    /// (0 = not bounded in records, e.g. dag edges). Kept by the executor.
    std::atomic<std::uint64_t> queued_records{0};
    std::atomic<std::uint64_t> queue_capacity{0};
    /// Records of the stage's output that waited on disk instead of in memory (dag edges
    /// beyond their share of memory_limit).
    std::atomic<std::uint64_t> records_spilled{0};
    /// steady_clock time (ns since its epoch) when the stage first ran and when it ended;
    /// 0 until then. Kept by set_state().
    std::atomic<std::int64_t> started_ns{0};
    std::atomic<std::int64_t> ended_ns{0};
    std::atomic<int> state{static_cast<int>(StageState::Pending)};

    void set_state(StageState s) noexcept {
        if (s != StageState::Pending && started_ns.load(std::memory_order_relaxed) == 0) {
            std::int64_t expected = 0;
            started_ns.compare_exchange_strong(expected, now_ns(), std::memory_order_relaxed);
        }
        if (s == StageState::Done || s == StageState::Failed)
            ended_ns.store(now_ns(), std::memory_order_relaxed);
        state.store(static_cast<int>(s), std::memory_order_release);
        state.notify_all();
    }
    [[nodiscard]] StageState get_state() const noexcept {
        return static_cast<StageState>(state.load(std::memory_order_acquire));
    }

    /// Records sent to each named output (Stage::named_outputs, in order); sized once before
    /// the run by count_named_outputs().
    void count_named_outputs(std::size_t n) {
        named_output_records_ = std::make_unique<std::atomic<std::uint64_t>[]>(n);
        named_outputs_ = n;
    }
    void add_named_output_records(std::uint32_t output, std::uint64_t rows) noexcept {
        if (output >= 1 && output <= named_outputs_)
            named_output_records_[output - 1].fetch_add(rows, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t named_output_records(std::size_t k) const noexcept {
        return k < named_outputs_ ? named_output_records_[k].load(std::memory_order_relaxed) : 0;
    }

    /// Series the stage defines for itself (obs/extra_metrics.hpp, obs/http_metrics.hpp).
    [[nodiscard]] obs::ExtraMetrics& extra() noexcept { return *extra_; }
    [[nodiscard]] const obs::ExtraMetrics& extra() const noexcept { return *extra_; }

    /// Why records failed: the first distinct messages, for the end-of-run summary.
    [[nodiscard]] obs::FirstErrors& first_errors() noexcept { return *first_errors_; }
    [[nodiscard]] const obs::FirstErrors& first_errors() const noexcept { return *first_errors_; }
    /// What the stage found doubtful about the run as a whole (filter.apply: a field that never
    /// appeared in its input), said once at the end of the summary. Same bound as first_errors.
    [[nodiscard]] obs::FirstErrors& warnings() noexcept { return *warnings_; }
    [[nodiscard]] const obs::FirstErrors& warnings() const noexcept { return *warnings_; }

    static std::int64_t now_ns() noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }

private:
    std::unique_ptr<obs::ExtraMetrics> extra_ = std::make_unique<obs::ExtraMetrics>();
    std::unique_ptr<obs::FirstErrors> first_errors_ = std::make_unique<obs::FirstErrors>();
    std::unique_ptr<obs::FirstErrors> warnings_ = std::make_unique<obs::FirstErrors>();
    std::unique_ptr<std::atomic<std::uint64_t>[]> named_output_records_;
    std::size_t named_outputs_ = 0;
};

/// A warning about the run as a whole for the end-of-run summary (`metrics`' warnings), or,
/// for a stage run without metrics (tests, tools), a log line starting with `who`.
void warn_at_end(StageMetrics* metrics, std::string_view who, const std::string& message);

std::string_view to_string(StageState state) noexcept;

/// The metrics of every stage of a run. Owned by whoever starts the run (the CLI, or a test
/// that wants to watch counters while the run goes on). Entries never move once added.
class MetricsRegistry {
public:
    StageMetrics& add(std::string stage_id);
    [[nodiscard]] StageMetrics* find(std::string_view stage_id);
    [[nodiscard]] const std::deque<StageMetrics>& all() const noexcept { return stages_; }

private:
    std::mutex mu_;
    std::deque<StageMetrics> stages_;
};

} // namespace conveyor
