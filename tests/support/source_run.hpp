#pragma once

// Driving a source stage by hand, as an executor would: open() it, call next() until it says
// the input ended (or an error comes, or enough records came out), keep what it emitted, and
// ask for a checkpoint. The csv and json plugin tests read through this one loop; what they
// make of the batches (rows shown by kind, JSON lines) stays with each of them.

#include "conveyor/core/batch.hpp"
#include "conveyor/stage/emitter.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstddef>
#include <gtest/gtest.h>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace conveyor::test {

/// No limit on the records run_source() reads: to the end of the input.
inline constexpr std::size_t kAllRecords = std::numeric_limits<std::size_t>::max();

/// What one open() of a source stage and its next() calls produced.
struct SourceRun {
    SchemaRef schema;           ///< the schema open() announced
    std::vector<Batch> batches; ///< everything emitted, also before an error
    std::size_t records = 0;    ///< rows in `batches`
    std::size_t next_calls = 0;
    std::optional<Error> error; ///< from open() or next()
    bool checkpoints = false;   ///< OpenedStage::checkpoints
    bool ended = false;         ///< next() said the input ended
    std::string position;       ///< with `checkpoint`: checkpoint() after the last next()
};

/// Opens `stage` with `ctx` and calls next() until it says the input ended, an error comes or
/// at least `stop_after` records came out; each batch must hold at most ctx.batch_size rows.
/// With `checkpoint` (and a source that takes checkpoints, and no error), then asks for a
/// checkpoint, which must succeed and be one line. A source that never ends fails the test
/// after a million calls.
inline SourceRun run_source(const Stage& stage, const OpenContext& ctx,
                            std::size_t stop_after = kAllRecords, bool checkpoint = false) {
    SourceRun run;
    Result<OpenedStage> opened = stage.open(ctx);
    if (!opened) {
        run.error = opened.error();
        return run;
    }
    run.schema = opened->initial_schema;
    run.checkpoints = opened->checkpoints;
    auto* source = std::get_if<std::unique_ptr<SourceOperator>>(&opened->op);
    if (!source) {
        ADD_FAILURE() << "the stage is not a source";
        return run;
    }
    CollectingEmitter out;
    while (run.records < stop_after) {
        if (++run.next_calls > 1000000) {
            ADD_FAILURE() << "the source does not end";
            return run;
        }
        Result<bool> more = (*source)->next(out);
        for (Batch& b : out.take()) {
            EXPECT_LE(b.rows(), ctx.batch_size);
            run.records += b.rows();
            run.batches.push_back(std::move(b));
        }
        if (!more) {
            run.error = more.error();
            return run;
        }
        if (!*more) {
            run.ended = true;
            break;
        }
    }
    if (!checkpoint || !run.checkpoints) return run; // only sources that take them are asked
    Result<std::string> position = (*source)->checkpoint(Checkpoint{1, false});
    EXPECT_TRUE(position) << position.error().to_string();
    if (position) run.position = *position;
    EXPECT_EQ(run.position.find('\n'), std::string::npos);
    return run;
}

} // namespace conveyor::test
