#pragma once

#include <cstddef>
#include <string_view>

namespace conveyor {

class Batch;

/// Sees the batches leaving a stage before they move downstream: `--tap` and
/// `--keep-intermediate` (obs/tap.hpp). Given to the executor through RunOptions::observer.
class BatchObserver {
public:
    virtual ~BatchObserver() = default;
    /// Asked once per stage before the run starts; stages nobody observes cost nothing.
    [[nodiscard]] virtual bool observes(std::string_view stage_id) const = 0;
    /// Called on the emitting stage's thread, before the batch moves on (several stages may
    /// call at once). Must not keep references into the batch. May block: the stage then
    /// waits, as it would for a full channel, so an observer never needs an unbounded queue.
    virtual void on_batch(std::string_view stage_id, const Batch& batch) = 0;
};

} // namespace conveyor
