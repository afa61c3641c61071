#pragma once

// What the work-queue tests look at: a queue by URL, the commits its workers logged, and
// waiting (polling with a deadline) until the queue records a chunk as committed.

#include "conveyor/queue/work_queue.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace conveyor::test {

/// The queue at `url`; a test failure (and null) when it cannot be opened.
std::unique_ptr<queue::WorkQueue> open_test_queue(const std::string& url);

/// How many "chunk I of N: committed (attempt ...)" lines `log` holds.
long commits_logged(const std::string& log);

/// Polls the queue until it records `chunk` as committed (true) or `timeout` passes.
bool wait_until_committed(queue::WorkQueue& q, std::uint32_t chunk, std::chrono::seconds timeout);

} // namespace conveyor::test
