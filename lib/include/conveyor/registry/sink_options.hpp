#pragma once

#include "conveyor/registry/options.hpp"

#include <string_view>

namespace conveyor {

/// `append`: file sinks add to the file in place (streaming runs) instead of replacing it when
/// the run succeeds. `detail` says what is particular to the sink (e.g. its header).
OptionSpec append_option(std::string_view detail);
/// `fsync_interval_ms`: how often appended data is made durable.
OptionSpec fsync_interval_option();
/// `flush_interval_ms`: how often a sink writing as records arrive writes its output out.
OptionSpec flush_interval_option();

} // namespace conveyor
