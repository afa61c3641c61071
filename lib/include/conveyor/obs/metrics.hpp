#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
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
    /// Records the stage could not process and left out (continue strategy).
    std::atomic<std::uint64_t> records_failed{0};
    /// Of those, the ones written to the dead-letter queue.
    std::atomic<std::uint64_t> records_dead_lettered{0};
    /// Records a filter-like stage chose not to pass on.
    std::atomic<std::uint64_t> records_filtered{0};
    /// Records a stage removed on purpose for another reason (e.g. http.fetch on_error = drop).
    std::atomic<std::uint64_t> records_dropped{0};
    /// Retries made (of requests, batches or opening the stage).
    std::atomic<std::uint64_t> retries{0};
    std::atomic<std::uint64_t> bytes_read{0};
    std::atomic<std::uint64_t> bytes_written{0};
    std::atomic<std::uint64_t> busy_ns{0};
    std::atomic<int> state{static_cast<int>(StageState::Pending)};

    void set_state(StageState s) noexcept {
        state.store(static_cast<int>(s), std::memory_order_release);
        state.notify_all();
    }
    [[nodiscard]] StageState get_state() const noexcept {
        return static_cast<StageState>(state.load(std::memory_order_acquire));
    }
};

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
