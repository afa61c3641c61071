#pragma once

#include "conveyor/stage/stream_stage.hpp"
#include "plan.hpp"

#include <boost/asio/awaitable.hpp>

namespace conveyor::exec {

/// A StreamOutput that can also explain why emit() returned false (dag memory cap).
class StageOutput : public StreamOutput {
public:
    [[nodiscard]] virtual std::optional<Error> failure() const { return std::nullopt; }
};

/// Runs one stage until its inputs end (or, for a source, its input ends or a stop is
/// requested): the one loop shared by every executor. Sync operators are called batch by
/// batch and their output drained through `out` (awaiting room: backpressure); stream
/// operators run their own coroutine. Counts records and busy time. Returns the stage's
/// status; on cancellation returns a Cancelled error without calling finish().
boost::asio::awaitable<Status> drive_stage(Node& node, StreamInput& in, StageOutput& out,
                                           RunContext& run);

} // namespace conveyor::exec
