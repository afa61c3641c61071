#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace conveyor::cli {

/// Called first in main(): opens /dev/null on each of descriptors 0, 1 and 2 that is closed,
/// before any file can take that number (stdin and stdout so that using them fails).
void reserve_standard_fds();
/// Called first in main(): keeps argv for use_huge_pages().
void note_start(char** argv);
/// The argv note_start() kept (for running ourselves again: huge pages, local shards).
char** start_argv();
/// Starts the process again with glibc's transparent huge pages on, where the machine gives
/// them only to those who ask (returns when it does not: already done, turned off with
/// CONVEYOR_HUGE_PAGES=0, GLIBC_TUNABLES set by the user, under valgrind).
void use_huge_pages();
/// Whether this process is that second start.
bool restarted_for_huge_pages();

struct RunArgs {
    std::string file;
    std::optional<std::string> executor;
    std::optional<std::string> log_level;
    bool dry_run = false;
    bool quiet = false;
    bool lock = false;                 ///< one run at a time (also [global] lock)
    bool resume = false;               ///< continue an unfinished run from its journal
    bool fresh = false;                ///< discard an unfinished run's journal
    std::optional<std::string> jitter; ///< wait a random 0..DURATION first ("30s", "2m")
    bool stats = false;                ///< summary table even when stderr is not a terminal
    bool no_progress = false;          ///< no live display even on a terminal
    std::optional<std::string> stats_json;
    std::optional<std::string> metrics_addr;
    std::optional<std::string> metrics_textfile;
    std::vector<std::string> taps; ///< STAGE[:N]
    std::optional<std::string> keep_intermediate;
    /// --set KEY=VALUE, in order, then --workers/--concurrency/--batch-size as such.
    std::vector<std::string> sets;
    std::optional<std::string> workers;
    std::optional<std::string> concurrency;
    std::optional<std::string> batch_size;
    /// --shard I/N or auto: run one shard (stage its parts, then commit them).
    std::optional<std::string> shard;
    /// --shards N: the shard count for --shard auto when the environment does not say it.
    std::optional<std::uint32_t> shards;
    /// --attempt ID: names this attempt's staged files (default: a random id).
    std::optional<std::string> attempt;
};

struct FinalizeArgs {
    std::string file;
    std::optional<std::uint32_t> shards;
    bool keep_parts = false;
    std::vector<std::string> sets;
};

/// "30s", "1.5m", "500ms", "2h" or plain seconds, up to 24h; nullopt when malformed, negative,
/// not finite or longer.
std::optional<double> parse_duration_seconds(const std::string& text);

struct ReplayArgs {
    std::string dead_letters;
    std::string pipeline;
    std::string from_stage;
    std::vector<std::string> sets; ///< --set KEY=VALUE, as for run
};

struct GraphArgs {
    std::string file;
    std::string format = "dot";
};

struct ExplainArgs {
    std::string file;
    std::optional<std::string> executor;
};

int cmd_run(const RunArgs& args);
int cmd_finalize(const FinalizeArgs& args);
int cmd_replay(const ReplayArgs& args);
/// `sets`: --set KEY=VALUE arguments, applied as `conveyor run` applies them.
int cmd_validate(const std::string& file, bool connect, const std::vector<std::string>& sets);
int cmd_list();
int cmd_describe(const std::string& function);
int cmd_graph(const GraphArgs& args);
int cmd_explain(const ExplainArgs& args);
int cmd_schema();
int cmd_new(const std::string& name);
/// `output` empty: stdout.
int cmd_completion(const CLI::App& app, const std::string& shell, const std::string& output);
int cmd_man(const CLI::App& app, const std::string& output);

} // namespace conveyor::cli
