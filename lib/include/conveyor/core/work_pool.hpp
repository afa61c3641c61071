#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace conveyor {

/// The run's worker threads (`[global] workers`) as a stage sees them: where it hands CPU work
/// it splits into pieces (csv.read parsing chunks of one file, json.write encoding batches).
/// The executor's Runtime is the implementation; RunContext::work_pool points to it while the
/// stages run. Without Asio, so that plugins need not include it.
class WorkPool {
public:
    virtual ~WorkPool() = default;
    /// Runs `fn` later on one of the worker threads (never inline). `fn` must not wait for other
    /// work posted to the pool (the pool may have one thread); OrderedJobs makes that easy.
    /// Work still queued when the run is torn down may be dropped without running.
    virtual void post(std::function<void()> fn) = 0;
    /// How many worker threads there are.
    [[nodiscard]] virtual std::size_t size() const noexcept = 0;
};

namespace detail {

/// One job of OrderedJobs: whoever claims it first runs it, a worker or the thread that takes
/// its result (which then does the work itself instead of waiting for a worker to get to it).
class PooledJob {
public:
    virtual ~PooledJob() = default;
    /// A worker: runs the job unless someone claimed it already.
    void run_if_unclaimed() noexcept;
    /// Runs the job here if nobody has started it, else waits until it is done.
    void finish() noexcept;
    /// The job will not be needed: a worker that gets to it later skips it.
    void drop() noexcept;
    /// drop(), and if a worker is running the job already, waits until it is done (a job
    /// never waits for anything, so this does not block for long).
    void abandon() noexcept;
    [[nodiscard]] bool done() const noexcept { return state_.load() == kDone; }
    /// What work() threw, if it did (valid once done).
    [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

protected:
    virtual void work() = 0;

private:
    enum : std::uint8_t { kQueued, kRunning, kDone, kDropped };
    bool claim() noexcept;
    void run() noexcept;

    std::atomic<std::uint8_t> state_{kQueued};
    std::exception_ptr error_;
    std::mutex mu_;
    std::condition_variable cv_;
};

} // namespace detail

/// A bounded window of jobs whose results are taken in the order they were submitted: the
/// ordered reassembly of work split over the run's workers. Jobs run on the pool; take()
/// returns the oldest job's result, running that job on the calling thread when no worker
/// has started it yet. A taker therefore never waits for a queued job, only for one that is
/// running (and a job never waits for anything), so a worker thread may call take() without
/// risking a deadlock, even with one worker.
///
/// When this object goes away, jobs no worker has started are dropped and the ones running are
/// waited for (their results dropped), so a job may use what its owner holds for the owner's
/// life (csv.read's chunk readers use the run's RunContext). Not thread-safe itself: one owner
/// thread submits and takes.
template <class T>
class OrderedJobs {
public:
    OrderedJobs(WorkPool& pool, std::size_t window) : pool_(pool), window_(window ? window : 1) {}
    OrderedJobs(const OrderedJobs&) = delete;
    OrderedJobs& operator=(const OrderedJobs&) = delete;
    ~OrderedJobs() {
        for (auto& job : jobs_)
            job->drop();
        for (auto& job : jobs_)
            job->abandon();
    }

    [[nodiscard]] bool empty() const noexcept { return jobs_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return jobs_.size(); }
    /// As many jobs as the window allows are submitted: take() one before submitting more.
    [[nodiscard]] bool full() const noexcept { return jobs_.size() >= window_; }
    /// The oldest job is done (take() will not wait).
    [[nodiscard]] bool front_done() const noexcept {
        return !jobs_.empty() && jobs_.front()->done();
    }

    /// Queues `fn` (callable once, returning T) on the pool.
    template <class F>
    void submit(F fn) {
        auto job = std::make_shared<Job<F>>(std::move(fn));
        jobs_.push_back(job);
        pool_.post([job] { job->run_if_unclaimed(); });
    }

    /// The oldest job's result (see the class comment); rethrows what the job threw.
    T take() {
        std::shared_ptr<Slot> job = std::move(jobs_.front());
        jobs_.pop_front();
        job->finish();
        if (job->error()) std::rethrow_exception(job->error());
        return std::move(*job->result);
    }

private:
    struct Slot : detail::PooledJob {
        std::optional<T> result;
    };
    template <class F>
    struct Job final : Slot {
        explicit Job(F f) : fn(std::move(f)) {}
        void work() override { this->result.emplace(fn()); }
        F fn;
    };

    WorkPool& pool_;
    std::size_t window_;
    std::deque<std::shared_ptr<Slot>> jobs_;
};

} // namespace conveyor
