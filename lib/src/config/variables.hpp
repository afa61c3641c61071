#pragma once

// `${NAME}` in a pipeline file: [global.variables] (which may use each other, in any order,
// and the environment; a cycle is an error naming it) and then every string value, each stage's
// messages naming the stage. A value that is exactly one `${...}` is noted in
// LoadContext::substituted, so that it takes the type of its option. Private to lib/src/config.

#include "conveyor/config/pipeline_spec.hpp"
#include "expand.hpp"
#include "toml_util.hpp"

namespace conveyor::config {

void expand_pipeline_variables(LoadContext& ctx, toml::table& root, GlobalSpec& global,
                               const VariableLookup& getenv);

} // namespace conveyor::config
