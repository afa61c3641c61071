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
};

int cmd_run(const RunArgs& args);
int cmd_validate(const std::string& file);
int cmd_list();
int cmd_describe(const std::string& function);

} // namespace conveyor::cli
