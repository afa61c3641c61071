#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace conveyor::test {

struct ProcessResult {
    int exit_code = -1; ///< exit status, or 128 + signal number when killed by a signal
    std::string out;    ///< everything written to stdout
    std::string err;    ///< everything written to stderr
};

struct ProcessOptions {
    std::string cwd;                        ///< empty: inherit
    std::map<std::string, std::string> env; ///< added to (and overriding) the environment
    std::vector<std::string> unset_env;
    std::optional<std::string> stdin_data; ///< written to stdin, then closed
    std::chrono::seconds timeout{120};     ///< killed (SIGKILL) after this
    /// The child's file-size limit (RLIMIT_FSIZE, as `ulimit -f`), in bytes: a write that
    /// would take a file past it fails with EFBIG (a full disk without mounting one). SIGXFSZ
    /// is at its default action in the child, as in a program started from a shell.
    std::optional<std::uint64_t> file_size_limit;
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

/// Reads the FIFO `path` on a thread until its writer closes it, as `cat path` would. The FIFO
/// is opened for reading at once, so a writer's open() does not wait, and text() ends the
/// reading even when no writer ever came (or the FIFO was replaced): no sleeps, no hangs.
class FifoReader {
public:
    explicit FifoReader(std::string path);
    ~FifoReader(); ///< text(), discarded
    FifoReader(const FifoReader&) = delete;
    FifoReader& operator=(const FifoReader&) = delete;
    /// Everything written, once the writer is gone: call it after the writer closed the FIFO
    /// (e.g. its process exited); what is still buffered is read, then reading stops.
    const std::string& text();

private:
    void read_until_closed();

    std::string path_;
    std::string text_;
    int fd_ = -1;
    int stop_[2] = {-1, -1}; ///< a pipe: text() writes to it to end the reading
    std::thread thread_;
};

std::string read_file(const std::string& path);
/// A port of 127.0.0.1 nobody listens on right now (bound to 0, read back, closed).
int free_loopback_port();
/// Starts a server `argv` (argv[0] a path, or a name found in PATH) as a child whose stdout and
/// stderr are appended to `log` and which gets `death_signal` when this process dies, so a
/// crashed test leaves no server behind. `in_child` runs in the child first (a change of user:
/// false ends the child with 126). The caller stops and waits for it.
pid_t spawn_server(const std::vector<std::string>& argv, const std::string& log, int death_signal,
                   const std::function<bool()>& in_child = {});
bool file_exists(const std::string& path);
/// Names of the entries of a directory (not recursive), sorted.
std::vector<std::string> list_dir(const std::string& path);

} // namespace conveyor::test

namespace conveyor::test {

/// A running process whose output the test reads as it comes (for signal and streaming
/// tests). stdin is a pipe the test may write to and close.
class Child {
public:
    Child(const std::vector<std::string>& argv, const ProcessOptions& opts = {});
    ~Child(); ///< kills (SIGKILL) and reaps if still running
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    [[nodiscard]] int pid() const noexcept { return pid_; }
    /// Reads stdout until a full line is available (returned without '\n') or the deadline
    /// passes / stdout closes (nullopt).
    std::optional<std::string> read_line(std::chrono::milliseconds deadline);
    /// Reads stderr until it contains `text` (true) or the deadline passes / stderr closes.
    bool wait_for_stderr(const std::string& text, std::chrono::milliseconds deadline);
    void write_stdin(const std::string& data);
    void close_stdin();
    /// Closes the test's end of the child's stdout, as `| head` does after its lines: the
    /// child's next write fails with EPIPE.
    void close_stdout();
    void signal(int sig);
    /// Waits for exit; collects the rest of stdout/stderr. Kills it after `deadline`.
    /// With `read_stdout = false` stdout is left unread (its pipe may fill and block the
    /// child's writes), for tests that need a stuck writer.
    ProcessResult wait(std::chrono::milliseconds deadline = std::chrono::seconds(60),
                       bool read_stdout = true);

private:
    int pid_ = -1;
    int in_ = -1, out_ = -1, err_ = -1;
    std::string out_buf_, err_buf_;
    bool reaped_ = false;
};

/// Spawns the built conveyor binary with `args`.
std::unique_ptr<Child> spawn_conveyor(const std::vector<std::string>& args,
                                      const ProcessOptions& opts = {});

} // namespace conveyor::test
