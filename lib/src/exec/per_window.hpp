#pragma once

// A stage that needs its whole input (sort, group-by, distinct, reduce, join) under
// execution_mode = "streaming", after window.apply: it runs once per window. Records go to
// the instance of their window (by `window_start`); when the window's WindowClosed arrives,
// that instance finishes, its output goes on, then the WindowClosed itself. Records without a
// window_start go to one more instance, finished at the end of the input.
//
// A stage with several inputs (join.apply) pairs the windows of its inputs by window_start:
// the instance of a window is told an input has ended (input_done) when that input closes the
// window (or ends), and it finishes once every input has closed it; the WindowClosed goes on
// once, then. A window that closes on one input before any record of it arrived on another
// still gets its instance (a right join keeps the right side's records of that window).

#include "conveyor/stage/stage.hpp"

#include <memory>

namespace conveyor::exec {

/// Wraps `first`, opened from `stage` with `ctx`: further windows open `stage` again with a
/// copy of `ctx` (its input schemas copied too).
std::unique_ptr<Operator> per_window(const Stage& stage, const OpenContext& ctx,
                                     std::unique_ptr<Operator> first);

} // namespace conveyor::exec
