#include "chunk_runner.hpp"

namespace conveyor::cli {

// NOT WIRED YET: running one shard in-process in two steps (stage, then commit without
// replacing) is the static-shards half of issue 21 (apps/conveyor/shard_run.hpp), not on main
// when this was written. Until it is, a worker refuses to start rather than take chunks it
// cannot run (which would send every chunk to the dead letters).
Result<std::unique_ptr<queue::ChunkRunner>> make_chunk_runner(const queue::QueueSpec& spec) {
    return fail(ErrorKind::Internal,
                "this build cannot run chunks of " + spec.pipeline +
                    " yet: the shard runner (stage and commit of shard I of N) is not wired to "
                    "`conveyor worker`");
}

} // namespace conveyor::cli
