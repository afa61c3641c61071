#pragma once

// A stage that needs its whole input (sort, group-by, distinct, reduce) under
// execution_mode = "streaming", after window.apply: it runs once per window. Records go to
// the instance of their window (by `window_start`); when the window's WindowClosed arrives,
// that instance finishes, its output goes on, then the WindowClosed itself. Records without a
// window_start go to one more instance, finished at the end of the input.

#include "conveyor/stage/stage.hpp"

#include <memory>

namespace conveyor::exec {

/// Wraps `first`, opened from `stage` with `ctx`: further windows open `stage` again with a
/// copy of `ctx` (its input schemas copied too).
std::unique_ptr<Operator> per_window(const Stage& stage, const OpenContext& ctx,
                                     std::unique_ptr<Operator> first);

} // namespace conveyor::exec
