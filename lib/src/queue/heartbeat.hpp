#pragma once

#include "conveyor/queue/worker.hpp"

#include <condition_variable>
#include <thread>

namespace conveyor::queue {

/// Renews a lease every `period` on a thread of its own while a chunk runs. When the queue says
/// the lease is gone, requests `lost` (the chunk went to another worker: no point going on).
/// An error reaching the queue is kept for stop() and also requests `lost`: a worker that
/// cannot renew cannot know that it still holds the chunk.
class Heartbeat {
public:
    Heartbeat(WorkQueue& queue, const Lease& lease, std::chrono::milliseconds period,
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
    std::chrono::milliseconds period_;
    Abandon& lost_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::optional<Error> error_;
    std::thread thread_;
};

} // namespace conveyor::queue
