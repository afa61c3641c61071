#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::test {

struct ProcessResult {
    int exit_code = -1;   ///< exit status, or 128 + signal number when killed by a signal
    std::string out;      ///< everything written to stdout
    std::string err;      ///< everything written to stderr
};

struct ProcessOptions {
    std::string cwd;                           ///< empty: inherit
    std::map<std::string, std::string> env;    ///< added to (and overriding) the environment
    std::vector<std::string> unset_env;
    std::optional<std::string> stdin_data;     ///< written to stdin, then closed
    std::chrono::seconds timeout{120};         ///< killed (SIGKILL) after this
};

/// Runs `argv` (argv[0] is a path) to completion, capturing its output. No shell.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& opts = {});

/// Runs the built conveyor binary with `args`.
ProcessResult run_conveyor(const std::vector<std::string>& args, const ProcessOptions& opts = {});

/// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// path()/rel
    [[nodiscard]] std::string file(const std::string& rel) const { return path_ + "/" + rel; }
    /// Writes `content` to path()/rel (creating parent directories) and returns the full path.
    std::string write(const std::string& rel, const std::string& content) const;

private:
    std::string path_;
};

std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
/// Names of the entries of a directory (not recursive), sorted.
std::vector<std::string> list_dir(const std::string& path);

} // namespace conveyor::test
