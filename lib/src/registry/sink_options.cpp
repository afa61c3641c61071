#include "conveyor/registry/sink_options.hpp"

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/registry/registry.hpp"

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
    o.description = "With append = true: written data is made durable (fdatasync) once this "
                    "many milliseconds have passed since the previous sync (also when no more "
                    "records come), and when the stage ends; 0 syncs every write. Records are "
                    "visible to readers as soon as they are written either way.";
    return o;
}

OptionSpec flush_interval_option() {
    OptionSpec o;
    o.name = "flush_interval_ms";
    o.type = OptionType::Int;
    o.default_value = std::int64_t{0};
    o.min = 0.0;
    o.description = "In streaming mode (or with append = true): 0 writes every batch out as it "
                    "arrives; N writes at most every N milliseconds, in fewer and larger "
                    "writes, and no record waits longer than N. Whole lines either way.";
    return o;
}

SinkWriting read_sink_writing(BuildContext& ctx, const std::string& path) {
    const Options& o = ctx.options();
    SinkWriting w;
    w.append = o.find("append") && o.get_bool("append");
    if (o.find("flush_interval_ms")) w.flush_interval_ms = o.get_int("flush_interval_ms");
    if (o.find("fsync_interval_ms")) w.fsync_interval_ms = o.get_int("fsync_interval_ms");
    if (w.append && path == "-")
        ctx.error("append", "append = true writes to the end of a file; standard output has no "
                            "end to append to (leave append out)");
    if (o.given("flush_interval_ms") && !w.append &&
        ctx.global().execution_mode != ExecutionMode::Streaming)
        ctx.warning("flush_interval_ms", "flush_interval_ms only matters in streaming mode or "
                                         "with append = true (a file written whole is written "
                                         "out in large blocks)");
    if (o.given("fsync_interval_ms") && !w.append)
        ctx.warning("fsync_interval_ms", "fsync_interval_ms only matters with append = true (a "
                                         "file written whole is synced once, when it is complete)");
    return w;
}

} // namespace conveyor
