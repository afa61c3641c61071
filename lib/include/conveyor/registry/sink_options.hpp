#pragma once

#include "conveyor/registry/options.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace conveyor {

class BuildContext;

/// `append`: file sinks add to the file in place (streaming runs) instead of replacing it when
/// the run succeeds. `detail` says what is particular to the sink (e.g. its header).
OptionSpec append_option(std::string_view detail);
/// `fsync_interval_ms`: how often appended data is made durable.
OptionSpec fsync_interval_option();
/// `flush_interval_ms`: how often a sink writing as records arrive writes its output out.
OptionSpec flush_interval_option();

/// How a file sink writes, from its `append`, `flush_interval_ms` and `fsync_interval_ms`.
struct SinkWriting {
    bool append = false;
    std::int64_t flush_interval_ms = 0;
    std::int64_t fsync_interval_ms = 1000;
};
/// Reads those options (the ones the function declares) for a sink writing `path`: append to
/// standard output is an error, an interval that cannot matter is a warning (fsync without
/// append; flush without append outside streaming mode).
SinkWriting read_sink_writing(BuildContext& ctx, const std::string& path);

} // namespace conveyor
