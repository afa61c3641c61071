#include "conveyor/queue/worker.hpp"

#include "heartbeat.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fmt/format.h>
#include <optional>
#include <spdlog/spdlog.h>
#include <thread>

namespace conveyor::queue {

// The callback runs under the lock, so that on_request({}) returning means it is not running
// and will not run: the objects it touches may go.
void Abandon::request(const std::string& why) {
    std::lock_guard lock(mutex_);
    if (requested_.exchange(true)) return;
    why_ = why;
    if (callback_) callback_();
}

std::string Abandon::why() const {
    std::lock_guard lock(mutex_);
    return why_;
}

void Abandon::on_request(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    callback_ = std::move(fn);
    if (requested_ && callback_) callback_();
}

namespace {

/// Runs one leased chunk to its end: committed, found committed, refused by the fence, failed
/// or abandoned. Only an error reaching the queue is returned as an error.
Status run_chunk(WorkQueue& queue, ChunkRunner& runner, const QueueSpec& spec, const Lease& lease,
                 Abandon& stop, WorkerReport& report) {
    const ChunkJob job{spec.pipeline, lease.chunk, spec.chunks, lease.attempt()};
    spdlog::info("chunk {} of {}: started (attempt {})", lease.chunk, spec.chunks, job.attempt);
    Abandon abandon;
    stop.on_request([&abandon] { abandon.request("the worker was told to stop"); });
    Heartbeat heartbeat(queue, lease, spec.lease, abandon);
    Result<StagedChunk> staged = runner.stage(job, abandon);
    stop.on_request({});
    if (!staged) {
        if (abandon.requested()) {
            ++report.abandoned;
            spdlog::warn("chunk {}: abandoned ({})", lease.chunk, abandon.why());
            return heartbeat.stop();
        }
        ++report.failed;
        spdlog::error("chunk {}: attempt {} failed: {}", lease.chunk, job.attempt,
                      staged.error().to_string());
        CONVEYOR_TRY(heartbeat.stop());
        return queue.fail_attempt(lease, staged.error().to_string());
    }
    Result<Fence> fence = queue.fence(lease);
    if (!fence || *fence != Fence::Commit) {
        runner.discard(*staged);
        CONVEYOR_TRY(heartbeat.stop());
        if (!fence) return std::move(fence).error();
        if (*fence == Fence::LeaseLost) {
            ++report.lease_lost;
            spdlog::warn("chunk {}: attempt {} lost its lease; its output is discarded",
                         lease.chunk, job.attempt);
            return ok_status();
        }
        ++report.already_committed;
        spdlog::info("chunk {}: committed by another attempt; attempt {} discarded", lease.chunk,
                     job.attempt);
        return queue.ack(lease, "");
    }
    Result<CommitOutcome> outcome = runner.commit(*staged);
    CONVEYOR_TRY(heartbeat.stop());
    if (!outcome) {
        runner.discard(*staged);
        ++report.failed;
        return queue.fail_attempt(lease, "commit: " + outcome.error().to_string());
    }
    if (outcome->committed)
        ++report.committed;
    else
        ++report.already_committed;
    spdlog::info("chunk {} of {}: {} (attempt {})", lease.chunk, spec.chunks,
                 outcome->committed ? "committed" : "committed already", outcome->committed_by);
    return queue.ack(lease, outcome->committed_by);
}

/// Waits `d` or until `stop` is requested.
void idle(std::chrono::milliseconds d, Abandon& stop) {
    std::mutex m;
    std::condition_variable cv;
    bool woken = false;
    stop.on_request([&] {
        std::lock_guard lock(m);
        woken = true;
        cv.notify_all();
    });
    {
        std::unique_lock lock(m);
        cv.wait_for(lock, d, [&] { return woken; });
    }
    stop.on_request({});
}

/// Since when the queue has failed to answer (a plain struct: with std::optional here GCC 12
/// warned that the time might be read uninitialised).
struct Outage {
    bool on = false;
    std::chrono::steady_clock::time_point since{};
};

/// Whether the loop may go on after `error` from the queue between chunks: an engine that
/// cannot be reached is waited for (backing off, until `stop`) while it has been so for less
/// than options.engine_outage since `outage` began (at its first failure). The error otherwise.
Status ride_out(const Error& error, Outage& outage, std::chrono::milliseconds& backoff,
                const WorkerOptions& options, Abandon& stop) {
    if (error.kind != ErrorKind::TempFail) return error;
    const auto now = std::chrono::steady_clock::now();
    if (!outage.on) {
        outage = Outage{true, now};
        backoff = std::chrono::milliseconds(500);
    }
    const auto failing = std::chrono::duration_cast<std::chrono::milliseconds>(now - outage.since);
    if (failing >= options.engine_outage) {
        Error e = error;
        e.message += fmt::format(" (tried again for {} s)", failing.count() / 1000);
        return e;
    }
    const auto wait = std::min(backoff, options.engine_outage - failing);
    spdlog::warn("{}; trying again in {:.1f} s (for up to {} s)", error.to_string(),
                 static_cast<double>(wait.count()) / 1000, options.engine_outage.count() / 1000);
    idle(wait, stop);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(8000));
    return ok_status();
}

} // namespace

Result<WorkerReport> run_worker(WorkQueue& queue, ChunkRunner& runner, const WorkerOptions& options,
                                Abandon& stop) {
    Result<QueueSpec> spec = queue.spec();
    if (!spec) return std::move(spec).error();
    WorkerReport report;
    Outage outage;
    std::chrono::milliseconds backoff{0};
    while (!stop.requested()) {
        Result<std::optional<Lease>> lease = queue.take(options.consumer);
        Result<QueueStatus> st = QueueStatus{};
        if (lease && !*lease && options.exit_when_empty) st = queue.status();
        if (!lease || !st) {
            CONVEYOR_TRY(
                ride_out(!lease ? lease.error() : st.error(), outage, backoff, options, stop));
            continue;
        }
        if (outage.on) spdlog::info("the queue answers again");
        outage = Outage{};
        if (*lease) {
            CONVEYOR_TRY(run_chunk(queue, runner, *spec, **lease, stop, report));
            continue;
        }
        if (options.exit_when_empty && st->pending == 0 && st->in_flight == 0) break;
        spdlog::debug("no chunk to take; looking again in {} ms", options.idle_wait.count());
        idle(options.idle_wait, stop);
    }
    return report;
}

} // namespace conveyor::queue
