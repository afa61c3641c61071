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
#include <string_view>

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

/// What can be said of each source's `path` before a run fails on it (exit 66): a directory, or
/// a relative path that is not in the current directory but is beside the pipeline file
/// (`conveyor run cfg/p.toml` from another directory, the newcomer's usual mistake). Each is a
/// line on stderr, "<file:line:col>: <label>: ...": validate warns, run explains its 66.
void explain_input_paths(const PipelineSpec& p, const std::string& file, std::string_view label);

/// The executor named on the command line (CLI11 checked the spelling).
std::optional<ExecutorKind> executor_kind(const std::optional<std::string>& name);

} // namespace conveyor::cli
