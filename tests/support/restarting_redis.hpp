#pragma once

// A redis-server that keeps what it is told (an append-only file, synced at every write) and can
// be killed (SIGKILL) and started again on the same port and directory: the engine of a work
// queue restarted under its workers. The server gets SIGKILL if the test process dies first.

#include "support/process.hpp"

#include <memory>
#include <string>
#include <sys/types.h>

namespace conveyor::test {

class RestartingRedis {
public:
    RestartingRedis(); ///< started; see error()
    ~RestartingRedis();
    RestartingRedis(const RestartingRedis&) = delete;
    RestartingRedis& operator=(const RestartingRedis&) = delete;

    /// Empty while the last start() worked; otherwise what went wrong (also a test failure).
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    /// "redis://127.0.0.1:PORT/name"
    [[nodiscard]] std::string url(const std::string& name) const;
    /// SIGKILL, and waits for its end.
    void kill();
    /// Starts it again (after kill()) on the same port with the same data: true once it
    /// answers.
    bool start();

private:
    TempDir dir_;
    int port_ = 0;
    int starts_ = 0;
    pid_t pid_ = -1;
    std::string error_;
    std::unique_ptr<StreamReader> output_; ///< goes after pid_'s reaping
};

} // namespace conveyor::test
