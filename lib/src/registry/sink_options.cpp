#include "conveyor/registry/sink_options.hpp"

#include <string>

namespace conveyor {

OptionSpec append_option(std::string_view detail) {
    OptionSpec o;
    o.name = "append";
    o.type = OptionType::Bool;
    o.default_value = false;
    o.description = "Append to the file in place instead of replacing it when the run succeeds: "
                    "records are written as they arrive, whole lines in one write per batch, so "
                    "a reader never sees half a record" +
                    std::string(detail.empty() ? "" : "; ") + std::string(detail) +
                    ". For streaming runs.";
    return o;
}

OptionSpec fsync_interval_option() {
    OptionSpec o;
    o.name = "fsync_interval_ms";
    o.type = OptionType::Int;
    o.default_value = std::int64_t{1000};
    o.min = 0.0;
    o.description = "With append = true: data is made durable (fdatasync) at the first batch "
                    "written this many milliseconds after the previous sync, and when the stage "
                    "ends; 0 syncs every batch. Records are visible to readers as soon as they "
                    "are written either way.";
    return o;
}

} // namespace conveyor
