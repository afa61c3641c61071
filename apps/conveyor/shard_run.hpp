#pragma once

// One shard of a partitioned run, in two steps that a caller may separate:
//
//   stage_shard()   runs the pipeline as shard I of N (GlobalSpec::shard: every source reads
//                   its share, io/record_ranges.hpp and stage/shard_filter.hpp), writing each
//                   file sink's part under an attempt-private name plus that attempt's
//                   manifest (records, bytes, sha256): NAME.part-0000I-of-0000N.attempt-ID.EXT
//                   and ...EXT.manifest (io/shard_parts.hpp). Nothing final is written.
//   commit_staged() moves the attempt's parts, then their manifests, to the part names
//                   (NAME.part-0000I-of-0000N.EXT, ...EXT.manifest) without replacing anything
//                   (link() then unlink()): a shard some other attempt already committed is
//                   left as it is, and this attempt's files are discarded.
//   discard_staged() removes an attempt's files.
//
// `conveyor run p.toml --shard I/N` is stage + commit. A work-queue worker stages a chunk
// (shard I of N, N = the number of chunks), checks that its lease still holds, and only then
// commits (or discards). `conveyor finalize` accepts parts committed by any attempt. Every
// function here runs on the calling thread and blocks until done.

#include "commands.hpp"
#include "conveyor/config/loader.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/run_settings.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::cli {

/// "I/N" with 0 <= I < N (decimal, no sign); the error says what is wrong.
Result<ShardId> parse_shard(std::string_view text);

/// Environment lookup (the process environment in the CLI; tests pass their own).
using Getenv = std::function<std::optional<std::string>(const char*)>;
Getenv process_environment();

/// The shard the engine that started us assigns, from its variables: CONVEYOR_SHARD ("I/N"),
/// SLURM_ARRAY_TASK_ID (N from `shards`, else SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1,
/// I counted from SLURM_ARRAY_TASK_MIN), JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs; N from
/// `shards`). nullopt when none is set; an error (a usage error for the CLI) when the values
/// are missing, malformed or inconsistent (never a silent "shard 0 of 1").
Result<std::optional<ShardId>> shard_from_environment(const Getenv& getenv,
                                                      std::optional<std::uint32_t> shards);

/// The shard `conveyor run` runs: --shard I/N, --shard auto (the environment must name one),
/// or none (nullopt; backend = "auto" then looks at the environment itself).
Result<std::optional<ShardId>> shard_of_run(const RunArgs& args);

/// One output's part staged by an attempt.
struct StagedPart {
    std::string stage;  ///< the sink stage's id
    std::string target; ///< the output as the pipeline names it (finalize writes it)
    std::string staged; ///< the attempt's part
    std::string part;   ///< the committed part's name
    std::uint64_t records = 0;
};

/// What commit_staged() needs: the attempt's parts (each with its manifest beside it).
struct StagedShard {
    ShardId shard;
    std::string attempt;
    std::vector<StagedPart> parts;
    /// Where the attempt id was kept for `--resume` (a run without --attempt); removed once the
    /// shard is committed. Empty when the caller named the attempt.
    std::string attempt_file;
};

struct StagingOutcome {
    int exit_code = 0; ///< 0 (or 3: completed with failed records) = staged
    std::optional<StagedShard> staged;
    std::string error; ///< why the run failed, when it ran and failed (a work queue keeps it)
};

/// A random attempt id: 16 lowercase hex digits.
std::string new_attempt_id();

/// Runs the pipeline of `args` as shard `id` under attempt `attempt` (letters, digits, - and
/// _; a usage error otherwise). On failure nothing of this attempt is left behind but what
/// `--resume` continues from (its checkpoints and the sinks' unfinished files).
///
/// An empty `attempt` (`conveyor run --shard` without --attempt) is chosen here and kept in
/// the shard's state file `<state_dir>/<stem>.attempt` until the shard is committed: a run
/// with `--resume` takes the id kept there, so it continues that attempt's unfinished parts and
/// checkpoints (a new id would name other files and start over); otherwise a new random id.
StagingOutcome stage_shard(const RunArgs& args, const LoadOptions& options, ShardId id,
                           std::string attempt);

enum class CommitOutcome : std::uint8_t {
    Committed,        ///< this attempt's parts are the shard's
    AlreadyCommitted, ///< another attempt's were; this attempt's were discarded
};
/// Fails (CantCreate) when a file cannot be linked or a part another attempt left without its
/// manifest differs from this attempt's.
Result<CommitOutcome> commit_staged(const StagedShard& staged);
void discard_staged(const StagedShard& staged);

/// `conveyor run --shard`: stage, then commit; the exit code.
int run_shard(const RunArgs& args, const LoadOptions& options, ShardId id);

} // namespace conveyor::cli
