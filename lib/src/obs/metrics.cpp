#include "conveyor/obs/metrics.hpp"

#include <spdlog/spdlog.h>

namespace conveyor {

StageMetrics& MetricsRegistry::add(std::string stage_id) {
    std::lock_guard lock(mu_);
    return stages_.emplace_back(std::move(stage_id));
}

void warn_at_end(StageMetrics* metrics, std::string_view who, const std::string& message) {
    if (metrics)
        metrics->warnings().note(message, {});
    else
        spdlog::warn("{}: {}", who, message);
}

StageMetrics* MetricsRegistry::find(std::string_view stage_id) {
    std::lock_guard lock(mu_);
    for (StageMetrics& m : stages_)
        if (m.id == stage_id) return &m;
    return nullptr;
}

} // namespace conveyor

namespace conveyor {

std::string_view to_string(StageState state) noexcept {
    switch (state) {
    case StageState::Pending:
        return "pending";
    case StageState::Running:
        return "running";
    case StageState::WaitingForInput:
        return "waiting_for_input";
    case StageState::WaitingForOutput:
        return "waiting_for_output";
    case StageState::Done:
        return "done";
    case StageState::Failed:
        return "failed";
    }
    return "pending";
}

} // namespace conveyor
