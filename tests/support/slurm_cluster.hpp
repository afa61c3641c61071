#pragma once

// A one-node Slurm cluster of the test's own, for docs/scale-out.md's Slurm recipe: munged
// with its own key and socket, slurmctld and slurmd (Debian's slurm-wlm) on free ports of
// 127.0.0.1, configured without cgroups (proctrack/linuxproc, task/none) in a fresh temporary
// directory. The daemons run in the foreground as this process's children (they get SIGTERM
// if it dies) and are stopped, and the directory removed, when the object goes, whatever the
// test's outcome. Never skipped: without root (slurmd needs it) or the packages, error() says
// what is missing.

#include "support/process.hpp"

#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace conveyor::test {

class SlurmCluster {
public:
    SlurmCluster();
    ~SlurmCluster();
    SlurmCluster(const SlurmCluster&) = delete;
    SlurmCluster& operator=(const SlurmCluster&) = delete;

    /// Empty once the node is idle and takes jobs; otherwise what went wrong (with the logs).
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    /// What sbatch and the jobs need in their environment (SLURM_CONF).
    [[nodiscard]] std::map<std::string, std::string> env() const;

private:
    void start();
    /// Starts `argv` as a child whose output goes to `log`; returns that output (null when
    /// fork failed).
    StreamReader* spawn(const std::vector<std::string>& argv, const std::string& log);
    /// Waits up to 60 s for `daemon`'s output to hold `line`; false with error() set if not.
    bool wait_for(StreamReader* daemon, const std::string& line, const std::string& what);
    /// The daemons' logs, for error().
    [[nodiscard]] std::string logs() const;

    std::string dir_;
    std::string error_;
    std::vector<pid_t> daemons_; ///< in start order; stopped in reverse
    /// Their outputs, in the same order; they go after the daemons are stopped and reaped.
    std::vector<std::unique_ptr<StreamReader>> outputs_;
};

} // namespace conveyor::test
