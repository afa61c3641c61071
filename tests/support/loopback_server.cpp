#include "support/loopback_server.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace conveyor::test {

bool answers(int port, const std::string& request, const std::string& expect, int timeout_ms) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
        std::string got;
        pollfd p{fd, POLLIN, 0};
        while (!ok && ::poll(&p, 1, timeout_ms) == 1) {
            char buf[512];
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
            ok = got.find(expect) != std::string::npos;
        }
    }
    ::close(fd);
    return ok;
}

LoopbackServer::LoopbackServer(std::string scheme, std::vector<std::string> argv,
                               const std::string& ready_line, const std::string& request,
                               const std::string& expect, const std::string& install_hint)
    : scheme_(std::move(scheme)) {
    if (!std::filesystem::exists(argv.at(0))) {
        error_ = argv[0] + " is not installed: " + install_hint + " (see .ci/run)";
        ADD_FAILURE() << error_;
        return;
    }
    port_ = free_loopback_port();
    for (std::string& a : argv) {
        if (const auto at = a.find("{port}"); at != std::string::npos)
            a.replace(at, 6, std::to_string(port_));
        if (const auto at = a.find("{dir}"); at != std::string::npos) a.replace(at, 5, dir_.path());
    }
    const std::string log = dir_.file("server.log");
    ServerProcess server = spawn_server(argv, log, SIGKILL);
    pid_ = server.pid;
    output_ = std::move(server.output);
    if (pid_ < 0) {
        error_ = "cannot fork to start " + argv[0];
    } else if (!output_->wait_for(ready_line, std::chrono::seconds(30))) {
        error_ = argv[0] +
                 (output_->closed() ? " exited before saying \"" + ready_line + "\""
                                    : " did not say \"" + ready_line + "\" within 30 s") +
                 ": " + output_->so_far();
    } else if (!answers(port_, request, expect, 10000)) {
        // Ready by its own word: it must answer at once (one try, no retries).
        error_ = argv[0] + " said it was ready but did not answer \"" + expect + "\" on port " +
                 std::to_string(port_) + ": " + output_->so_far();
    }
    if (!error_.empty()) ADD_FAILURE() << error_;
}

LoopbackServer::~LoopbackServer() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

RedisServer::RedisServer()
    : LoopbackServer("redis",
                     {"/usr/bin/redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save",
                      "", "--appendonly", "no", "--dir", "{dir}"},
                     "Ready to accept connections", "PING\r\n", "+PONG",
                     "apt-get install -y redis-server") {}

std::string LoopbackServer::url(const std::string& name) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + "/" + name;
}

NatsServer::NatsServer()
    : LoopbackServer(
          "nats",
          {"/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", "{port}", "-js", "-sd", "{dir}/js"},
          "Server is ready", "PING\r\n", "INFO", "apt-get install -y nats-server") {}

std::unique_ptr<LoopbackServer> start_queue_engine(const std::string& engine) {
    if (engine == "redis") return std::make_unique<RedisServer>();
    return std::make_unique<NatsServer>();
}

} // namespace conveyor::test
