#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/result.hpp"

#include <string>

namespace conveyor {

/// Where a pipeline keeps its run state: `[global] state_dir`, or `.conveyor/` in the
/// directory of the pipeline file.
std::string state_dir_for(const PipelineSpec& pipeline);

/// One run at a time per pipeline (`--lock`, `[global] lock = true`): an exclusive flock on
/// `<state_dir>/<name>.lock`, released when the process ends however it ends (kill -9
/// included). A second run fails at once with ErrorKind::Busy (exit 4) naming the holder.
class RunLock {
public:
    RunLock() = default;
    RunLock(RunLock&&) noexcept;
    RunLock& operator=(RunLock&&) noexcept;
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
    ~RunLock();

    static Result<RunLock> acquire(const PipelineSpec& pipeline);
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

} // namespace conveyor
