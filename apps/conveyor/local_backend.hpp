#pragma once

#include "commands.hpp"
#include "conveyor/config/pipeline_spec.hpp"

namespace conveyor::cli {

/// `[global] backend = "local"` (or "auto" outside a batch engine): runs `processes` shards of
/// the pipeline as child processes of this one (`conveyor run ... --shard i/N`, the same
/// arguments otherwise), forwarding SIGINT and SIGTERM to them, waits for all, and when every
/// one succeeded finalizes their parts (finalize.hpp). Leftover parts of the outputs from an
/// earlier run are removed first: this run owns all N shards. Returns the worst exit code: a
/// child's signal (128 + signal) before the highest exit code, else finalize's.
int run_local(const RunArgs& args, const PipelineSpec& p);

} // namespace conveyor::cli
