#pragma once

// Coroutine synchronisation for I/O stages that run on one strand: a counting semaphore that
// bounds requests in flight, and a wake-up signal. Neither is thread-safe: every call must come
// from the strand the waiters run on (waiters are resumed by posting to their own executor).

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <deque>
#include <memory>

namespace conveyor::net {

/// A FIFO counting semaphore: at most `permits` holders at once.
class ConcurrencyLimiter {
public:
    explicit ConcurrencyLimiter(std::size_t permits);
    ~ConcurrencyLimiter();
    ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
    ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

    /// Takes a permit, suspending (first come, first served) while none is free. Returns false
    /// (and holds nothing) once close() was called. Cancellation: close() wakes every waiter.
    boost::asio::awaitable<bool> acquire();
    /// Gives a permit back, handing it straight to the oldest waiter if there is one.
    void release();
    /// Wakes every waiter with false; later acquire() calls return false at once.
    void close();

    [[nodiscard]] std::size_t permits() const noexcept { return permits_; }
    [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
    [[nodiscard]] std::size_t max_in_use() const noexcept { return max_in_use_; }
    [[nodiscard]] std::size_t waiting() const noexcept { return waiters_.size(); }

private:
    struct Waiter;
    std::size_t permits_;
    std::size_t in_use_ = 0;
    std::size_t max_in_use_ = 0;
    bool closed_ = false;
    std::deque<std::unique_ptr<Waiter>> waiters_;
};

/// Wakes the coroutines waiting on it (all of them) each time notify() is called. There is no
/// memory: a waiter re-checks its condition before waiting, which is race-free on one strand.
class WakeSignal {
public:
    WakeSignal();
    ~WakeSignal();
    WakeSignal(const WakeSignal&) = delete;
    WakeSignal& operator=(const WakeSignal&) = delete;

    /// Suspends until the next notify().
    boost::asio::awaitable<void> wait();
    void notify();

private:
    struct Waiter;
    std::deque<std::unique_ptr<Waiter>> waiters_;
};

} // namespace conveyor::net
