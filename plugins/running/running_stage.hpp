#pragma once

// running.apply's stage: the definition built from its options, opening an operator that
// streams records through the running state, holding those that wait for a lead (spilling
// them beyond the stage's memory share).

#include "conveyor/stage/stage.hpp"
#include "running_spec.hpp"

namespace conveyor::plugins::running {

class RunningStage final : public Stage {
public:
    explicit RunningStage(RunningSpec spec) : spec_(std::move(spec)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override;
    /// With lead, records wait for the ones ahead of them.
    [[nodiscard]] bool may_hold_records() const override { return spec_.has_lead; }

private:
    RunningSpec spec_;
};

} // namespace conveyor::plugins::running
