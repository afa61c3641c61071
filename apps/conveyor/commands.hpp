#pragma once

#include <optional>
#include <string>

namespace conveyor::cli {

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
};

/// "30s", "1.5m", "500ms", "2h" or plain seconds; nullopt when malformed or negative.
std::optional<double> parse_duration_seconds(const std::string& text);

struct ReplayArgs {
    std::string dead_letters;
    std::string pipeline;
    std::string from_stage;
};

int cmd_run(const RunArgs& args);
int cmd_replay(const ReplayArgs& args);
int cmd_validate(const std::string& file);
int cmd_list();
int cmd_describe(const std::string& function);

} // namespace conveyor::cli
