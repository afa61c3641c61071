// OrderedJobs: results come back in submission order whatever order the workers finish in,
// the window bounds the jobs in flight, and a taker whose job no worker started runs it itself
// (so a pool that never gets to it, or a taker on a worker thread, cannot hang).

#include "conveyor/core/work_pool.hpp"
#include "support/thread_work_pool.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace conveyor {
namespace {

TEST(OrderedJobs, ResultsComeInSubmissionOrder) {
    test::ThreadWorkPool pool(3);
    OrderedJobs<int> jobs(pool, 4);
    std::vector<int> got;
    // Every 7th job finishes after the job submitted next: it waits until that one has run. The
    // next one is in the window before the 7th is taken, and a worker runs it (the taker, busy
    // with the 7th, cannot), so the wait ends; its deadline only turns a bug into a failure.
    std::shared_ptr<std::promise<void>> next_ran;
    for (int i = 0; i < 200; ++i) {
        if (jobs.full()) got.push_back(jobs.take());
        if (i % 7 == 0) {
            next_ran = std::make_shared<std::promise<void>>();
            jobs.submit([i, ran = next_ran->get_future().share()] {
                EXPECT_EQ(ran.wait_for(std::chrono::seconds(30)), std::future_status::ready)
                    << "job " << i + 1 << " did not run while job " << i << " waited for it";
                return i;
            });
        } else {
            jobs.submit([i, ran = std::exchange(next_ran, nullptr)] {
                if (ran) ran->set_value();
                return i;
            });
        }
        EXPECT_LE(jobs.size(), 4u);
    }
    while (!jobs.empty())
        got.push_back(jobs.take());
    ASSERT_EQ(got.size(), 200u);
    for (int i = 0; i < 200; ++i)
        EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
}

TEST(OrderedJobs, TheTakerRunsAJobNoWorkerStarted) {
    test::IdleWorkPool pool(2);
    OrderedJobs<std::string> jobs(pool, 2);
    jobs.submit([] { return std::string("a"); });
    jobs.submit([] { return std::string("b"); });
    EXPECT_TRUE(jobs.full());
    EXPECT_FALSE(jobs.front_done());
    EXPECT_EQ(jobs.take(), "a");
    EXPECT_EQ(jobs.take(), "b");
    pool.run_all(); // a worker coming late finds the jobs claimed and does nothing
}

TEST(OrderedJobs, AJobRunsOnce) {
    test::ThreadWorkPool pool(2);
    auto runs = std::make_shared<std::atomic<int>>(0);
    {
        OrderedJobs<int> jobs(pool, 8);
        for (int i = 0; i < 8; ++i)
            jobs.submit([runs, i] {
                runs->fetch_add(1);
                return i;
            });
        for (int i = 0; i < 8; ++i)
            EXPECT_EQ(jobs.take(), i);
    }
    EXPECT_EQ(runs->load(), 8);
}

TEST(OrderedJobs, WhatAJobThrowsReachesTheTaker) {
    test::ThreadWorkPool pool(1);
    OrderedJobs<int> jobs(pool, 2);
    jobs.submit([]() -> int { throw std::runtime_error("broken"); });
    jobs.submit([] { return 2; });
    EXPECT_THROW(jobs.take(), std::runtime_error);
    EXPECT_EQ(jobs.take(), 2);
}

TEST(OrderedJobs, JobsLeftBehindAreDroppedOrWaitedFor) {
    auto runs = std::make_shared<std::atomic<int>>(0);
    test::IdleWorkPool idle(1);
    {
        OrderedJobs<int> jobs(idle, 4);
        for (int i = 0; i < 3; ++i)
            jobs.submit([runs] { return runs->fetch_add(1); });
    }               // never taken
    idle.run_all(); // a worker getting to them after their owner went away skips them
    EXPECT_EQ(runs->load(), 0);

    // Jobs using what their owner holds: the owner waits for the running ones as it goes.
    test::ThreadWorkPool pool(2);
    for (int round = 0; round < 50; ++round) {
        std::atomic<int> owned{0};
        {
            OrderedJobs<int> jobs(pool, 4);
            for (int i = 0; i < 4; ++i)
                jobs.submit([&owned] { return owned.fetch_add(1); });
        }
        const int seen = owned.load();
        EXPECT_GE(seen, 0);
        EXPECT_LE(seen, 4);
    }
}

} // namespace
} // namespace conveyor
