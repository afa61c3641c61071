#include "conveyor/net/concurrency_limiter.hpp"
#include "unit/net/net_test_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <vector>

namespace conveyor::net {
namespace {

namespace asio = boost::asio;

/// Lets every coroutine posted so far run (all work here is on one strand).
asio::awaitable<void> yield_a_few(asio::any_io_executor ex) {
    for (int i = 0; i < 10; ++i)
        co_await asio::post(ex, asio::use_awaitable);
}

TEST(ConcurrencyLimiter, GrantsAtMostNAndHandsPermitsOverInArrivalOrder) {
    std::vector<int> order = test_util::run<std::vector<int>>(
        [](asio::any_io_executor ex) -> asio::awaitable<std::vector<int>> {
            ConcurrencyLimiter lim(2);
            std::vector<int> got;
            EXPECT_TRUE(co_await lim.acquire());
            EXPECT_TRUE(co_await lim.acquire());
            EXPECT_EQ(lim.in_use(), 2u);
            for (int i = 0; i < 3; ++i) {
                asio::co_spawn(
                    ex,
                    [&lim, &got, i]() -> asio::awaitable<void> {
                        if (co_await lim.acquire()) got.push_back(i);
                    },
                    asio::detached);
            }
            co_await yield_a_few(ex);
            EXPECT_TRUE(got.empty());
            EXPECT_EQ(lim.waiting(), 3u);
            lim.release();
            co_await yield_a_few(ex);
            EXPECT_EQ(got, std::vector<int>{0});
            EXPECT_EQ(lim.in_use(), 2u);
            lim.release();
            lim.release();
            co_await yield_a_few(ex);
            EXPECT_EQ(lim.max_in_use(), 2u);
            co_return got;
        });
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(ConcurrencyLimiter, CloseWakesWaitersWithFalse) {
    int woken_false = test_util::run<int>([](asio::any_io_executor ex) -> asio::awaitable<int> {
        ConcurrencyLimiter lim(1);
        int n = 0;
        EXPECT_TRUE(co_await lim.acquire());
        for (int i = 0; i < 2; ++i) {
            asio::co_spawn(
                ex,
                [&lim, &n]() -> asio::awaitable<void> {
                    if (!co_await lim.acquire()) ++n;
                },
                asio::detached);
        }
        co_await yield_a_few(ex);
        lim.close();
        co_await yield_a_few(ex);
        EXPECT_FALSE(co_await lim.acquire());
        co_return n;
    });
    EXPECT_EQ(woken_false, 2);
}

TEST(WakeSignal, NotifyWakesEveryWaiter) {
    int woken = test_util::run<int>([](asio::any_io_executor ex) -> asio::awaitable<int> {
        WakeSignal sig;
        int n = 0;
        for (int i = 0; i < 3; ++i) {
            asio::co_spawn(
                ex,
                [&sig, &n]() -> asio::awaitable<void> {
                    co_await sig.wait();
                    ++n;
                },
                asio::detached);
        }
        co_await yield_a_few(ex);
        EXPECT_EQ(n, 0);
        sig.notify();
        co_await yield_a_few(ex);
        co_return n;
    });
    EXPECT_EQ(woken, 3);
}

} // namespace
} // namespace conveyor::net
