#pragma once

#include <string>

namespace conveyor {
class Registry;
}

namespace conveyor::cli {

/// The JSON Schema (draft-07) of pipeline files for the functions in `registry`.
std::string pipeline_schema(const Registry& registry);

} // namespace conveyor::cli
