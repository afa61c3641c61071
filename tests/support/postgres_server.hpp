#pragma once

// A real PostgreSQL 15 server for the database tests: initdb into a fresh temporary directory,
// the postmaster on a free port of 127.0.0.1 (trust for the test role, a password for one
// other), stopped (immediate shutdown) and removed when the object goes. The postmaster is
// this process's child and gets SIGQUIT if the test process dies first, so a crashed test
// leaves no server behind. Never skipped: when PostgreSQL 15 is not installed, start() fails
// with a message saying how to install it.

#include "support/process.hpp"

#include <memory>
#include <string>
#include <sys/types.h>

namespace conveyor::test {

class PostgresServer {
public:
    /// The role whose connections are trusted, and the database it owns.
    static constexpr const char* kUser = "conveyor";
    static constexpr const char* kDatabase = "conveyor_test";
    /// A role that must give its password (scram-sha-256).
    static constexpr const char* kPasswordUser = "conveyor_pw";
    static constexpr const char* kPassword = "s3cret-Pw";

    PostgresServer();
    ~PostgresServer();
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    /// Empty once the server accepts connections; otherwise what went wrong.
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] int port() const noexcept { return port_; }
    /// A key=value connection string for the test role.
    [[nodiscard]] std::string dsn() const;
    /// A URI for the password role with `password`.
    [[nodiscard]] std::string password_dsn(const std::string& password) const;
    /// Runs `sql` with psql as the test role and returns its output (unaligned, tuples only,
    /// '|' between fields); a failing statement fails the test.
    std::string psql(const std::string& sql) const;

private:
    void start();
    std::string dir_;
    std::string error_;
    int port_ = 0;
    pid_t pid_ = -1;
    std::unique_ptr<StreamReader> output_; ///< the postmaster's log; goes after it is reaped
};

} // namespace conveyor::test
