#include "conveyor/exec/probe.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/graph/dag.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/connection_check.hpp"
#include "conveyor/stage/stream_stage.hpp"

#include <map>
#include <memory>

namespace conveyor {

namespace {

/// Ends an opened stage's run without running it.
void abort_opened(OpenedStage& opened) {
    std::visit([](auto& op) { op->abort(); }, opened.op);
}

/// Whether stage `s` may be opened by a probe.
bool probed(const StageSpec& s) {
    if (!s.stage || !s.descriptor) return false;
    switch (s.descriptor->role) {
    case StageRole::Sink:
        return false;
    case StageRole::Source:
        return s.stage->can_probe();
    case StageRole::Transform:
        return !s.descriptor->asynchronous; // I/O stages may connect when they open
    }
    return false;
}

} // namespace

std::vector<Error> probe_pipeline(const PipelineSpec& pipeline) {
    const std::size_t n = pipeline.stages.size();
    std::map<std::string_view, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i)
        index.emplace(pipeline.stages[i].id, i);
    Dag dag(n);
    for (std::size_t i = 0; i < n; ++i)
        for (const std::string& in : pipeline.stages[i].inputs)
            if (auto it = index.find(in); it != index.end()) dag.add_edge(it->second, i);

    RunContext run;
    std::vector<SchemaRef> schema(n);
    std::vector<char> fixed(n, 0);
    std::vector<std::optional<Error>> errors(n);
    for (std::size_t i : dag.topological_order()) {
        const StageSpec& s = pipeline.stages[i];
        if (!probed(s)) continue;
        std::vector<SchemaRef> schemas;
        std::unique_ptr<bool[]> fixed_in(new bool[s.inputs.size() + 1]());
        for (std::size_t k = 0; k < s.inputs.size(); ++k) {
            const auto it = index.find(s.inputs[k]);
            if (it == index.end()) {
                schemas.push_back(nullptr);
                continue;
            }
            schemas.push_back(schema[it->second]);
            // A named output may add fields (validate.schema's _errors): its schema is not
            // known for certain.
            const bool main = k >= s.input_outputs.size() || s.input_outputs[k].empty();
            fixed_in[k] = main && fixed[it->second] && schema[it->second];
        }
        const std::size_t named = s.stage->named_outputs().size();
        std::unique_ptr<bool[]> unread(new bool[named + 1]());
        StageMetrics metrics(s.id);
        OpenContext ctx;
        ctx.stage_id = s.id;
        ctx.input_schemas = schemas;
        ctx.input_schemas_fixed = std::span<const bool>(fixed_in.get(), s.inputs.size());
        ctx.mode = pipeline.global.execution_mode;
        ctx.run = &run;
        ctx.metrics = &metrics;
        ctx.named_outputs_read = std::span<const bool>(unread.get(), named);
        Result<OpenedStage> opened = s.stage->open(ctx);
        if (!opened) {
            Error e = std::move(opened).error();
            if (e.kind == ErrorKind::Config) errors[i] = std::move(e).in_stage(s.id);
            continue;
        }
        schema[i] = opened->initial_schema;
        fixed[i] = opened->fixed_schema ? 1 : 0;
        abort_opened(*opened);
    }
    std::vector<Error> out;
    for (std::optional<Error>& e : errors)
        if (e) out.push_back(std::move(*e));
    return out;
}

std::vector<Error> check_connections(const PipelineSpec& pipeline) {
    std::vector<Error> out;
    for (const StageSpec& s : pipeline.stages) {
        const auto* check = dynamic_cast<const ConnectionCheck*>(s.stage.get());
        if (!check) continue;
        if (Status st = check->check_connection(); !st)
            out.push_back(std::move(st).error().in_stage(s.id));
    }
    return out;
}

} // namespace conveyor
