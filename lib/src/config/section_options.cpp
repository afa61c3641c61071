#include "conveyor/config/section_options.hpp"

#include "conveyor/config/limits.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"

namespace conveyor::config {

namespace {

/// An enum's spellings (from pipeline_spec.cpp's tables) as add_choice takes them.
template <class E>
std::vector<std::pair<std::string, E>>
spellings(const std::vector<std::string>& names,
          std::optional<E> (*parse)(std::string_view) noexcept) {
    std::vector<std::pair<std::string, E>> out;
    for (const std::string& n : names)
        if (const std::optional<E> v = parse(n)) out.emplace_back(n, *v);
    return out;
}

OptionInfo seconds(std::string description, bool allow_zero) {
    return {.description = std::move(description),
            .min = 0,
            .max = kMaxSeconds,
            .min_exclusive = !allow_zero,
            .unit = OptionUnit::Seconds};
}

OptionInfo bytes(std::string description, std::string default_note) {
    return {.description = std::move(description),
            .min = 1,
            .max = static_cast<double>(kMaxBufferedBytes),
            .unit = OptionUnit::Bytes,
            .default_note = std::move(default_note)};
}

std::vector<std::string> names_of(const std::vector<OptionSpec>& specs) {
    std::vector<std::string> out;
    for (const OptionSpec& s : specs)
        out.push_back(s.name);
    return out;
}

} // namespace

const OptionTable<PipelineSpec>& pipeline_options() {
    static const auto table = OptionTable<PipelineSpec>()
                                  .add("name", &PipelineSpec::name,
                                       {.description = "Name shown in logs and metrics.",
                                        .min_length = 1,
                                        .default_note = "the pipeline file's name without .toml"})
                                  .add("version", &PipelineSpec::version,
                                       {.description = "Free-form version of the pipeline."})
                                  .add("description", &PipelineSpec::description,
                                       {.description = "What the pipeline does."});
    return table;
}

const OptionTable<GlobalSpec>& global_options() {
    static const auto table =
        OptionTable<GlobalSpec>()
            .add_choice("executor", &GlobalSpec::executor,
                        spellings<ExecutorKind>(executor_names(), parse_executor),
                        {.description = "How stages are scheduled: dag (level by level), channel "
                                        "(bounded channel per edge) or async (one actor and "
                                        "mailbox per stage)."})
            .add("channel_buffer_size", &GlobalSpec::channel_buffer_size,
                 {.description = "Records per edge (channel) or per stage mailbox (async).",
                  .min = 1,
                  .max = kMaxChannelBuffer})
            .add("concurrency", &GlobalSpec::concurrency,
                 {.description = "In-flight requests of I/O stages (http.fetch).",
                  .min = 1,
                  .max = kMaxConcurrency})
            .add("log_level", &GlobalSpec::log_level,
                 {.description = "Log level (--log-level and CONVEYOR_LOG override it).",
                  .choices = log_level_names()})
            .add("plugins", &GlobalSpec::plugins,
                 {.description = "Optional plugins to enable (all when omitted).",
                  .example = "[\"http\"]"})
            .add_choice("execution_mode", &GlobalSpec::execution_mode,
                        spellings<ExecutionMode>(execution_mode_names(), parse_execution_mode),
                        {.description = "batch, or streaming (refuses stages that need their "
                                        "whole input)."})
            .add("timeout_seconds", &GlobalSpec::timeout_seconds,
                 [] {
                     OptionInfo i =
                         seconds("Bounds the whole run (exit 75 when it elapses).", false);
                     i.default_note = "no bound";
                     i.example = "3600";
                     return i;
                 }())
            .add("variables", &GlobalSpec::variables,
                 {.description = "Values for ${name} in string values; may use ${ENV:-default}."})
            .add("workers", &GlobalSpec::workers,
                 {.description = "Worker threads for transforms and sinks, and for the work "
                                 "csv.read (parsing a regular file in chunks) and json.write "
                                 "(encoding batches for a file) split over them when there are "
                                 "more than one; 0 = one per hardware thread.",
                  .min = 0,
                  .max = kMaxWorkers})
            .add("batch_size", &GlobalSpec::batch_size,
                 {.description = "Records per batch a source aims for.",
                  .min = 1,
                  .max = kMaxBatchSize})
            .add("max_buffered_bytes", &GlobalSpec::max_buffered_bytes,
                 bytes("dag only: memory the materialised edges hold before they spill to "
                       "state_dir, bytes or \"512MB\", \"2GiB\".",
                       "their share of memory_limit"))
            .add("memory_limit", &GlobalSpec::memory_limit,
                 [] {
                     OptionInfo i =
                         bytes("Memory the stages that hold their input (sort, group-by, join, "
                               "distinct) and dag's materialised edges share, bytes or \"256MiB\"; "
                               "beyond it they spill to state_dir.",
                               "a quarter of RAM");
                     i.example = "\"1GiB\"";
                     return i;
                 }())
            .add("shutdown_timeout_seconds", &GlobalSpec::shutdown_timeout_seconds,
                 seconds("Grace period after SIGINT/SIGTERM/SIGHUP.", false))
            .add("state_dir", &GlobalSpec::state_dir,
                 {.description = "Lock file, run journal and spill files.",
                  .min_length = 1,
                  .default_note = ".conveyor/ beside the pipeline file"})
            .add("lock", &GlobalSpec::lock,
                 {.description = "One run at a time (like --lock; exit 4 otherwise)."})
            .add("checkpoint_interval", &GlobalSpec::checkpoint_interval,
                 {.description = "Records between checkpoints, and journal entries between "
                                 "fsyncs (for --resume); 0 turns checkpoints off.",
                  .min = 0,
                  .max = static_cast<double>(kMaxCheckpointInterval)})
            .add_choice("partition", &GlobalSpec::partition,
                        spellings<Partition>(partition_names(), parse_partition),
                        {.description = "A sharded run (conveyor run --shard I/N, backend): how "
                                        "each source that does not say otherwise divides its "
                                        "records: \"rows\" (record-aligned byte ranges of a CSV "
                                        "file), \"hash\" (the shard picked by partition_key's "
                                        "value; group-by, distinct and join on that key give "
                                        "one run's result), \"files\" (the files of a glob "
                                        "path, dealt out whole by size). See "
                                        "docs/scale-out.md."})
            .add("partition_key", &GlobalSpec::partition_key,
                 {.description = "partition = \"hash\": the field whose value picks a "
                                 "record's shard (a source's own `key` overrides it).",
                  .example = "\"customer_id\""})
            .add_choice("backend", &GlobalSpec::backend,
                        spellings<Backend>(backend_names(), parse_backend),
                        {.description = "none: one process. local: `conveyor run` runs "
                                        "`processes` shards as processes on this machine, then "
                                        "finalizes. auto: a shard from the environment when a "
                                        "batch engine started us (SLURM_ARRAY_TASK_ID, "
                                        "JOB_COMPLETION_INDEX, CONVEYOR_SHARD), else local."})
            .add("processes", &GlobalSpec::processes,
                 {.description = "backend = \"local\": the number of shards (processes); 0 = "
                                 "one per hardware thread.",
                  .min = 0,
                  .max = 4096});
    return table;
}

const OptionTable<ErrorHandlingSpec>& error_handling_options() {
    static const auto table =
        OptionTable<ErrorHandlingSpec>()
            .add_choice("strategy", &ErrorHandlingSpec::strategy,
                        spellings<ErrorStrategy>(strategy_names(), parse_strategy),
                        {.description = "stop: the first failure cancels the run; continue: "
                                        "isolate the failing stage (exit 3); retry: retry what "
                                        "can be retried."})
            .add("max_retries", &ErrorHandlingSpec::max_retries,
                 {.description = "Retries of a failing operation.", .min = 0, .max = kMaxRetries})
            .add("retry_delay_seconds", &ErrorHandlingSpec::retry_delay_seconds,
                 seconds("First delay between retries.", true))
            .add("max_retry_delay_seconds", &ErrorHandlingSpec::max_retry_delay_seconds,
                 seconds("Longest delay between retries (raised to retry_delay_seconds when "
                         "not given).",
                         true))
            .add_choice("on_exhausted", &ErrorHandlingSpec::on_exhausted,
                        spellings<ErrorStrategy>(on_exhausted_names(), parse_strategy),
                        {.description = "retry: what to do once retries are exhausted."})
            // Read through dead_letter_options().
            .declare("dead_letter_queue", OptionType::Table,
                     {.description = "Where failed records go (run-wide only): a table with "
                                     "enabled and path."});
    return table;
}

const OptionTable<ErrorHandlingSpec>& dead_letter_options() {
    static const auto table =
        OptionTable<ErrorHandlingSpec>()
            .add("enabled", &ErrorHandlingSpec::dead_letter_enabled,
                 {.description = "Send the records stages give up on to `path`."})
            // Not min_length = 1: an empty path is an error only when the queue is enabled.
            .add("path", &ErrorHandlingSpec::dead_letter_path,
                 {.description = "NDJSON file receiving the records stages give up on."});
    return table;
}

const OptionTable<BufferSpec>& buffer_options() {
    using B = BufferSpec;
    static const auto table =
        OptionTable<BufferSpec>()
            .add_choice("type", &B::type, {{"memory", B::Type::Memory}, {"disk", B::Type::Disk}},
                        {.description = "memory: the stage's input queue holds at most "
                                        "max_records records in memory; disk: beyond that, "
                                        "what comes waits in files under state_dir (read back "
                                        "in order), so the producers never wait for this stage."})
            .add("max_records", &B::max_records,
                 {.description = "Records the queue holds in memory.",
                  .min = 1,
                  .max = 1e9,
                  .default_note = "channel_buffer_size",
                  .example = "10000"})
            .add("max_bytes", &B::max_bytes,
                 bytes("Bytes of records the queue holds in memory, bytes or \"64MiB\".",
                       "no bound but max_records"))
            .add_choice("when_full", &B::when_full,
                        {{"block", B::WhenFull::Block}, {"drop_newest", B::WhenFull::DropNewest}},
                        {.description = "type = \"memory\": a full queue makes its producers "
                                        "wait (nothing is lost), or drops the records that come "
                                        "(counted as dropped)."});
    return table;
}

const std::vector<std::string>& buffer_keys() {
    static const std::vector<std::string> keys = names_of(buffer_options().specs());
    return keys;
}

std::vector<OptionSpec> global_option_specs(const Registry& registry) {
    std::vector<OptionSpec> specs = global_options().specs();
    for (OptionSpec& s : specs)
        if (s.name == "plugins")
            for (const PluginInfo& p : registry.plugins())
                s.choices.push_back(p.name);
    return specs;
}

const std::vector<std::string>& pipeline_keys() {
    static const std::vector<std::string> keys = names_of(pipeline_options().specs());
    return keys;
}

const std::vector<std::string>& global_keys() {
    static const std::vector<std::string> keys = names_of(global_options().specs());
    return keys;
}

const std::vector<std::string>& error_handling_keys() {
    static const std::vector<std::string> keys = names_of(error_handling_options().specs());
    return keys;
}

} // namespace conveyor::config
