#pragma once

#include "conveyor/queue/work_queue.hpp"

namespace conveyor::queue {

/// A queue on NATS JetStream (libnats; nats_queue.cpp says how the streams are laid out).
Result<std::unique_ptr<WorkQueue>> open_nats_queue(const QueueUrl& url,
                                                   std::chrono::milliseconds timeout);

} // namespace conveyor::queue
