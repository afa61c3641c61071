#pragma once

#include "conveyor/config/diagnostic.hpp"
#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/error.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor {

class Registry;

struct LoadOptions {
    /// Environment lookup for `${NAME}`; the process environment when empty.
    std::function<std::optional<std::string>(std::string_view)> getenv;
    /// `conveyor run --executor`: replaces `[global] executor`.
    std::optional<ExecutorKind> executor_override;
};

/// The outcome of loading: a pipeline, or every problem found (both may carry warnings).
struct LoadResult {
    std::optional<PipelineSpec> pipeline;
    Diagnostics diagnostics;
    /// Config (invalid file, exit 78) or NoInput (pipeline file missing, exit 66) on failure.
    ErrorKind failure = ErrorKind::Config;
};

/// Reads, expands (`${NAME}`, `${NAME:-default}`, `[global.variables]`), validates and builds
/// a pipeline. Reports every problem at once, each with file:line:column and stage id.
LoadResult load_pipeline_file(const std::string& path, const Registry& registry,
                              const LoadOptions& options = {});
/// The same for text in memory; `file_label` names it in messages.
LoadResult load_pipeline_text(std::string_view text, std::string file_label,
                              const Registry& registry, const LoadOptions& options = {});

} // namespace conveyor
