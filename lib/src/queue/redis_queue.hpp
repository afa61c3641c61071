#pragma once

#include "conveyor/queue/work_queue.hpp"

namespace conveyor::queue {

/// A queue on Redis Streams (hiredis; redis_queue.cpp says how the keys are laid out).
Result<std::unique_ptr<WorkQueue>> open_redis_queue(const QueueUrl& url,
                                                    std::chrono::milliseconds timeout);

} // namespace conveyor::queue
