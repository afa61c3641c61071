#include "conveyor/config/pipeline_spec.hpp"

#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stage.hpp"

#include <algorithm>
#include <unistd.h>

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

std::uint64_t PipelineSpec::memory_share() const {
    std::uint64_t limit = global.memory_limit;
    if (limit == 0) {
        const long pages = ::sysconf(_SC_PHYS_PAGES);
        const long page = ::sysconf(_SC_PAGE_SIZE);
        limit = pages > 0 && page > 0
                    ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 4
                    : std::uint64_t{1} << 30;
    }
    std::size_t holders = 0;
    for (const StageSpec& s : stages)
        holders += s.descriptor && s.descriptor->needs_whole_input ? 1 : 0;
    return limit / std::max<std::size_t>(1, holders);
}

std::optional<std::uint64_t> PipelineSpec::consumers_take_at_most(std::size_t i) const {
    std::optional<std::uint64_t> most;
    bool any = false;
    for (const StageSpec& c : stages)
        for (std::size_t k = 0; k < c.inputs.size(); ++k) {
            if (c.inputs[k] != stages[i].id) continue;
            const bool main = k >= c.input_outputs.size() || c.input_outputs[k].empty();
            const auto n = c.stage && main && c.inputs.size() == 1
                               ? c.stage->takes_at_most()
                               : std::optional<std::uint64_t>();
            if (!n) return std::nullopt;
            most = any ? std::max(*most, *n) : *n;
            any = true;
        }
    return most;
}

} // namespace conveyor
