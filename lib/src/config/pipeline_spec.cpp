#include "conveyor/config/pipeline_spec.hpp"

namespace conveyor {

std::string_view to_string(ExecutorKind kind) noexcept {
    switch (kind) {
    case ExecutorKind::Dag:
        return "dag";
    case ExecutorKind::Channel:
        return "channel";
    case ExecutorKind::Async:
        return "async";
    }
    return "dag";
}

std::string_view to_string(ErrorStrategy strategy) noexcept {
    switch (strategy) {
    case ErrorStrategy::Stop:
        return "stop";
    case ErrorStrategy::Continue:
        return "continue";
    case ErrorStrategy::Retry:
        return "retry";
    }
    return "stop";
}

std::string_view to_string(ExecutionMode mode) noexcept {
    return mode == ExecutionMode::Streaming ? "streaming" : "batch";
}

std::string StageSpec::input_label(std::size_t k) const {
    if (k < input_outputs.size() && !input_outputs[k].empty())
        return inputs[k] + "." + input_outputs[k];
    return inputs[k];
}

const StageSpec* PipelineSpec::find_stage(std::string_view id) const {
    for (const StageSpec& s : stages)
        if (s.id == id) return &s;
    return nullptr;
}

} // namespace conveyor
