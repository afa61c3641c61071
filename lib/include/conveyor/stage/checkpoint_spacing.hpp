#pragma once

#include <cstdint>

namespace conveyor {

/// A capability of stages for which each checkpoint has a cost of its own (a database sink
/// commits a transaction at each), found with dynamic_cast on their Stage by the executor: the
/// run then takes its checkpoints at least min_checkpoint_interval() records apart, the larger
/// of it and `[global] checkpoint_interval` (which, at 0, still turns checkpoints off).
class CheckpointSpacing {
public:
    virtual ~CheckpointSpacing() = default;
    [[nodiscard]] virtual std::uint64_t min_checkpoint_interval() const = 0;
};

} // namespace conveyor
