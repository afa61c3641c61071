#include "chunk_runner.hpp"

#include "conveyor/io/shard_parts.hpp"
#include "queue_common.hpp"
#include "run_command.hpp"
#include "session.hpp"
#include "shard_run.hpp"

#include <fmt/format.h>
#include <mutex>

namespace conveyor::cli {

namespace {

class ShardChunkRunner final : public queue::ChunkRunner {
public:
    ShardChunkRunner(RunArgs run, queue::Abandon& stop) : run_(std::move(run)), stop_(stop) {}

    // A lost lease does not interrupt the run (the fence refuses its commit afterwards); a
    // signal does, through the run's own signal handling.
    Result<queue::StagedChunk> stage(const queue::ChunkJob& job, queue::Abandon& abandon) override {
        const ShardId id{job.chunk, job.chunks};
        StagingOutcome out = stage_shard(run_, load_options(run_), id, job.attempt);
        if (out.exit_code == exit_codes::kSigint || out.exit_code == exit_codes::kSigterm) {
            stop_.request(out.exit_code == exit_codes::kSigint ? "SIGINT" : "SIGTERM");
            abandon.request("the worker was told to stop");
            return fail(ErrorKind::Cancelled, "interrupted");
        }
        if (!out.staged)
            return fail(ErrorKind::Runtime,
                        fmt::format("chunk {} of {} failed (exit {}){}", job.chunk, job.chunks,
                                    out.exit_code, out.error.empty() ? "" : ": " + out.error));
        queue::StagedChunk staged{job.chunk, job.attempt, {}};
        for (const StagedPart& p : out.staged->parts)
            staged.files.push_back(p.staged);
        std::lock_guard lock(mutex_);
        staged_.insert_or_assign(job.attempt, std::move(*out.staged));
        return staged;
    }

    Result<queue::CommitOutcome> commit(const queue::StagedChunk& staged) override {
        std::optional<StagedShard> shard = take(staged.attempt);
        if (!shard) return fail(ErrorKind::Internal, "attempt " + staged.attempt + " not staged");
        Result<CommitOutcome> r = commit_staged(*shard);
        if (!r) return std::move(r).error();
        if (*r == CommitOutcome::Committed) return queue::CommitOutcome{true, staged.attempt};
        // Whose parts are in place: their manifest says.
        std::string by;
        if (!shard->parts.empty()) {
            Result<std::string> text = read_text_file(manifest_path_of(shard->parts[0].part));
            if (text)
                if (Result<PartManifest> m = parse_manifest(*text, shard->parts[0].part); m)
                    by = m->attempt;
        }
        return queue::CommitOutcome{false, by};
    }

    void discard(const queue::StagedChunk& staged) noexcept override {
        if (std::optional<StagedShard> shard = take(staged.attempt)) discard_staged(*shard);
    }

private:
    std::optional<StagedShard> take(const std::string& attempt) {
        std::lock_guard lock(mutex_);
        auto it = staged_.find(attempt);
        if (it == staged_.end()) return std::nullopt;
        StagedShard s = std::move(it->second);
        staged_.erase(it);
        return s;
    }

    RunArgs run_;
    queue::Abandon& stop_;
    std::mutex mutex_;
    std::map<std::string, StagedShard> staged_; ///< by attempt, from stage() to commit/discard
};

} // namespace

std::unique_ptr<queue::ChunkRunner> make_chunk_runner(const queue::QueueSpec& spec,
                                                      const RunArgs& run, queue::Abandon& stop) {
    RunArgs args = run;
    args.file = spec.pipeline;
    return std::make_unique<ShardChunkRunner>(std::move(args), stop);
}

} // namespace conveyor::cli
