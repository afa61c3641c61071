#pragma once

// A server program run by a test on a free port of 127.0.0.1 (redis-server, nats-server): its
// own temporary directory, output to a log there, ready once it prints its readiness line (read
// from its output through a pipe, with a deadline) and then answers on its port, killed and
// removed when the object goes. The server gets
// SIGKILL if the test process dies first, so a crashed test leaves no server behind. Never
// skipped: a missing program fails the test with how to install it.

#include "support/process.hpp"

#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace conveyor::test {

/// Sends `request` to 127.0.0.1:`port` and reads until the answer holds `expect` (true), the
/// connection closes or `timeout_ms` pass.
bool answers(int port, const std::string& request, const std::string& expect, int timeout_ms);

class LoopbackServer {
public:
    /// Starts `argv` (argv[0] an absolute path; "{port}" and "{dir}" in it replaced), waits
    /// until its output holds `ready_line`, then checks that `request` sent to its port is
    /// answered with `expect`.
    LoopbackServer(std::string scheme, std::vector<std::string> argv, const std::string& ready_line,
                   const std::string& request, const std::string& expect,
                   const std::string& install_hint);
    ~LoopbackServer();
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;

    /// Empty once the server answers; otherwise what went wrong (also a test failure).
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] int port() const noexcept { return port_; }
    [[nodiscard]] const std::string& dir() const noexcept { return dir_.path(); }
    /// "SCHEME://127.0.0.1:PORT/name"
    [[nodiscard]] std::string url(const std::string& name) const;

private:
    std::string scheme_;
    TempDir dir_;
    std::string error_;
    int port_ = 0;
    pid_t pid_ = -1;
    std::unique_ptr<StreamReader> output_; ///< after pid_'s reaping (in ~LoopbackServer)
};

/// redis-server with no persistence.
class RedisServer : public LoopbackServer {
public:
    RedisServer();
};

/// nats-server with JetStream, storing in its directory.
class NatsServer : public LoopbackServer {
public:
    NatsServer();
};

/// A RedisServer for "redis", a NatsServer for "nats": the queue tests run on each.
std::unique_ptr<LoopbackServer> start_queue_engine(const std::string& engine);

} // namespace conveyor::test
