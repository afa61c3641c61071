#pragma once

#include "conveyor/recordio/json_format.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "conveyor/stage/split_sink.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace conveyor::plugins::json {

/// The format json.read reads and json.write writes (recordio's).
using recordio::json::JsonFormat;

/// What a json.write stage is built from: json.write's option table fills it (the
/// initializers are the options' defaults).
struct JsonWriteConfig {
    std::string path; ///< "-" = the run's stdout
    JsonFormat format = JsonFormat::Records;
    bool pretty = false; ///< records only: each object indented by 2
    /// append (jsonl only: in place, one write per batch of whole lines), flush and fsync
    /// intervals.
    SinkWriting writing;
    SinkSplitting splitting;
    /// Built from `path` and `splitting`: set when the output is split over files.
    std::optional<SplitPlan> split;
    bool split_member = false; ///< one file of a split output
};

/// A json.write stage. Writing a file (not "-"), it takes part in checkpoints
/// (OpenedStage::checkpoints): Operator::checkpoint() hands everything to the file and returns
/// sink_checkpoint_text() with the writer's state after the common members:
/// `{"sink":"json.write","target":"out.json","append":false,
///   "file":"./.out.json.conveyor-4711-k3j5x0qa.tmp","length":5120,
///   "format":"records","pretty":false,"array_open":true}`
/// (`array_open`: the array has an element, so the next one needs a separator and finish()
/// closes it with "\n]"; jsonl ignores it). Opened with OpenContext::resume, the stage adopts
/// that file cut back to `length` and carries on; the finished file is the one an
/// uninterrupted run writes. Text that does not fit (malformed, another format or target)
/// fails open() before the file is touched.
std::unique_ptr<Stage> make_json_write(JsonWriteConfig config);

} // namespace conveyor::plugins::json
