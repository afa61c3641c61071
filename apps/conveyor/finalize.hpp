#pragma once

#include "conveyor/config/pipeline_spec.hpp"

#include <cstdint>
#include <optional>

namespace conveyor::cli {

/// `conveyor finalize`'s work on a loaded pipeline: for every file sink, checks the manifests
/// of all N committed parts (N = `shards`, else the count the committed parts name) and each
/// part's size and sha256, then concatenates the parts in shard order into the output (through
/// a temporary file renamed into place; a CSV header only once) and removes the parts, or with
/// `keep_parts` leaves them and writes `_SUCCESS` beside them. Nothing is written unless every
/// output's parts check out. Exit codes: 0; 66 a part or manifest missing; 65 a part that does
/// not match its manifest; 73 the output cannot be written; 64 no shard count to go by.
int finalize_outputs(const PipelineSpec& p, std::optional<std::uint32_t> shards, bool keep_parts);

} // namespace conveyor::cli
