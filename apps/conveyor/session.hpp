#pragma once

// What every command shares: the registry of built-in functions, loading a pipeline file with
// its diagnostics printed, the log level and stderr. One place, so that `run`, `validate`,
// `explain`, `graph`, `replay` and the generated documents see the same functions and report
// load problems the same way.

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"

#include <optional>
#include <spdlog/common.h>
#include <string>

namespace conveyor::cli {

/// Every built-in function, registered once per process.
const Registry& builtin_registry();

void print_err(const std::string& s);

/// Log level: --log-level, else CONVEYOR_LOG, else `fallback` ([global] log_level); `quiet`
/// (-q) makes the last two warn.
spdlog::level::level_enum pick_level(const std::optional<std::string>& flag, bool quiet,
                                     const std::string& fallback);

struct Loaded {
    std::optional<PipelineSpec> pipeline;
    int exit_code = 0; ///< when there is no pipeline
};

/// Loads `file` with the built-in registry; prints the diagnostics (and how many problems
/// there were) on stderr.
Loaded load(const std::string& file, const LoadOptions& options = {});

/// The executor named on the command line (CLI11 checked the spelling).
std::optional<ExecutorKind> executor_kind(const std::optional<std::string>& name);

} // namespace conveyor::cli
