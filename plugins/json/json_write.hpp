#pragma once

#include "conveyor/stage/stage.hpp"
#include "json_format.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace conveyor::plugins::json {

/// What a json.write stage is built from.
struct JsonWriteConfig {
    std::string path; ///< "-" = the run's stdout
    JsonFormat format = JsonFormat::Records;
    bool pretty = false; ///< records only: each object indented by 2
    /// jsonl only: append to the file in place, one write per batch of whole lines.
    bool append = false;
    /// Append mode: fdatasync at the first batch written this long after the last sync (0:
    /// every batch), and when the stage finishes.
    std::int64_t fsync_interval_ms = 1000;
    /// Hand every batch to the file at once (streaming mode); else buffered.
    bool flush_each_batch = false;
};

std::unique_ptr<Stage> make_json_write(JsonWriteConfig config);

} // namespace conveyor::plugins::json
