#pragma once

// A sink opened and driven by hand as the executor drives it (push, then input_done and
// finish), for the sinks' checkpoint tests.

#include "conveyor/core/run_context.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/emitter.hpp"
#include "conveyor/stage/stage.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::test {

struct SinkDriver {
    explicit SinkDriver(std::string id = "save") : stage_id(std::move(id)), metrics(stage_id) {}

    std::string stage_id;
    RunContext run;
    StageMetrics metrics;
    std::vector<SchemaRef> input_schemas{nullptr};
    std::unique_ptr<Operator> op;
    bool checkpoints = false; ///< what open() said (OpenedStage::checkpoints)
    CollectingEmitter emitter;

    /// Opens `stage` with one input of schema `input` (nullptr: unknown), resuming from
    /// `resume` when given.
    Status open(const Stage& stage, SchemaRef input, std::optional<std::string> resume,
                ExecutionMode mode = ExecutionMode::Batch) {
        input_schemas = {std::move(input)};
        OpenContext ctx;
        ctx.stage_id = stage_id;
        ctx.input_schemas = input_schemas;
        ctx.run = &run;
        ctx.metrics = &metrics;
        ctx.mode = mode;
        ctx.resume = std::move(resume);
        Result<OpenedStage> opened = stage.open(ctx);
        if (!opened.ok()) return std::move(opened).error();
        checkpoints = opened->checkpoints;
        op = std::move(std::get<std::unique_ptr<Operator>>(opened->op));
        return {};
    }
    /// Pushes batches [from, to) of `batches`.
    Status push(std::vector<Batch>& batches, std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to && i < batches.size(); ++i)
            CONVEYOR_TRY(op->push(0, std::move(batches[i]), emitter));
        return {};
    }
    Status finish() {
        CONVEYOR_TRY(op->input_done(0, emitter));
        return op->finish(emitter);
    }
};

} // namespace conveyor::test
