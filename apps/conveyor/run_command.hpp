#pragma once

// What `conveyor run`'s variants share: a sharded run (shard_run.cpp) and the local backend
// (local_backend.cpp) run a loaded pipeline as cmd_run does.

#include "commands.hpp"
#include "conveyor/config/loader.hpp"
#include "conveyor/obs/run_stats.hpp"

namespace conveyor::cli {

/// --set, --workers, --concurrency and --batch-size as overrides of the file, in that order.
LoadOptions load_options(const RunArgs& args);

/// Runs a loaded pipeline in this process (observers, journal, summary) and returns the exit
/// code; the final statistics go to `stats_out` when given.
int run_loaded(const RunArgs& args, const PipelineSpec& p, const LoadOptions& options,
               obs::RunStats* stats_out);

} // namespace conveyor::cli
