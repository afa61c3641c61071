#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/result.hpp"

#include <string>

namespace conveyor {

/// Where a pipeline keeps its run state: `[global] state_dir`, or `.conveyor/` in the
/// directory of the pipeline file.
std::string state_dir_for(const PipelineSpec& pipeline);

/// Where the stages that hold their input, and dag's buffered edges, spill: `spill/` in
/// state_dir_for().
std::string spill_dir_for(const PipelineSpec& pipeline);

/// How a pipeline's files in its state directory are named (`<stem>.lock`,
/// `<stem>.journal/`): `[pipeline] name` made safe as a file name (ASCII letters, digits, '-',
/// '_' and '.' kept, not leading '.'; anything else, path separators and line breaks included,
/// becomes '_'; at most 64 characters; "pipeline" when nothing is left) then '-' and 8 hex
/// digits of a hash of the pipeline file's canonical path, e.g. `orders-1a2b3c4d`. So a name
/// can never place a file outside the state directory, and two pipelines of the same name in
/// different directories sharing a state_dir never share a lock or a journal.
std::string state_file_stem(const PipelineSpec& pipeline);

/// One run at a time per pipeline (`--lock`, `[global] lock = true`): an exclusive flock on
/// `<state_dir>/<stem>.lock` (stem: state_file_stem), released when the process ends however
/// it ends (kill -9 included). A second run fails at once with ErrorKind::Busy (exit 4) naming
/// the holder.
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
