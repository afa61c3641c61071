#pragma once

// Upper bounds of the run-wide settings. Beyond them a value is a typo, not a tuning choice.
// Declared once here: the [global] table, `conveyor schema` and the functions whose options
// inherit a [global] value (http.fetch's concurrency) all read them from this header.

#include <cstdint>

namespace conveyor::config {

inline constexpr std::int64_t kMaxChannelBuffer = 10'000'000;
inline constexpr std::int64_t kMaxConcurrency = 100'000;
inline constexpr std::int64_t kMaxWorkers = 4096;
inline constexpr std::int64_t kMaxBatchSize = 1'000'000;
inline constexpr std::int64_t kMaxRetries = 1000;
inline constexpr std::uint64_t kMaxBufferedBytes = std::uint64_t{1} << 50; // 1 PiB
inline constexpr std::int64_t kMaxCheckpointInterval = 1'000'000'000;
/// A year bounds every sensible duration and keeps conversions to clock durations safe.
inline constexpr double kMaxSeconds = 365.0 * 24 * 3600;

} // namespace conveyor::config
