#include "conveyor/net/concurrency_limiter.hpp"

#include <algorithm>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>

namespace asio = boost::asio;

namespace conveyor::net {

// Handlers are held by pointer: Boost 1.81's any_completion_handler must never be
// move-assigned (its move assignment recurses), and a deque moves elements around.
struct ConcurrencyLimiter::Waiter {
    template <class H>
    explicit Waiter(H&& h)
        : executor(asio::get_associated_executor(h)), handler(std::forward<H>(h)) {}
    asio::any_io_executor executor;
    asio::any_completion_handler<void(bool)> handler;
};

struct WakeSignal::Waiter {
    template <class H>
    explicit Waiter(H&& h)
        : executor(asio::get_associated_executor(h)), handler(std::forward<H>(h)) {}
    asio::any_io_executor executor;
    asio::any_completion_handler<void()> handler;
};

ConcurrencyLimiter::ConcurrencyLimiter(std::size_t permits)
    : permits_(std::max<std::size_t>(1, permits)) {}

ConcurrencyLimiter::~ConcurrencyLimiter() {
    close();
}

asio::awaitable<bool> ConcurrencyLimiter::acquire() {
    if (closed_) co_return false;
    if (waiters_.empty() && in_use_ < permits_) {
        ++in_use_;
        max_in_use_ = std::max(max_in_use_, in_use_);
        co_return true;
    }
    // The permit is counted by release() when it hands it over.
    const bool granted = co_await asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
        [this](auto handler) { waiters_.push_back(std::make_unique<Waiter>(std::move(handler))); },
        asio::use_awaitable);
    co_return granted;
}

void ConcurrencyLimiter::release() {
    assert(in_use_ > 0);
    if (!closed_ && !waiters_.empty()) {
        std::unique_ptr<Waiter> w = std::move(waiters_.front());
        waiters_.pop_front();
        // The permit passes to the waiter: in_use_ is unchanged.
        asio::any_io_executor ex = w->executor;
        asio::post(ex, [w = std::move(w)]() mutable { std::move(w->handler)(true); });
        return;
    }
    --in_use_;
}

void ConcurrencyLimiter::close() {
    closed_ = true;
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) {
        asio::any_io_executor ex = w->executor;
        asio::post(ex, [w = std::move(w)]() mutable { std::move(w->handler)(false); });
    }
}

WakeSignal::WakeSignal() = default;

WakeSignal::~WakeSignal() {
    notify();
}

asio::awaitable<void> WakeSignal::wait() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) { waiters_.push_back(std::make_unique<Waiter>(std::move(handler))); },
        asio::use_awaitable);
}

void WakeSignal::notify() {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) {
        asio::any_io_executor ex = w->executor;
        asio::post(ex, [w = std::move(w)]() mutable { std::move(w->handler)(); });
    }
}

} // namespace conveyor::net
