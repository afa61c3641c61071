#pragma once

#include "conveyor/queue/worker.hpp"

#include <condition_variable>
#include <thread>

namespace conveyor::queue {

/// Renews a lease of `lease_time` every third of it on a thread of its own while a chunk runs.
/// When the queue says the lease is gone, requests `lost` (the chunk went to another worker: no
/// point going on). An engine that cannot be reached (restarted, failing over) is tried again
/// at the next beat while that beat still comes before the lease would run out since its last
/// renewal; past that, or for any other error, the error is kept for stop() and requests
/// `lost`: a worker that cannot renew cannot know that it still holds the chunk.
class Heartbeat {
public:
    Heartbeat(WorkQueue& queue, const Lease& lease, std::chrono::milliseconds lease_time,
              Abandon& lost);
    ~Heartbeat();
    Heartbeat(const Heartbeat&) = delete;
    Heartbeat& operator=(const Heartbeat&) = delete;
    /// Ends the renewals; the first error reaching the queue, if any.
    Status stop();

private:
    void beat();

    WorkQueue& queue_;
    const Lease& lease_;
    std::chrono::milliseconds lease_time_;
    std::chrono::milliseconds period_;
    Abandon& lost_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::optional<Error> error_;
    std::thread thread_;
};

} // namespace conveyor::queue
