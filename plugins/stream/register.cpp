#include "conveyor/registry/registry.hpp"

#include <vector>

namespace conveyor::plugins {

namespace {

/// Streaming mode: every batch goes straight on.
class PassThrough final : public Operator {
public:
    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        out.emit(std::move(batch));
        return {};
    }
};

/// Batch mode: a barrier. Every batch is held until the input has ended, then all go on at
/// once, so what follows starts only with the complete input (the memory is the input's).
class Barrier final : public Operator {
public:
    Status push(std::size_t, Batch&& batch, Emitter&) override {
        if (!batch.empty()) held_.push_back(std::move(batch));
        return {};
    }
    Status finish(Emitter& out) override {
        for (Batch& b : held_)
            out.emit(std::move(b));
        held_.clear();
        return {};
    }

private:
    std::vector<Batch> held_;
};

class ToRecordsStage final : public Stage {
public:
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        std::unique_ptr<Operator> op;
        if (ctx.mode == ExecutionMode::Streaming)
            op = std::make_unique<PassThrough>();
        else
            op = std::make_unique<Barrier>();
        SchemaRef schema = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas.front();
        // Passing through keeps no state; holding everything until the end would need it saved.
        const bool passes_through = ctx.mode == ExecutionMode::Streaming;
        OpenedStage opened(std::move(op), std::move(schema));
        opened.fixed_schema = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed.front();
        opened.checkpoints = passes_through;
        return opened;
    }
};

} // namespace

/// stream.to_records's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor stream_to_records_descriptor() {
    FunctionDescriptor fn;
    fn.name = "stream.to_records";
    fn.role = StageRole::Transform;
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.summary =
        "Turn a stream into records: a barrier in batch mode, a pass-through when streaming";
    fn.description =
        "Accepted for pipelines written for the earlier tool, where a stream had to become "
        "records before a fan-out. Here every stage already exchanges records, so fan-out needs "
        "nothing. In batch mode it is a barrier: it holds its whole input and passes it on "
        "when the input has ended (what follows starts with the complete input; memory grows "
        "with the input). With execution_mode = \"streaming\" it passes every batch on at once.";
    fn.factory = [](BuildContext&) -> std::unique_ptr<Stage> {
        return std::make_unique<ToRecordsStage>();
    };
    return fn;
}

void register_stream(Registry& registry) {
    registry.add("stream.to_records", stream_to_records_descriptor);
}

} // namespace conveyor::plugins
