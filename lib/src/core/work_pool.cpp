#include "conveyor/core/work_pool.hpp"

namespace conveyor::detail {

bool PooledJob::claim() noexcept {
    std::uint8_t expected = kQueued;
    return state_.compare_exchange_strong(expected, kRunning);
}

void PooledJob::run() noexcept {
    try {
        work();
    } catch (...) {
        error_ = std::current_exception();
    }
    {
        // Under the lock, so that a taker between its check and its wait cannot miss it.
        std::lock_guard lock(mu_);
        state_.store(kDone);
    }
    cv_.notify_all();
}

void PooledJob::run_if_unclaimed() noexcept {
    if (claim()) run();
}

void PooledJob::finish() noexcept {
    if (claim()) {
        run();
        return;
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return state_.load() == kDone; });
}

void PooledJob::drop() noexcept {
    std::uint8_t expected = kQueued;
    state_.compare_exchange_strong(expected, kDropped);
}

void PooledJob::abandon() noexcept {
    std::uint8_t expected = kQueued;
    if (state_.compare_exchange_strong(expected, kDropped) || expected == kDropped) return;
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return state_.load() == kDone; });
}

} // namespace conveyor::detail
