#pragma once

#include "conveyor/stage/stage.hpp"
#include "json_format.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace conveyor::plugins::json {

/// What a json.read stage is built from (the validated options, plus internal knobs).
struct JsonReadConfig {
    std::string path; ///< "-" = the run's stdin
    JsonFormat format = JsonFormat::Records;
    /// Bytes per read. Memory stays near two blocks plus the largest record; tests use tiny
    /// blocks to put records across block boundaries.
    std::size_t block_size = 1 << 20;
};

std::unique_ptr<Stage> make_json_read(JsonReadConfig config);

} // namespace conveyor::plugins::json
