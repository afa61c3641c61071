#pragma once

#include "conveyor/registry/registry.hpp"

#include <cstdint>
#include <functional>

namespace conveyor::plugins::window {

/// Milliseconds since the Unix epoch: what window.apply takes as processing time. The stage
/// uses the system clock; tests give their own.
using WindowClock = std::function<std::int64_t()>;

/// The `window.apply` function with `clock` as its processing time.
FunctionDescriptor window_apply_descriptor(WindowClock clock);

} // namespace conveyor::plugins::window
