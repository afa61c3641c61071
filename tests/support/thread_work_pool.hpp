#pragma once

// A WorkPool of plain threads for tests that run stages by hand (outside run_pipeline, whose
// Runtime is the real one), and one that never runs anything, to show that the owner of the
// work does it itself then.

#include "conveyor/core/work_pool.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace conveyor::test {

class ThreadWorkPool final : public WorkPool {
public:
    explicit ThreadWorkPool(std::size_t threads) {
        for (std::size_t i = 0; i < threads; ++i)
            threads_.emplace_back([this] { work(); });
    }
    /// Runs what is queued, then joins.
    ~ThreadWorkPool() override {
        {
            std::lock_guard lock(mu_);
            closing_ = true;
        }
        cv_.notify_all();
        for (std::thread& t : threads_)
            t.join();
    }
    ThreadWorkPool(const ThreadWorkPool&) = delete;
    ThreadWorkPool& operator=(const ThreadWorkPool&) = delete;

    void post(std::function<void()> fn) override {
        {
            std::lock_guard lock(mu_);
            queue_.push_back(std::move(fn));
        }
        cv_.notify_one();
    }
    [[nodiscard]] std::size_t size() const noexcept override { return threads_.size(); }

private:
    void work() {
        for (;;) {
            std::function<void()> fn;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
                if (queue_.empty()) return;
                fn = std::move(queue_.front());
                queue_.pop_front();
            }
            fn();
        }
    }

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    bool closing_ = false;
    std::vector<std::thread> threads_;
};

/// Claims `workers` threads but never runs what is posted (drops it when destroyed).
class IdleWorkPool final : public WorkPool {
public:
    explicit IdleWorkPool(std::size_t workers) : workers_(workers) {}
    void post(std::function<void()> fn) override { held_.push_back(std::move(fn)); }
    [[nodiscard]] std::size_t size() const noexcept override { return workers_; }
    /// Runs what was posted (late workers: the jobs were done by their owner already).
    void run_all() {
        for (auto& fn : held_)
            fn();
        held_.clear();
    }

private:
    std::size_t workers_;
    std::vector<std::function<void()>> held_;
};

} // namespace conveyor::test
