#include "support/restarting_redis.hpp"

#include "support/loopback_server.hpp"

#include <chrono>
#include <csignal>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <vector>

namespace conveyor::test {

RestartingRedis::RestartingRedis() : port_(free_loopback_port()) {
    start();
}

RestartingRedis::~RestartingRedis() {
    kill();
}

std::string RestartingRedis::url(const std::string& name) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + name;
}

void RestartingRedis::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    output_.reset();
}

bool RestartingRedis::start() {
    const std::vector<std::string> argv = {"/usr/bin/redis-server",
                                           "--port",
                                           std::to_string(port_),
                                           "--bind",
                                           "127.0.0.1",
                                           "--save",
                                           "",
                                           "--appendonly",
                                           "yes",
                                           "--appendfsync",
                                           "always",
                                           "--dir",
                                           dir_.path()};
    ServerProcess server =
        spawn_server(argv, dir_.file("server-" + std::to_string(++starts_) + ".log"), SIGKILL);
    pid_ = server.pid;
    output_ = std::move(server.output);
    error_.clear();
    if (pid_ < 0)
        error_ = "cannot fork to start redis-server";
    else if (!output_->wait_for("Ready to accept connections", std::chrono::seconds(30)))
        error_ = "redis-server was not ready within 30 s: " + output_->so_far();
    else if (!answers(port_, "PING\r\n", "+PONG", 10000))
        error_ = "redis-server said it was ready but did not answer PING: " + output_->so_far();
    if (!error_.empty()) ADD_FAILURE() << error_;
    return error_.empty();
}

} // namespace conveyor::test
