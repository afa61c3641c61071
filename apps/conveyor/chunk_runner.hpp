#pragma once

// The ChunkRunner `conveyor worker` runs chunks with: the pipeline run in this process as shard
// I of N (shard_run.hpp), staged under the attempt's names, then committed without replacing.

#include "commands.hpp"
#include "conveyor/queue/worker.hpp"

#include <map>
#include <memory>

namespace conveyor::cli {

/// The runner for the queue's pipeline. `stop` is the worker's: a run ended by SIGINT/SIGTERM
/// (the run's own signal handling sees them first) requests it, so the worker stops too.
std::unique_ptr<queue::ChunkRunner> make_chunk_runner(const queue::QueueSpec& spec,
                                                      const RunArgs& run, queue::Abandon& stop);

} // namespace conveyor::cli
