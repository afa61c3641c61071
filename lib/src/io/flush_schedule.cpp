#include "conveyor/io/flush_schedule.hpp"

#include <algorithm>

namespace conveyor {

FlushSchedule::FlushSchedule(std::chrono::milliseconds flush_interval,
                             std::optional<std::chrono::milliseconds> fsync_interval,
                             Clock::time_point now)
    : flush_interval_(flush_interval), fsync_interval_(fsync_interval), last_flush_(now),
      last_sync_(now) {}

FlushSchedule FlushSchedule::for_sink(std::int64_t flush_interval_ms, bool append,
                                      std::int64_t fsync_interval_ms) {
    return FlushSchedule(std::chrono::milliseconds(flush_interval_ms),
                         append ? std::optional(std::chrono::milliseconds(fsync_interval_ms))
                                : std::nullopt,
                         Clock::now());
}

bool FlushSchedule::flush_due(bool buffered, Clock::time_point now) const {
    return buffered && now - last_flush_ >= flush_interval_;
}

void FlushSchedule::flushed(Clock::time_point now) {
    last_flush_ = now;
    if (fsync_interval_) unsynced_ = true;
}

bool FlushSchedule::sync_due(Clock::time_point now) const {
    return unsynced_ && fsync_interval_ && now - last_sync_ >= *fsync_interval_;
}

void FlushSchedule::synced(Clock::time_point now) {
    last_sync_ = now;
    unsynced_ = false;
}

std::optional<FlushSchedule::Clock::time_point> FlushSchedule::next(bool buffered) const {
    std::optional<Clock::time_point> at;
    if (buffered) at = last_flush_ + flush_interval_;
    if (unsynced_ && fsync_interval_) {
        const Clock::time_point sync_at = last_sync_ + *fsync_interval_;
        at = at ? std::min(*at, sync_at) : sync_at;
    }
    return at;
}

Status write_out(FlushSchedule& schedule, OutputFile& file, FlushSchedule::Clock::time_point now) {
    if (schedule.flush_due(file.buffered() > 0, now)) {
        CONVEYOR_TRY(file.flush());
        schedule.flushed(now);
    }
    if (schedule.sync_due(now)) {
        CONVEYOR_TRY(file.sync());
        schedule.synced(now);
    }
    return {};
}

Result<OutputFile::Position> checkpoint_out(FlushSchedule& schedule, OutputFile& file, bool durable,
                                            FlushSchedule::Clock::time_point now) {
    const bool buffered = file.buffered() > 0;
    auto at = file.checkpoint(durable);
    if (!at) return at;
    if (buffered) schedule.flushed(now);
    if (durable) schedule.synced(now);
    return at;
}

} // namespace conveyor
