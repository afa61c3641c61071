#include "conveyor/obs/metrics.hpp"

namespace conveyor {

StageMetrics& MetricsRegistry::add(std::string stage_id) {
    std::lock_guard lock(mu_);
    return stages_.emplace_back(std::move(stage_id));
}

StageMetrics* MetricsRegistry::find(std::string_view stage_id) {
    std::lock_guard lock(mu_);
    for (StageMetrics& m : stages_)
        if (m.id == stage_id) return &m;
    return nullptr;
}

} // namespace conveyor
