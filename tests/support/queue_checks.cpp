#include "support/queue_checks.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <regex>
#include <thread>

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

bool wait_until_committed(queue::WorkQueue& q, std::uint32_t chunk, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto done = q.done();
        if (done && std::any_of(done->begin(), done->end(),
                                [&](const auto& d) { return d.first == chunk; }))
            return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
        // Each look is a round trip to the engine; the pause only spares the CPU.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace conveyor::test
