#pragma once

// Readers of the fixed sections: [pipeline], [global], [error_handling], through their option
// tables (conveyor/config/section_options.hpp). Private to lib/src/config.

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/config/section_options.hpp"
#include "toml_util.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace conveyor {
class Registry;
}

namespace conveyor::config {

void read_pipeline_section(LoadContext& ctx, const toml::node& node, PipelineSpec& spec);
/// Reads every [global] key but `variables` (expanded and read before everything else).
/// A `plugins` list with problems is reported and left unset, so that stages do not also
/// complain about plugins the user did try to enable.
void read_global_section(LoadContext& ctx, const toml::node& node, const Registry& registry,
                         GlobalSpec& global);
/// Reads `[error_handling]` into `spec`. For a stage's `[stages.error_handling]` pass its
/// `stage_id`: the keys override the run-wide values already in `spec`, and the dead-letter
/// queue (run-wide) is refused.
void read_error_handling_section(LoadContext& ctx, const toml::node& node, ErrorHandlingSpec& spec,
                                 const std::string& stage_id = {});

/// Reads stage `stage_id`'s `[stages.buffer]` into `spec`.
void read_buffer_section(LoadContext& ctx, const toml::node& node, BufferSpec& spec,
                         const std::string& stage_id);

/// The value [global] key `key` has in `global`, as an option value (null for an unknown
/// key): the default of a stage option that inherits it.
OptionValue global_value(const GlobalSpec& global, std::string_view key);

/// "512MB", "2GiB", "1.5 GB", "100" -> bytes; KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB
/// powers of 1024; units are case-insensitive. nullopt when malformed, zero or too large.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

} // namespace conveyor::config
