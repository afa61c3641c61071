// `conveyor worker --queue URL`: takes chunks from a queue and runs them until stopped (or, with
// --exit-when-empty, until nothing is pending or in flight).

#include "chunk_runner.hpp"
#include "commands.hpp"
#include "conveyor/obs/log.hpp"
#include "queue_cli.hpp"
#include "queue_common.hpp"
#include "session.hpp"

#include <csignal>
#include <random>
#include <unistd.h>

namespace conveyor::cli {

namespace {

/// Unique among a queue's workers: host, process and a random part (a pid comes back).
std::string consumer_name() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{}-{}-{:06x}", host, ::getpid(), rng() & 0xffffff);
}

/// Puts the stop handlers back after each chunk: a pipeline run installs its own while it runs.
class KeepingStopHandlers final : public queue::ChunkRunner {
public:
    explicit KeepingStopHandlers(queue::ChunkRunner& inner) : inner_(inner) {}
    Result<queue::StagedChunk> stage(const queue::ChunkJob& job, queue::Abandon& abandon) override {
        Result<queue::StagedChunk> r = inner_.stage(job, abandon);
        StopOnSignals::install();
        return r;
    }
    Result<queue::CommitOutcome> commit(const queue::StagedChunk& staged) override {
        return inner_.commit(staged);
    }
    void discard(const queue::StagedChunk& staged) noexcept override { inner_.discard(staged); }

private:
    queue::ChunkRunner& inner_;
};

} // namespace

int cmd_worker(const WorkerArgs& args) {
    // Now, before anything: a chunk's run would otherwise start the process again in the
    // middle of the chunk, to have huge pages (huge_pages.cpp).
    use_huge_pages();
    configure_logging(pick_level(args.log_level, false, "info"));
    Result<OpenedQueue> q = open_queue_arg(args.queue);
    if (!q) return report_error(q.error());
    const queue::QueueUrl* url = &q->url;
    Result<queue::QueueSpec> spec = q->queue->spec();
    if (!spec) return report_error(spec.error());
    Result<std::string> bytes = read_text_file(spec->pipeline);
    if (!bytes) return report_error(bytes.error());
    if (queue::pipeline_digest(*bytes) != spec->pipeline_digest)
        return report_error(
            Error(ErrorKind::Config, spec->pipeline + " differs from the file pushed to " +
                                         url->to_string() +
                                         ": every worker must run the pipeline that was pushed"));
    // Every chunk of a pipeline that does not load would fail and end as a dead letter.
    if (int code = check_as_chunk(spec->pipeline, spec->chunks)) return code;

    queue::WorkerOptions options;
    options.consumer = consumer_name();
    options.exit_when_empty = args.exit_when_empty;
    options.idle_wait = std::min(std::chrono::milliseconds(1000), spec->lease / 4);
    queue::Abandon stop;
    StopOnSignals signals(stop);
    RunArgs run;
    run.log_level = args.log_level;
    run.no_progress = true;
    std::unique_ptr<queue::ChunkRunner> runner = make_chunk_runner(*spec, run, stop);
    KeepingStopHandlers keeping(*runner);
    spdlog::info("worker {} on {} ({} chunks of {})", options.consumer, url->to_string(),
                 spec->chunks, spec->pipeline);
    Result<queue::WorkerReport> report = queue::run_worker(*q->queue, keeping, options, stop);
    if (!report) return report_error(report.error());
    spdlog::info("worker {}: {} committed, {} committed by others, {} lost to other workers, {} "
                 "failed, {} abandoned",
                 options.consumer, report->committed, report->already_committed, report->lease_lost,
                 report->failed, report->abandoned);
    // A stop comes from SIGINT or SIGTERM only (caught here, or by a chunk's run).
    if (stop.requested())
        return stop.why() == "SIGINT" ? exit_codes::kSigint : exit_codes::kSigterm;
    return exit_codes::kOk;
}

} // namespace conveyor::cli
