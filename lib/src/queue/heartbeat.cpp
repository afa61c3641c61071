#include "heartbeat.hpp"

#include <algorithm>
#include <chrono>
#include <spdlog/spdlog.h>

namespace conveyor::queue {

Heartbeat::Heartbeat(WorkQueue& queue, const Lease& lease, std::chrono::milliseconds lease_time,
                     Abandon& lost)
    : queue_(queue), lease_(lease), lease_time_(lease_time),
      period_(std::max(lease_time / 3, std::chrono::milliseconds(10))), lost_(lost),
      thread_([this] { beat(); }) {}

Heartbeat::~Heartbeat() {
    (void)stop();
}

Status Heartbeat::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (error_) return *error_;
    return ok_status();
}

void Heartbeat::beat() {
    using Clock = std::chrono::steady_clock;
    std::unique_lock lock(mutex_);
    Clock::time_point renewed = Clock::now();
    bool failing = false;
    while (!cv_.wait_for(lock, period_, [this] { return stopping_; })) {
        const Clock::time_point asked = Clock::now();
        lock.unlock();
        Result<bool> held = queue_.renew(lease_);
        lock.lock();
        if (!held) {
            // Another try only while the next beat comes before the lease runs out.
            if (held.error().kind == ErrorKind::TempFail &&
                Clock::now() - renewed + period_ < lease_time_) {
                spdlog::warn("chunk {}: cannot renew its lease ({}); trying again in {} ms",
                             lease_.chunk, held.error().to_string(), period_.count());
                failing = true;
                continue;
            }
            error_ = held.error();
            lost_.request("cannot renew the lease: " + held.error().to_string());
            return;
        }
        if (failing && *held) spdlog::info("chunk {}: its lease is renewed again", lease_.chunk);
        failing = false;
        renewed = asked;
        if (!*held) {
            spdlog::warn("chunk {}: the lease of attempt {} is gone", lease_.chunk,
                         lease_.attempt());
            lost_.request("the lease is gone (another worker took the chunk)");
            return;
        }
    }
}

} // namespace conveyor::queue
