#include "support/postgres_server.hpp"

#include "support/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace conveyor::test {

namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";
const std::string kInstall = "PostgreSQL 15 is needed by the database tests: apt-get install -y "
                             "postgresql-15 (see .ci/run)";

/// The server refuses to run as root: as root, its programs run as the postgres user.
const passwd* server_user() {
    return ::geteuid() == 0 ? ::getpwnam("postgres") : nullptr;
}

std::vector<std::string> as_server_user(std::vector<std::string> argv) {
    if (::geteuid() != 0) return argv;
    argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    return argv;
}

} // namespace

PostgresServer::PostgresServer() {
    start();
    if (!error_.empty()) ADD_FAILURE() << error_;
}

void PostgresServer::start() {
    if (!std::filesystem::exists(kBin + "initdb") || !std::filesystem::exists("/usr/bin/psql")) {
        error_ = kInstall;
        return;
    }
    if (::geteuid() == 0 && !server_user()) {
        error_ = "no 'postgres' user to run the server as; " + kInstall;
        return;
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/conveyor-pg-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
        error_ = "mkdtemp failed";
        return;
    }
    dir_ = pattern;
    if (const passwd* pw = server_user()) {
        if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            error_ = "cannot give " + dir_ + " to the postgres user";
            return;
        }
    }
    const std::string data = dir_ + "/data";
    auto init = run_process(as_server_user({kBin + "initdb", "-D", data, "-U", "postgres", "-A",
                                            "trust", "-E", "UTF8", "--locale=C", "--no-sync"}));
    if (init.exit_code != 0) {
        error_ = "initdb failed: " + init.err;
        return;
    }
    {
        std::ofstream hba(data + "/pg_hba.conf", std::ios::trunc);
        hba << "local all all trust\n"
            << "host all " << kPasswordUser << " 127.0.0.1/32 scram-sha-256\n"
            << "host all all 127.0.0.1/32 trust\n";
    }
    port_ = free_loopback_port();
    const passwd* pw = server_user();
    const std::vector<std::string> argv = {kBin + "postgres",
                                           "-D",
                                           data,
                                           "-p",
                                           std::to_string(port_),
                                           "-c",
                                           "listen_addresses=127.0.0.1",
                                           "-c",
                                           "unix_socket_directories=" + dir_,
                                           "-c",
                                           "fsync=off",
                                           "-c",
                                           "full_page_writes=off",
                                           "-c",
                                           "max_connections=40",
                                           "-c",
                                           "logging_collector=off"};
    const std::string log = dir_ + "/server.log";
    ServerProcess server = spawn_server(argv, log, SIGQUIT, [pw] {
        return !pw || (::setgid(pw->pw_gid) == 0 && ::setuid(pw->pw_uid) == 0);
    });
    pid_ = server.pid;
    output_ = std::move(server.output);
    if (pid_ < 0) {
        error_ = "cannot fork to start the PostgreSQL server";
        return;
    }
    // The postmaster says so once it listens and recovery is over (logging_collector is off:
    // its log is its stderr, read here through a pipe).
    if (!output_->wait_for("database system is ready to accept connections",
                           std::chrono::seconds(60))) {
        error_ =
            std::string(output_->closed() ? "the PostgreSQL server exited before it was ready"
                                          : "the PostgreSQL server was not ready within 60 s") +
            ": " + output_->so_far();
        return;
    }
    auto setup = run_process(
        {"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
         std::to_string(port_), "-U", "postgres", "-d", "postgres", "-c",
         std::string("CREATE ROLE ") + kUser + " LOGIN SUPERUSER", "-c",
         std::string("CREATE ROLE ") + kPasswordUser + " LOGIN PASSWORD '" + kPassword + "'", "-c",
         std::string("CREATE DATABASE ") + kDatabase + " OWNER " + kUser});
    if (setup.exit_code != 0) error_ = "setting up the test roles failed: " + setup.err;
}

PostgresServer::~PostgresServer() {
    if (pid_ > 0) {
        // pg_ctl stop -m immediate: SIGQUIT to the postmaster.
        ::kill(pid_, SIGQUIT);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

std::string PostgresServer::dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kUser +
           " dbname=" + kDatabase;
}

std::string PostgresServer::password_dsn(const std::string& password) const {
    return "postgresql://" + std::string(kPasswordUser) + ":" + password +
           "@127.0.0.1:" + std::to_string(port_) + "/" + kDatabase;
}

std::string PostgresServer::psql(const std::string& sql) const {
    auto r = run_process({"/usr/bin/psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                          "127.0.0.1", "-p", std::to_string(port_), "-U", kUser, "-d", kDatabase,
                          "-c", sql});
    EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
    return r.out;
}

} // namespace conveyor::test
