#pragma once

namespace conveyor {
class Registry;
}

namespace conveyor::plugins::json {

/// Adds json.extract: a value picked out of a field holding JSON text or a nested value.
void register_extract(Registry& registry);

} // namespace conveyor::plugins::json
