#include "heartbeat.hpp"

#include <spdlog/spdlog.h>

namespace conveyor::queue {

Heartbeat::Heartbeat(WorkQueue& queue, const Lease& lease, std::chrono::milliseconds period,
                     Abandon& lost)
    : queue_(queue), lease_(lease), period_(std::max(period, std::chrono::milliseconds(10))),
      lost_(lost), thread_([this] { beat(); }) {}

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
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, period_, [this] { return stopping_; })) {
        lock.unlock();
        Result<bool> held = queue_.renew(lease_);
        lock.lock();
        if (!held) {
            error_ = held.error();
            lost_.request("cannot renew the lease: " + held.error().to_string());
            return;
        }
        if (!*held) {
            spdlog::warn("chunk {}: the lease of attempt {} is gone", lease_.chunk,
                         lease_.attempt());
            lost_.request("the lease is gone (another worker took the chunk)");
            return;
        }
    }
}

} // namespace conveyor::queue
