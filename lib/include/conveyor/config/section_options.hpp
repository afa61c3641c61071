#pragma once

// The keys of the fixed sections, declared once as option tables bound to the structs they
// fill: [pipeline] -> PipelineSpec, [global] -> GlobalSpec, [error_handling] and a stage's
// [stages.error_handling] -> ErrorHandlingSpec (its dead_letter_queue sub-table too). Each
// key's type, default (the struct's initializer), bounds, choices and description live here
// only: the loader reads the sections through these tables, and `conveyor schema`,
// `conveyor describe global` and `conveyor new` are generated from them.

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/option/option_table.hpp"

#include <string>
#include <vector>

namespace conveyor {
class Registry;
}

namespace conveyor::config {

const OptionTable<PipelineSpec>& pipeline_options();
/// `plugins` is declared without choices: they are the registry's plugins (see below).
const OptionTable<GlobalSpec>& global_options();
const OptionTable<ErrorHandlingSpec>& error_handling_options();
/// [error_handling.dead_letter_queue]: `enabled` and `path`, filling ErrorHandlingSpec too.
const OptionTable<ErrorHandlingSpec>& dead_letter_options();

/// A stage's [stages.buffer] -> BufferSpec.
const OptionTable<BufferSpec>& buffer_options();
const std::vector<std::string>& buffer_keys();

/// global_options()'s declarations with `plugins` choosing among `registry`'s plugins.
std::vector<OptionSpec> global_option_specs(const Registry& registry);

/// The keys each section accepts (table order), for "did you mean" and misplaced-key hints.
const std::vector<std::string>& pipeline_keys();
const std::vector<std::string>& global_keys();
const std::vector<std::string>& error_handling_keys();

} // namespace conveyor::config
