#pragma once

// The run-wide settings ([global] and [error_handling]) and the spellings of their enums: what
// the loader fills (config/section_options.hpp declares each key), what a function's factory
// reads (BuildContext::global) and what the executors run by. Below config, registry and
// stage, so that each of them can name these types.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

enum class ExecutionMode : std::uint8_t { Batch, Streaming };
enum class ExecutorKind : std::uint8_t { Dag, Channel, Async };
enum class ErrorStrategy : std::uint8_t { Stop, Continue, Retry };
/// How a sharded run divides a source's records (`partition`): record-aligned byte ranges,
/// the hash of a key field, or whole files of a glob dealt out by size.
enum class Partition : std::uint8_t { Rows, Hash, Files };
/// `[global] backend`: one process (none), N shards as processes here (local), or shards from
/// the environment of the engine that started us when it says so, else local (auto).
enum class Backend : std::uint8_t { None, Local, Auto };

/// Shard `index` of `count` (`--shard I/N`): 0 <= index < count.
struct ShardId {
    std::uint32_t index = 0;
    std::uint32_t count = 1;
    friend bool operator==(const ShardId&, const ShardId&) = default;
};

// Each enum's spellings in pipeline files and on the command line exist once (run_settings.cpp):
// to_string() gives a value's, parse_*() reads one, *_names() lists them (documentation order).
std::string_view to_string(ExecutorKind kind) noexcept;
std::string_view to_string(ErrorStrategy strategy) noexcept;
std::string_view to_string(ExecutionMode mode) noexcept;
std::optional<ExecutorKind> parse_executor(std::string_view name) noexcept;
std::optional<ErrorStrategy> parse_strategy(std::string_view name) noexcept;
std::optional<ExecutionMode> parse_execution_mode(std::string_view name) noexcept;
std::string_view to_string(Partition partition) noexcept;
std::optional<Partition> parse_partition(std::string_view name) noexcept;
const std::vector<std::string>& partition_names();
std::optional<Backend> parse_backend(std::string_view name) noexcept;
const std::vector<std::string>& backend_names();
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
    /// A sharded run's partitioning of every source that does not give its own `partition`.
    Partition partition = Partition::Rows;
    /// partition = "hash": the field whose value picks the shard (a source's `key` overrides).
    std::string partition_key;
    Backend backend = Backend::None;
    std::size_t processes = 0; ///< backend "local": shards (processes); 0 = hardware threads
    /// Set by `conveyor run --shard I/N` (LoadOptions::shard), never by the file: the sources
    /// read only their share of the records and the file sinks write parts.
    std::optional<ShardId> shard;
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

} // namespace conveyor
