#include "support/queue_checks.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <regex>

namespace conveyor::test {

std::unique_ptr<queue::WorkQueue> open_test_queue(const std::string& url) {
    Result<queue::QueueUrl> parsed = queue::parse_queue_url(url);
    EXPECT_TRUE(parsed) << url;
    if (!parsed) return nullptr;
    Result<std::unique_ptr<queue::WorkQueue>> q = queue::open_queue(*parsed);
    EXPECT_TRUE(q) << q.error().to_string();
    return q ? std::move(q).value() : nullptr;
}

long commits_logged(const std::string& log) {
    static const std::regex line(R"(chunk \d+ of \d+: committed \(attempt)");
    return static_cast<long>(
        std::distance(std::sregex_iterator(log.begin(), log.end(), line), std::sregex_iterator()));
}

bool wait_until_committed(Child& worker, queue::WorkQueue& q, std::uint32_t chunk,
                          std::uint32_t chunks, std::chrono::seconds timeout) {
    // run_worker logs "chunk I of N: committed (attempt A)" just before it acks the chunk, and
    // its next line (the next chunk's "started", or the worker's report) only once the ack has
    // returned, all from the worker's one main thread (the chunk's heartbeat is stopped before
    // the commit is logged). So the line after the commit's says the queue holds the commit.
    const std::string committed =
        "chunk " + std::to_string(chunk) + " of " + std::to_string(chunks) + ": committed (attempt";
    const bool acked = worker.wait_for_stderr(
        [&](const std::string& err) {
            const std::size_t at = err.find(committed);
            if (at == std::string::npos) return false;
            const std::size_t end = err.find('\n', at);
            return end != std::string::npos && err.find('\n', end + 1) != std::string::npos;
        },
        timeout);
    if (!acked) {
        ADD_FAILURE() << "the worker did not log \"" << committed
                      << "\" and a line after it within " << timeout.count() << " s";
        return false;
    }
    auto done = q.done();
    EXPECT_TRUE(done) << done.error().to_string();
    const bool recorded = done && std::any_of(done->begin(), done->end(),
                                              [&](const auto& d) { return d.first == chunk; });
    EXPECT_TRUE(recorded) << "the worker acked chunk " << chunk
                          << " but the queue does not record it as committed";
    return recorded;
}

} // namespace conveyor::test
