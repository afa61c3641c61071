#pragma once

// `conveyor run --set KEY=VALUE`: values put into the pipeline's TOML before it is read, so
// that they are expanded and validated like the file's own (and shown by --dry-run).
//   global.workers=4            [global] workers
//   global.variables.NAME=x     [global.variables] NAME (always text)
//   error_handling.strategy=x   [error_handling] strategy (and dead_letter_queue.KEY)
//   pipeline.name=x             [pipeline] name
//   stages.ID.KEY=VALUE         [stages.config] KEY of stage ID (function, inputs and
//                               description are the stage's own keys; error_handling.KEY
//                               and buffer.KEY its [stages.error_handling] and
//                               [stages.buffer]; KEY.SUB a table inside its config)
// VALUE is read as a TOML value when it is one (4, true, ["a", "b"], "quoted"), else as a
// string (x.csv); a key that takes a string takes a number or boolean as the text written.

#include "toml_util.hpp"

#include <string>
#include <vector>

namespace conveyor::config {

/// Applies `overrides` ("KEY=VALUE" each) to `root`; a malformed one, or a stage id no stage
/// has, is an error (located at "--set KEY=VALUE").
void apply_overrides(LoadContext& ctx, toml::table& root,
                     const std::vector<std::string>& overrides);

} // namespace conveyor::config
