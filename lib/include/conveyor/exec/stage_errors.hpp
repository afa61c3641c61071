#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/error.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace conveyor {

class DeadLetterQueue;
struct StageMetrics;

/// Whether an error is worth retrying: transient failures (a server's 5xx or timeout, an input
/// file that is not there yet), never bad data or a bad pipeline.
bool is_retryable(ErrorKind kind) noexcept;

/// Exponential backoff with full jitter: attempt k (0-based) waits a uniformly random time in
/// [0, min(max, base * 2^k)], so many clients retrying together do not stampede.
/// `uniform01` returns numbers in [0, 1); tests pass a fixed sequence.
std::chrono::milliseconds backoff_delay(std::uint32_t attempt, double base_seconds,
                                        double max_seconds,
                                        const std::function<double()>& uniform01);

/// How one stage deals with failures, as `[error_handling]` (and the stage's own
/// `[stages.error_handling]`) says. Given to every stage in OpenContext::errors. Thread-safe.
class StageErrors {
public:
    StageErrors(std::string stage_id, ErrorHandlingSpec policy, DeadLetterQueue* dead_letters,
                StageMetrics* metrics);

    [[nodiscard]] const ErrorHandlingSpec& policy() const noexcept { return policy_; }
    [[nodiscard]] const std::string& stage_id() const noexcept { return stage_id_; }

    /// A record this stage could not process (after `attempts` tries). Under a continuing
    /// strategy (continue, or retry with on_exhausted = "continue") it is counted as failed,
    /// written to the dead-letter queue when one is enabled, and ok is returned: the stage
    /// leaves the record out and goes on. Otherwise the error comes back, naming the stage,
    /// for the stage to fail with.
    Status record_failed(const Schema& schema, std::span<const Value> row, Error error,
                         std::uint32_t attempts = 1);
    /// The same for input that never became a record (a malformed CSV row or JSON line);
    /// `raw` is its text, kept in the dead-letter entry.
    Status raw_failed(std::string_view raw, Error error);

    /// Checkpoints: the stage has passed checkpoint `id` (the executor says so; at the start of
    /// a resumed run, the checkpoint it resumed from). Records it fails from now on are after
    /// that checkpoint: their dead-letter entries wait for the next one (DeadLetterQueue).
    void passed_checkpoint(std::uint64_t id) noexcept {
        epoch_.store(id, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t checkpoint_epoch() const noexcept {
        return epoch_.load(std::memory_order_relaxed);
    }

private:
    Status settle(Error error, const std::function<Status(Error&)>& dead_letter);

    std::string stage_id_;
    ErrorHandlingSpec policy_;
    DeadLetterQueue* dead_letters_;
    StageMetrics* metrics_;
    std::atomic<std::uint64_t> epoch_{0};
    /// Records skipped without a dead-letter queue: the first kSkippedWarnings are warnings.
    static constexpr std::uint64_t kSkippedWarnings = 10;
    std::atomic<std::uint64_t> skipped_logged_{0};
};

} // namespace conveyor
