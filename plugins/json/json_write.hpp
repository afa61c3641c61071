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
    /// Append mode: fdatasync once this long has passed since the last sync (0: every
    /// write), and when the stage finishes.
    std::int64_t fsync_interval_ms = 1000;
    /// Streaming or append mode: write out every batch (0) or at most every N ms.
    std::int64_t flush_interval_ms = 0;
};

std::unique_ptr<Stage> make_json_write(JsonWriteConfig config);

} // namespace conveyor::plugins::json
