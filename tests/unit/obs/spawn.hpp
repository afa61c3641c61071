#pragma once

// Runs the conveyor binary with stderr on a pipe or on a pseudo-terminal, and lets the test read
// stderr while the run goes on (to learn the metrics address, or to see the progress display
// before feeding the input). Used by tests/integration/observe_*_test.cpp.

#include "support/paths.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace conveyor::test {

class Spawned {
public:
    struct Options {
        std::string cwd;
        std::map<std::string, std::string> env; ///< added / overriding
        std::vector<std::string> unset_env;
        bool stderr_pty = false; ///< stderr on a pseudo-terminal (120 columns) instead of a pipe
        bool stdout_too = false; ///< with stderr_pty: stdout on the same terminal (read as `err`)
    };

    Spawned(const std::vector<std::string>& args, const Options& o) {
        int in[2], out[2], err[2] = {-1, -1};
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
        int err_child = -1;
        if (o.stderr_pty) {
            winsize ws{};
            ws.ws_row = 40;
            ws.ws_col = 120;
            if (::openpty(&err[0], &err_child, nullptr, nullptr, &ws) != 0) return;
            ::fcntl(err[0], F_SETFD, FD_CLOEXEC);
            ::fcntl(err_child, F_SETFD, FD_CLOEXEC);
        } else {
            if (::pipe2(err, O_CLOEXEC) != 0) return;
            err_child = err[1];
        }
        std::vector<std::string> env_strings;
        for (char** e = environ; *e; ++e) {
            const std::string kv = *e;
            const std::string key = kv.substr(0, kv.find('='));
            bool drop = o.env.count(key) > 0;
            for (const std::string& u : o.unset_env)
                drop = drop || u == key;
            if (!drop) env_strings.push_back(kv);
        }
        for (const auto& [k, v] : o.env)
            env_strings.push_back(k + "=" + v);
        std::vector<char*> envp;
        for (std::string& s : env_strings)
            envp.push_back(s.data());
        envp.push_back(nullptr);
        std::vector<std::string> argv_strings{conveyor_binary()};
        argv_strings.insert(argv_strings.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (std::string& s : argv_strings)
            argv.push_back(s.data());
        argv.push_back(nullptr);

        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(o.stderr_pty && o.stdout_too ? err_child : out[1], 1);
            ::dup2(err_child, 2);
            if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(127);
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        ::close(err_child);
        in_ = in[1];
        out_ = out[0];
        err_ = err[0];
    }

    ~Spawned() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        for (int fd : {in_, out_, err_})
            if (fd >= 0) ::close(fd);
    }
    Spawned(const Spawned&) = delete;
    Spawned& operator=(const Spawned&) = delete;

    [[nodiscard]] bool started() const { return pid_ > 0; }

    /// Reads stderr (and stdout, so the child never blocks on it) until stderr holds `needle`.
    bool wait_for_stderr(const std::string& needle, std::chrono::milliseconds deadline) {
        const auto end = std::chrono::steady_clock::now() + deadline;
        while (err.find(needle) == std::string::npos) {
            if (!pump(end)) return err.find(needle) != std::string::npos;
        }
        return true;
    }

    void write_stdin(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::write(in_, data.data() + done, data.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            done += static_cast<std::size_t>(n);
        }
    }
    void close_stdin() {
        if (in_ >= 0) ::close(in_);
        in_ = -1;
    }

    /// Waits for the exit status (128 + signal when killed), reading the rest of the output.
    int wait(std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
        close_stdin();
        const auto end = std::chrono::steady_clock::now() + deadline;
        while (pump(end)) {
        }
        int status = 0;
        if (std::chrono::steady_clock::now() >= end) ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return -1;
    }

    std::string out;
    std::string err;

private:
    /// One round of reading; false once both streams are closed or the deadline passed.
    bool pump(std::chrono::steady_clock::time_point end) {
        std::vector<pollfd> fds;
        if (out_ >= 0) fds.push_back({out_, POLLIN, 0});
        if (err_ >= 0) fds.push_back({err_, POLLIN, 0});
        if (fds.empty()) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        const int r = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) return true;
        if (r <= 0) return false;
        char buf[8192];
        for (const pollfd& p : fds) {
            if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t n = ::read(p.fd, buf, sizeof buf);
            // A pty master reports EIO once the child side is closed: the end of its output.
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                int& fd = p.fd == out_ ? out_ : err_;
                ::close(fd);
                fd = -1;
                continue;
            }
            (p.fd == out_ ? out : err).append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }

    pid_t pid_ = -1;
    int in_ = -1, out_ = -1, err_ = -1;
    bool reaped_ = false;
};

} // namespace conveyor::test
