#include "conveyor/stage/build_context.hpp"

namespace conveyor {

void BuildContext::error(std::string_view key, std::string message) {
    failed_ = true;
    diags_.error(options_.location(key), std::string(stage_id_), std::move(message));
}

void BuildContext::warning(std::string_view key, std::string message) {
    diags_.warning(options_.location(key), std::string(stage_id_), std::move(message));
}

} // namespace conveyor
