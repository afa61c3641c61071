#pragma once

// What the work-queue tests look at: a queue by URL, the commits its workers logged, and
// waiting (on a worker's log, with a deadline) until the queue records a chunk as committed.

#include "conveyor/queue/work_queue.hpp"
#include "support/process.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace conveyor::test {

/// The queue at `url`; a test failure (and null) when it cannot be opened.
std::unique_ptr<queue::WorkQueue> open_test_queue(const std::string& url);

/// How many "chunk I of N: committed (attempt ...)" lines `log` holds.
long commits_logged(const std::string& log);

/// Waits until `worker` (a process running queue::run_worker over `chunks` chunks) has logged
/// its commit of `chunk` and acked it to the queue, then checks that the queue `q` records the
/// chunk as committed: true if it does; false, with a test failure saying what did not come,
/// when it does not or `timeout` passes first.
bool wait_until_committed(Child& worker, queue::WorkQueue& q, std::uint32_t chunk,
                          std::uint32_t chunks, std::chrono::seconds timeout);

} // namespace conveyor::test
