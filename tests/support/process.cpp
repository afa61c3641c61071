#include "support/process.hpp"

#include "support/paths.hpp"
#include "support/pipelines.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace conveyor::test {

namespace {

std::vector<std::string> build_env(const ProcessOptions& opts) {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& k : opts.unset_env)
        env.erase(k);
    for (const auto& [k, v] : opts.env)
        env[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : env)
        out.push_back(k + "=" + v);
    return out;
}

/// A started process and the test's ends of its stdin, stdout and stderr pipes.
struct Spawned {
    pid_t pid;
    int in, out, err;
};

/// Starts `argv` with piped stdin/stdout/stderr, in `opts.cwd` with `opts`' environment.
Spawned spawn_piped(const std::vector<std::string>& argv, const ProcessOptions& opts) {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) || ::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC))
        throw std::runtime_error("pipe failed");

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    if (!opts.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opts.cwd.c_str());

    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    auto env_strings = build_env(opts);
    std::vector<char*> envp;
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = -1;
    int rc = 0;
    if (opts.file_size_limit) {
        // posix_spawn cannot set a resource limit: fork, and only async-signal-safe calls
        // until exec.
        const rlim_t limit = static_cast<rlim_t>(*opts.file_size_limit);
        const rlimit fsize{limit, limit};
        pid = ::fork();
        if (pid == 0) {
            if (::dup2(in_pipe[0], 0) < 0 || ::dup2(out_pipe[1], 1) < 0 ||
                ::dup2(err_pipe[1], 2) < 0 || (!opts.cwd.empty() && ::chdir(opts.cwd.c_str())) ||
                ::setrlimit(RLIMIT_FSIZE, &fsize) != 0 || ::signal(SIGXFSZ, SIG_DFL) == SIG_ERR)
                ::_exit(127);
            ::execve(argv[0].c_str(), args.data(), envp.data());
            ::_exit(127);
        }
        rc = pid < 0 ? errno : 0;
    } else {
        rc = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), envp.data());
    }
    posix_spawn_file_actions_destroy(&fa);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
        ::close(in_pipe[1]);
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
    }
    return {pid, in_pipe[1], out_pipe[0], err_pipe[0]};
}

} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& opts) {
    const Spawned child = spawn_piped(argv, opts);
    const pid_t pid = child.pid;
    int out_fd = child.out;
    int err_fd = child.err;

    std::string to_write = opts.stdin_data.value_or("");
    std::size_t written = 0;
    int in_fd = child.in;
    if (to_write.empty()) {
        ::close(in_fd);
        in_fd = -1;
    } else {
        ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
    }

    ProcessResult res;
    const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    int open_outputs = 2;
    bool killed = false;
    char buf[65536];
    while (open_outputs > 0 || in_fd >= 0) {
        std::vector<pollfd> fds;
        fds.push_back({out_fd, POLLIN, 0});
        fds.push_back({err_fd, POLLIN, 0});
        if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 && !killed) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
        const int n =
            ::poll(fds.data(), fds.size(), killed ? 1000 : static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) break;
        for (auto& p : fds) {
            if (!p.revents) continue;
            if (p.fd == in_fd) {
                const ssize_t w =
                    ::write(in_fd, to_write.data() + written, to_write.size() - written);
                if (w > 0) written += static_cast<std::size_t>(w);
                if (w < 0 && errno != EAGAIN) written = to_write.size();
                if (written >= to_write.size()) {
                    ::close(in_fd);
                    in_fd = -1;
                }
                continue;
            }
            const ssize_t r = ::read(p.fd, buf, sizeof buf);
            if (r > 0) {
                (p.fd == out_fd ? res.out : res.err).append(buf, static_cast<std::size_t>(r));
            } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                if (p.fd == out_fd)
                    out_fd = -1 - out_fd;
                else
                    err_fd = -1 - err_fd;
                ::close(p.fd);
                --open_outputs;
            }
        }
        // Closed descriptors are negated above so poll ignores them.
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status))
        res.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res.exit_code = 128 + WTERMSIG(status);
    return res;
}

