#include "conveyor/exec/stage_errors.hpp"

#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace conveyor {

bool is_retryable(ErrorKind kind) noexcept {
    return kind == ErrorKind::TempFail || kind == ErrorKind::Timeout || kind == ErrorKind::NoInput;
}

std::chrono::milliseconds backoff_delay(std::uint32_t attempt, double base_seconds,
                                        double max_seconds,
                                        const std::function<double()>& uniform01) {
    const double cap = std::min(
        max_seconds, base_seconds * std::ldexp(1.0, static_cast<int>(std::min(attempt, 62u))));
    const double u = std::clamp(uniform01(), 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(cap * u * 1000.0)));
}

StageErrors::StageErrors(std::string stage_id, ErrorHandlingSpec policy,
                         DeadLetterQueue* dead_letters, StageMetrics* metrics)
    : stage_id_(std::move(stage_id)), policy_(std::move(policy)), dead_letters_(dead_letters),
      metrics_(metrics) {}

Status StageErrors::settle(Error error, const std::function<Status(Error&)>& dead_letter) {
    error = std::move(error).in_stage(stage_id_);
    if (metrics_) {
        metrics_->records_failed.fetch_add(1, std::memory_order_relaxed);
        metrics_->first_errors().note(error.message, error.where);
    }
    if (!policy_.continues()) return error;
    if (dead_letters_) {
        CONVEYOR_TRY(dead_letter(error));
        if (metrics_) metrics_->records_dead_lettered.fetch_add(1, std::memory_order_relaxed);
    } else {
        if (metrics_) metrics_->records_dropped.fetch_add(1, std::memory_order_relaxed);
        // The first few are warnings; after them one line says so and the rest are logged at
        // debug level: a file of a million bad rows must not bury the log in a million lines
        // (the run's summary counts them all, and dead letters keep them).
        const std::uint64_t n = skipped_logged_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (n <= kSkippedWarnings) {
            spdlog::warn("skipped a record: {}", error.to_string());
        } else {
            if (n == kSkippedWarnings + 1)
                spdlog::warn("stage '{}': more records skipped; from here on they are logged at "
                             "debug level (--log-level debug); the summary at the end counts "
                             "them all, and [error_handling] dead_letter_enabled = true keeps them",
                             stage_id_);
            spdlog::debug("skipped a record: {}", error.to_string());
        }
    }
    return {};
}

Status StageErrors::record_failed(const Schema& schema, std::span<const Value> row, Error error,
                                  std::uint32_t attempts) {
    return settle(std::move(error), [&](Error& e) {
        return dead_letters_->add(stage_id_, schema, row, e, attempts, checkpoint_epoch());
    });
}

Status StageErrors::raw_failed(std::string_view raw, Error error) {
    return settle(std::move(error), [&](Error& e) {
        return dead_letters_->add_raw(stage_id_, raw, e, checkpoint_epoch());
    });
}

} // namespace conveyor
