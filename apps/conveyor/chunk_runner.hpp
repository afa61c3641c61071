#pragma once

// The ChunkRunner `conveyor worker` runs chunks with: the pipeline run as shard I of N, staged
// under attempt-private names and committed without replacing (the static-shards half of issue
// 21, apps/conveyor/shard_run.hpp).

#include "conveyor/queue/worker.hpp"

#include <memory>

namespace conveyor::cli {

/// The runner for the queue's pipeline, or why there is none.
Result<std::unique_ptr<queue::ChunkRunner>> make_chunk_runner(const queue::QueueSpec& spec);

} // namespace conveyor::cli
