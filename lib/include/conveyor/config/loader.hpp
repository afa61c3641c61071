#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/diagnostic.hpp"
#include "conveyor/core/error.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor {

class Registry;

/// The largest pipeline file conveyor reads (4 MiB; real pipelines are a few KiB). Larger
/// files are refused with exit 78 before they are parsed.
inline constexpr std::size_t kMaxPipelineFileBytes = std::size_t{4} * 1024 * 1024;
/// How deep tables, arrays, inline tables and dotted keys may nest in a pipeline file (a real
/// pipeline nests 3 or 4 levels). Deeper text is refused with exit 78 and its line:column
/// before the TOML parser, which recurses once per level, could overflow the stack.
inline constexpr std::size_t kMaxPipelineNesting = 128;

struct LoadOptions {
    /// Environment lookup for `${NAME}`; the process environment when empty.
    std::function<std::optional<std::string>(std::string_view)> getenv;
    /// `conveyor run --executor`: replaces `[global] executor`.
    std::optional<ExecutorKind> executor_override;
    /// `conveyor run --shard I/N`: GlobalSpec::shard (the sources read their share, and the
    /// loader refuses stages whose sharded result would differ from one run's).
    std::optional<ShardId> shard;
    /// `conveyor run --set KEY=VALUE` (and --workers, ...), in order: put into the pipeline's
    /// TOML before it is read (config/overrides.hpp).
    std::vector<std::string> overrides;
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
/// `path` "-" reads the pipeline from standard input (named "<stdin>" in messages, "stdin" when
/// [pipeline] name is not given).
LoadResult load_pipeline_file(const std::string& path, const Registry& registry,
                              const LoadOptions& options = {});
/// The same for text in memory; `file_label` names it in messages.
LoadResult load_pipeline_text(std::string_view text, std::string file_label,
                              const Registry& registry, const LoadOptions& options = {});

/// Checks that `text` is TOML 1.0 within the limits above, without reading it as a pipeline:
/// the errors (located in `file_label`) the loader would report before looking at any
/// section. Empty when the text parses.
Diagnostics check_toml_text(std::string_view text, std::string file_label);

} // namespace conveyor
