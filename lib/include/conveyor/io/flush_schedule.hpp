#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/io/output_file.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace conveyor {

/// When a sink that writes as records arrive (streaming mode, or append = true) hands its
/// buffered output to the file, and when it makes it durable:
/// - `flush_interval` 0: every batch is written at once; N: at most every N, and no record
///   waits longer than N (the sink's Operator::timer() asks to be woken then).
/// - `fsync_interval` (append mode only): written data is synced once this has passed since
///   the last sync, also on a timer when no more input comes; 0 syncs after every write.
/// Pure bookkeeping: the caller passes the time, so tests need no clock.
class FlushSchedule {
public:
    using Clock = std::chrono::steady_clock;

    FlushSchedule(std::chrono::milliseconds flush_interval,
                  std::optional<std::chrono::milliseconds> fsync_interval, Clock::time_point now);
    /// A file sink's schedule from now: flushes every `flush_interval_ms`, syncs every
    /// `fsync_interval_ms` in append mode only.
    static FlushSchedule for_sink(std::int64_t flush_interval_ms, bool append,
                                  std::int64_t fsync_interval_ms);

    /// Output is buffered (`buffered`): should it be written now?
    [[nodiscard]] bool flush_due(bool buffered, Clock::time_point now) const;
    /// It was written at `now`.
    void flushed(Clock::time_point now);
    /// Should written data be synced now?
    [[nodiscard]] bool sync_due(Clock::time_point now) const;
    void synced(Clock::time_point now);
    /// The next time something will be due, given whether output is buffered; nullopt: none.
    [[nodiscard]] std::optional<Clock::time_point> next(bool buffered) const;

private:
    std::chrono::milliseconds flush_interval_;
    std::optional<std::chrono::milliseconds> fsync_interval_;
    Clock::time_point last_flush_;
    Clock::time_point last_sync_;
    bool unsynced_ = false;
};

/// What a sink does after a batch, and on its timer: hands `file`'s buffered output to the
/// file when `schedule` says so, and syncs it when that is due.
Status write_out(FlushSchedule& schedule, OutputFile& file, FlushSchedule::Clock::time_point now);

/// What a sink does at a checkpoint (Operator::checkpoint): hands all of `file`'s buffered
/// output to the file, syncs it when `durable`, and tells `schedule`, which counts from `now`
/// again: a checkpoint is a flush (when something was buffered) and, when durable, a sync.
Result<OutputFile::Position> checkpoint_out(FlushSchedule& schedule, OutputFile& file, bool durable,
                                            FlushSchedule::Clock::time_point now);

} // namespace conveyor
