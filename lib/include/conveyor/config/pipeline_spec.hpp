#pragma once

#include "conveyor/config/diagnostic.hpp"
#include "conveyor/registry/options.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {

struct FunctionDescriptor;

enum class ExecutorKind : std::uint8_t { Dag, Channel, Async };
enum class ErrorStrategy : std::uint8_t { Stop, Continue, Retry };

// Each enum's spellings in pipeline files and on the command line exist once (pipeline_spec.cpp):
// to_string() gives a value's, parse_*() reads one, *_names() lists them (documentation order).
std::string_view to_string(ExecutorKind kind) noexcept;
std::string_view to_string(ErrorStrategy strategy) noexcept;
std::string_view to_string(ExecutionMode mode) noexcept;
std::optional<ExecutorKind> parse_executor(std::string_view name) noexcept;
std::optional<ErrorStrategy> parse_strategy(std::string_view name) noexcept;
std::optional<ExecutionMode> parse_execution_mode(std::string_view name) noexcept;
const std::vector<std::string>& executor_names();
const std::vector<std::string>& strategy_names();
/// What `on_exhausted` takes: the strategies but retry.
const std::vector<std::string>& on_exhausted_names();
const std::vector<std::string>& execution_mode_names();

/// `[global]`. Defaults here are the documented defaults.
struct GlobalSpec {
    ExecutorKind executor = ExecutorKind::Dag;
    std::size_t channel_buffer_size = 100; ///< records per edge (channel/async)
    std::size_t concurrency = 10;          ///< default in-flight requests of I/O stages
    std::string log_level = "info";
    std::optional<std::vector<std::string>> plugins; ///< optional plugins enabled (all if unset)
    ExecutionMode execution_mode = ExecutionMode::Batch;
    std::optional<double> timeout_seconds;        ///< bounds the whole run
    std::map<std::string, std::string> variables; ///< `${name}` substitutions
    std::size_t workers = 0;                      ///< worker threads; 0 = hardware threads
    std::size_t batch_size = 4096;                ///< records per batch a source aims for
    /// dag's materialised edges: memory they hold before they spill (sets their share of
    /// memory_limit); 0 = their share.
    std::uint64_t max_buffered_bytes = 0;
    /// Memory the stages that hold their input (sort, group-by, join, distinct) and, under
    /// dag, the materialised edges share; beyond it they spill to state_dir. 0 = a quarter
    /// of RAM.
    std::uint64_t memory_limit = 0;
    double shutdown_timeout_seconds = 10.0; ///< grace period after SIGINT/SIGTERM
    /// Run state (lock file, journal); empty = `.conveyor/` beside the pipeline file.
    std::string state_dir;
    bool lock = false;                        ///< one run at a time per pipeline (also --lock)
    std::uint64_t checkpoint_interval = 1000; ///< records between checkpoints (--resume)
};

/// `[error_handling]` (run-wide) and `[stages.error_handling]` (one stage's override; the
/// dead-letter queue is run-wide only).
struct ErrorHandlingSpec {
    ErrorStrategy strategy = ErrorStrategy::Stop;
    std::uint32_t max_retries = 3;
    double retry_delay_seconds = 1.0;
    double max_retry_delay_seconds = 60.0;
    /// strategy = "retry": what happens once retries are exhausted (Stop or Continue).
    ErrorStrategy on_exhausted = ErrorStrategy::Stop;
    bool dead_letter_enabled = false;
    std::string dead_letter_path;

    /// Whether a failure that is not retried (or no longer) skips the record/stage and lets
    /// the run go on.
    [[nodiscard]] bool continues() const noexcept {
        return strategy == ErrorStrategy::Continue ||
               (strategy == ErrorStrategy::Retry && on_exhausted == ErrorStrategy::Continue);
    }
};

/// One `[[stages]]` entry after validation: options checked against the function's
/// declaration and the stage definition built.
struct StageSpec {
    std::string id;
    std::string function;
    std::vector<std::string> inputs;
    /// Per input: the named output of that stage it reads ("" = its main output), from
    /// inputs = ["router.big"].
    std::vector<std::string> input_outputs;
    Options config;
    SourceLocation where; ///< the stage's `[[stages]]` header
    const FunctionDescriptor* descriptor = nullptr;
    std::shared_ptr<const Stage> stage;
    /// The run-wide [error_handling] with this stage's [stages.error_handling] applied.
    ErrorHandlingSpec error_handling;
    std::string description; ///< the optional `description` of the [[stages]] entry

    /// Input k as the file names it: "<stage>" or "<stage>.<output>".
    [[nodiscard]] std::string input_label(std::size_t k) const;
};

/// A validated pipeline: what `conveyor run` executes.
struct PipelineSpec {
    std::string name;
    std::string version;
    std::string description;
    std::string file; ///< the file it was loaded from (or a label for strings)
    GlobalSpec global;
    ErrorHandlingSpec error_handling;
    std::vector<StageSpec> stages; ///< in file order

    [[nodiscard]] const StageSpec* find_stage(std::string_view id) const;
    /// When every consumer of stage `i` takes at most N of its records (limit.apply after a
    /// sort: Stage::takes_at_most), the largest such N; nullopt otherwise.
    [[nodiscard]] std::optional<std::uint64_t> consumers_take_at_most(std::size_t i) const;
    /// [global] memory_limit, or a quarter of RAM when unset.
    [[nodiscard]] std::uint64_t memory_limit() const;
    /// The memory a stage that holds its input (FunctionDescriptor::needs_whole_input) may
    /// use before it spills: memory_limit() shared equally by those stages and, under dag,
    /// the materialised edges.
    [[nodiscard]] std::uint64_t memory_share() const;
    /// What dag's materialised edges together hold in memory before they spill:
    /// max_buffered_bytes when set, else their share of memory_limit().
    [[nodiscard]] std::uint64_t edge_share() const;
    /// Whether some stage holds its input or dag materialises some edge: the run may hold
    /// much of its data in memory.
    [[nodiscard]] bool holds_data() const;
};

} // namespace conveyor
