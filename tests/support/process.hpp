#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

/// What writers put into a pipe or a FIFO, read on a thread as it comes (and appended to a file
/// when one is named), so that a test can wait for a line: a server's "ready to accept
/// connections". The thread is woken by data, by the writers' close or by stop(), never by a
/// timer. Any thread may call any member.
class StreamReader {
public:
    /// Takes over `fd` (the read end of a pipe, or a FIFO opened with O_NONBLOCK) and starts
    /// reading it; what it reads is also appended to the file `copy_to` unless that is empty.
    explicit StreamReader(int fd, const std::string& copy_to = {});
    ~StreamReader(); ///< stop()
    StreamReader(const StreamReader&) = delete;
    StreamReader& operator=(const StreamReader&) = delete;
    /// Waits until what was read holds `text` (true), or every writer has closed the stream or
    /// `deadline` has passed (false).
    bool wait_for(const std::string& text, std::chrono::milliseconds deadline);
    /// Everything read so far.
    [[nodiscard]] std::string so_far() const;
    /// Whether every writer has closed the stream (a server that exited, say).
    [[nodiscard]] bool closed() const;
    /// Ends the reading and returns everything read: what is still buffered is read, then the
    /// reading stops, even while a writer (a server's child, say) still holds the stream open.
    const std::string& stop();

private:
    void read_until_closed();

    int fd_ = -1;
    int copy_fd_ = -1;
    int stop_[2] = {-1, -1}; ///< a pipe: stop() writes to it to end the reading
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string text_;    ///< guarded by mutex_ while the thread runs
    bool closed_ = false; ///< the writers are gone; guarded by mutex_
    std::thread thread_;
};

/// Reads the FIFO `path` on a thread until its writer closes it, as `cat path` would. The FIFO
/// is opened for reading at once, so a writer's open() does not wait, and text() ends the
/// reading even when no writer ever came (or the FIFO was replaced): no sleeps, no hangs.
class FifoReader {
public:
    explicit FifoReader(const std::string& path);
    /// Everything written, once the writer is gone: call it after the writer closed the FIFO
    /// (e.g. its process exited); what is still buffered is read, then reading stops.
    const std::string& text() { return reader_.stop(); }

private:
    StreamReader reader_;
};

std::string read_file(const std::string& path);
/// A port of 127.0.0.1 nobody listens on right now (bound to 0, read back, closed).
int free_loopback_port();
/// A server started by spawn_server: its pid, and its stdout and stderr as it writes them.
struct ServerProcess {
    pid_t pid = -1;
    std::unique_ptr<StreamReader> output;
};
/// Starts a server `argv` (argv[0] a path, or a name found in PATH) as a child whose stdout and
/// stderr go through one pipe to the returned reader (which appends them to `log` as well), and
/// which gets `death_signal` when this process dies, so a crashed test leaves no server behind.
/// `in_child` runs in the child first (a change of user: false ends the child with 126). The
/// caller waits on the output for the server's readiness line, and stops and reaps the server
/// before the reader goes.
ServerProcess spawn_server(const std::vector<std::string>& argv, const std::string& log,
                           int death_signal, const std::function<bool()>& in_child = {});
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
    /// Reads stderr until `done(all of stderr read so far)` holds (true) or the deadline passes /
    /// stderr closes.
    bool wait_for_stderr(const std::function<bool(const std::string&)>& done,
                         std::chrono::milliseconds deadline);
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
