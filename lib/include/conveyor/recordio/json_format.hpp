#pragma once

#include <cstdint>
#include <string_view>

namespace conveyor::recordio::json {

enum class JsonFormat : std::uint8_t {
    Records, ///< one JSON array of objects
    Jsonl,   ///< one JSON object per line
    /// JSON objects one after another, each over any number of lines (what `jq .` prints):
    /// read only (json.read's format = "objects").
    Objects,
};

/// Jsonl when the path ends in .jsonl or .ndjson (any case), else Records.
JsonFormat default_format_for(std::string_view path);

} // namespace conveyor::recordio::json
