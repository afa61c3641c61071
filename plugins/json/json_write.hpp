#pragma once

#include "conveyor/registry/sink_options.hpp"
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
    /// append (jsonl only: in place, one write per batch of whole lines), flush and fsync
    /// intervals.
    SinkWriting writing;
};

std::unique_ptr<Stage> make_json_write(JsonWriteConfig config);

} // namespace conveyor::plugins::json
