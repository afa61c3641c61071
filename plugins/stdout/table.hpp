#pragma once

#include "conveyor/core/batch.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace conveyor::plugins::stdout_sink {

/// Renders records as an aligned text table for people (not for parsing): a header, a rule,
/// one line per record; numbers right-aligned, long cells cut at `max_cell` characters.
/// `total_rows` may exceed the rows given (then a "showing N of M" footer says so).
std::string render_table(const std::vector<Batch>& batches, std::size_t total_rows,
                         std::size_t max_cell = 40);

} // namespace conveyor::plugins::stdout_sink