ProcessResult run_conveyor(const std::vector<std::string>& args, const ProcessOptions& opts) {
    std::vector<std::string> argv{conveyor_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, opts);
}

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/conveyor-test-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& rel, const std::string& content) const {
    const std::string p = file(rel);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream f(p, std::ios::binary);
    f << content;
    return p;
}

StreamReader::StreamReader(int fd, const std::string& copy_to) : fd_(fd) {
    if (!copy_to.empty())
        copy_fd_ = ::open(copy_to.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (::pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    thread_ = std::thread([this] { read_until_closed(); });
}

StreamReader::~StreamReader() {
    stop();
    for (int fd : {fd_, copy_fd_, stop_[0], stop_[1]})
        if (fd >= 0) ::close(fd);
}

void StreamReader::read_until_closed() {
    char buf[65536];
    bool stopping = false;
    const auto finish = [this] {
        const std::lock_guard lock(mutex_);
        closed_ = true;
        changed_.notify_all();
    };
    for (;;) {
        // Until stop() is called, wait for data or the writers' close (on a FIFO POLLHUP comes
        // only once a writer has been and gone); after, take what is buffered without waiting.
        pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
        const int n = ::poll(p, stopping ? 1 : 2, stopping ? 0 : -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return finish();
        }
        if (p[0].revents != 0) {
            const ssize_t r = ::read(fd_, buf, sizeof buf);
            if (r > 0) {
                if (copy_fd_ >= 0 && ::write(copy_fd_, buf, static_cast<std::size_t>(r)) < 0) {
                    ::close(copy_fd_); // a log that cannot be written is given up, not retried
                    copy_fd_ = -1;
                }
                const std::lock_guard lock(mutex_);
                text_.append(buf, static_cast<std::size_t>(r));
                changed_.notify_all();
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) return finish(); // writers gone
        }
        if (stopping) return finish();
        if (p[1].revents != 0) stopping = true;
    }
}

bool StreamReader::wait_for(const std::string& text, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] {
        return text_.find(text) != std::string::npos || closed_;
    }) && text_.find(text) != std::string::npos;
}

std::string StreamReader::so_far() const {
    const std::lock_guard lock(mutex_);
    return text_;
}

bool StreamReader::closed() const {
    const std::lock_guard lock(mutex_);
    return closed_;
}

const std::string& StreamReader::stop() {
    if (thread_.joinable()) {
        const char stop = 1;
        while (::write(stop_[1], &stop, 1) < 0 && errno == EINTR) {
        }
        thread_.join();
    }
    return text_;
}

namespace {

/// The FIFO opened non-blocking: no writer is needed to open, and reading never waits but in
/// poll().
int open_fifo(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open the FIFO " + path);
    return fd;
}

} // namespace

FifoReader::FifoReader(const std::string& path) : reader_(open_fifo(path)) {}

int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

ServerProcess spawn_server(const std::vector<std::string>& argv, const std::string& log,
                           int death_signal, const std::function<bool()>& in_child) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid != 0) {
        ::close(out[1]);
        if (pid < 0) ::close(out[0]);
        return {pid, pid < 0 ? nullptr : std::make_unique<StreamReader>(out[0], log)};
    }
    if (in_child && !in_child()) ::_exit(126);
    // Set after a change of user (which clears it): the server goes with this process.
    ::prctl(PR_SET_PDEATHSIG, death_signal);
    if (::getppid() == 1) ::_exit(125);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

bool file_exists(const std::string& path) {
    return std::filesystem::exists(path);
}

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path, ec))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace conveyor::test

