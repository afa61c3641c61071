#pragma once

// `conveyor queue push|status` and `conveyor worker`: the work-queue mode (README "Work queue").
// main() only registers them and hands over to run_queue_commands().

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace conveyor::cli {

struct QueuePushArgs {
    std::string file;
    std::string queue;
    unsigned chunks = 0;
    unsigned max_deliveries = 5;
    std::string lease = "30s";
};

struct QueueStatusArgs {
    std::string queue;
    bool json = false;
};

struct WorkerArgs {
    std::string queue;
    bool exit_when_empty = false;
    std::optional<std::string> log_level;
};

struct QueueCommands {
    CLI::App* push = nullptr;
    CLI::App* status = nullptr;
    CLI::App* worker = nullptr;
    QueuePushArgs push_args;
    QueueStatusArgs status_args;
    WorkerArgs worker_args;
};

/// Adds `queue push`, `queue status` and `worker` to `app`; `out` keeps their arguments and
/// must outlive the parse.
void add_queue_commands(CLI::App& app, QueueCommands& out);

/// The exit code of the queue command that was parsed, or nullopt when none was.
std::optional<int> run_queue_commands(const QueueCommands& commands);

int cmd_queue_push(const QueuePushArgs& args);
int cmd_queue_status(const QueueStatusArgs& args);
int cmd_worker(const WorkerArgs& args);

} // namespace conveyor::cli
