#pragma once

// Logging goes to stderr only (stdout carries data). Use spdlog's free functions
// (spdlog::info, spdlog::debug, ...) after configure_logging().

#include <optional>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

/// "trace" | "debug" | "info" | "warn" | "error" | "off" (also "warning", "critical").
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);
/// Every spelling parse_log_level() takes, in order of verbosity (for [global] log_level, the
/// command line and the schema).
const std::vector<std::string>& log_level_names();

/// Installs the stderr logger with `level`; idempotent.
void configure_logging(spdlog::level::level_enum level);

} // namespace conveyor
