#pragma once

// Killing a test's own work with SIGKILL, as `kill -9` kills a run: the work runs in a forked
// child that dies with everything it made still open (no destructor, no abort()), so what it
// leaves behind (a temporary file named after a pid that is gone) is what a resumed run finds.
// Used by the OutputFile, json.write and csv.write checkpoint tests.

#include <csignal>
#include <cstddef>
#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace conveyor::test {

/// Hands `text` to the parent and kills the calling (child) process with SIGKILL, with
/// everything it holds still open: no destructor runs.
[[noreturn]] inline void report_and_die(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
        if (w <= 0) break;
        done += static_cast<std::size_t>(w);
    }
    ::kill(::getpid(), SIGKILL);
    ::_exit(99);
}

/// Runs `work` in a child process, which kills itself with SIGKILL once `work` returns its
/// text (the objects it made still alive: `work` gets `die` to call instead of returning).
/// Returns that text, which starts with "ERROR" when the work failed.
inline std::string in_killed_process(
    const std::function<void(const std::function<void(const std::string&)>& die)>& work) {
    int fds[2];
    if (::pipe(fds) != 0) return "ERROR pipe";
    const pid_t pid = ::fork();
    if (pid < 0) return "ERROR fork";
    if (pid == 0) {
        ::close(fds[0]);
        work([fd = fds[1]](const std::string& text) { report_and_die(fd, text); });
        report_and_die(fds[1], "ERROR the work did not die");
    }
    ::close(fds[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    return text;
}

} // namespace conveyor::test
