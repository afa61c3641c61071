#pragma once

// Checks a stage's `[stages.config]` against its function's declared options. Private to
// lib/src/config.

#include "conveyor/option/options.hpp"
#include "conveyor/registry/registry.hpp"
#include "toml_util.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace conveyor::config {

/// Validates `config` (nullptr when the stage has none) against `fn.options` and fills `out`
/// with every given option (normalised to its declared type, aliases mapped to the canonical
/// name) and every default. Reports each problem; returns false when there was any.
bool validate_stage_options(LoadContext& ctx, const FunctionDescriptor& fn,
                            const toml::table* config, const SourceLocation& stage_where,
                            std::string_view stage_id, Options& out);

/// The keys of a [[stages]] entry itself (id, function, inputs, ...), as opposed to its
/// function's options in [stages.config].
const std::vector<std::string>& stage_keys();

/// "a boolean", "an integer", ... for "must be" messages.
std::string_view expected_type(OptionType type) noexcept;

} // namespace conveyor::config
