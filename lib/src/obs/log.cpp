#include "conveyor/obs/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace conveyor {

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
    if (name == "trace") return spdlog::level::trace;
    if (name == "debug") return spdlog::level::debug;
    if (name == "info") return spdlog::level::info;
    if (name == "warn" || name == "warning") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    if (name == "critical") return spdlog::level::critical;
    if (name == "off") return spdlog::level::off;
    return std::nullopt;
}

void configure_logging(spdlog::level::level_enum level) {
    static bool installed = false;
    if (!installed) {
        auto logger = spdlog::stderr_color_mt("conveyor");
        logger->set_pattern("%^[%H:%M:%S.%e %l]%$ %v");
        spdlog::set_default_logger(logger);
        installed = true;
    }
    spdlog::set_level(level);
}

} // namespace conveyor