namespace conveyor::test {

Child::Child(const std::vector<std::string>& argv, const ProcessOptions& opts) {
    const Spawned child = spawn_piped(argv, opts);
    pid_ = child.pid;
    in_ = child.in;
    out_ = child.out;
    err_ = child.err;
}

Child::~Child() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int st;
        ::waitpid(pid_, &st, 0);
    }
    for (int fd : {in_, out_, err_})
        if (fd >= 0) ::close(fd);
}

namespace {

/// Reads `fd` into `buf` until `done(buf)` holds (true) or the deadline passes or `fd` closes
/// (false; a closed `fd` is set to -1).
template <class Done>
bool read_until(int& fd, std::string& buf, std::chrono::milliseconds deadline, Done done) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        if (done(buf)) return true;
        if (fd < 0) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char chunk[4096];
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            ::close(fd);
            fd = -1;
        } else {
            buf.append(chunk, static_cast<std::size_t>(n));
        }
    }
}

} // namespace

std::optional<std::string> Child::read_line(std::chrono::milliseconds deadline) {
    if (!read_until(out_, out_buf_, deadline,
                    [](const std::string& b) { return b.find('\n') != std::string::npos; }))
        return std::nullopt;
    const std::size_t nl = out_buf_.find('\n');
    std::string line = out_buf_.substr(0, nl);
    out_buf_.erase(0, nl + 1);
    return line;
}

bool Child::wait_for_stderr(const std::string& text, std::chrono::milliseconds deadline) {
    return read_until(err_, err_buf_, deadline,
                      [&](const std::string& b) { return b.find(text) != std::string::npos; });
}

bool Child::wait_for_stderr(const std::function<bool(const std::string&)>& done,
                            std::chrono::milliseconds deadline) {
    return read_until(err_, err_buf_, deadline, done);
}

void Child::write_stdin(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        const ssize_t w = ::write(in_, data.data() + off, data.size() - off);
        if (w <= 0) {
            if (errno == EINTR) continue;
            return;
        }
        off += static_cast<std::size_t>(w);
    }
}

void Child::close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
}

void Child::close_stdout() {
    if (out_ >= 0) ::close(out_);
    out_ = -1;
}

void Child::signal(int sig) {
    ::kill(pid_, sig);
}

ProcessResult Child::wait(std::chrono::milliseconds deadline, bool read_stdout) {
    ProcessResult res;
    const auto until = std::chrono::steady_clock::now() + deadline;
    bool killed = false;
    char buf[65536];
    while ((read_stdout && out_ >= 0) || err_ >= 0) {
        std::vector<pollfd> fds;
        if (out_ >= 0 && read_stdout) fds.push_back({out_, POLLIN, 0});
        if (err_ >= 0) fds.push_back({err_, POLLIN, 0});
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0 && !killed) {
            ::kill(pid_, SIGKILL);
            killed = true;
        }
        if (::poll(fds.data(), fds.size(), killed ? 1000 : static_cast<int>(left.count())) <= 0)
            continue;
        for (auto& p : fds) {
            if (!p.revents) continue;
            const ssize_t n = ::read(p.fd, buf, sizeof buf);
            std::string& dst = p.fd == out_ ? out_buf_ : err_buf_;
            if (n > 0) {
                dst.append(buf, static_cast<std::size_t>(n));
            } else {
                ::close(p.fd);
                (p.fd == out_ ? out_ : err_) = -1;
            }
        }
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    if (WIFEXITED(status))
        res.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res.exit_code = 128 + WTERMSIG(status);
    res.out = std::move(out_buf_);
    res.err = std::move(err_buf_);
    return res;
}

std::unique_ptr<Child> spawn_conveyor(const std::vector<std::string>& args,
                                      const ProcessOptions& opts) {
    std::vector<std::string> argv{conveyor_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<Child>(argv, opts);
}

} // namespace conveyor::test

namespace conveyor::test {

std::size_t count_files(const std::string& dir) {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        n += it->is_regular_file() ? 1 : 0;
    return n;
}

} // namespace conveyor::test
