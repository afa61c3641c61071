#pragma once

#include "conveyor/core/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace conveyor {
class RunContext;
}

namespace conveyor::plugins::postgres {

/// A query result (shares its PGresult: a batch whose values point into it keeps it alive).
class PgResult {
public:
    PgResult() = default;
    explicit PgResult(pg_result* r);

    [[nodiscard]] pg_result* get() const noexcept { return r_.get(); }
    /// Something that keeps the result (and every value() view into it) alive.
    [[nodiscard]] std::shared_ptr<const void> owner() const noexcept { return r_; }
    [[nodiscard]] int rows() const noexcept;
    [[nodiscard]] int columns() const noexcept;
    [[nodiscard]] bool is_null(int row, int col) const noexcept;
    /// The value's text (empty for NULL), valid while the result lives.
    [[nodiscard]] std::string_view value(int row, int col) const noexcept;
    [[nodiscard]] std::string_view name(int col) const noexcept;
    [[nodiscard]] std::uint32_t type(int col) const noexcept;

private:
    std::shared_ptr<pg_result> r_;
};

/// What a connection string names, for messages: never the password.
struct PgTarget {
    std::string host; ///< host (or socket directory) and port, "127.0.0.1:5432"
    std::string database;
    std::string user;
    [[nodiscard]] std::string to_string() const;
};

/// The parts of `dsn` (a URI or key=value text) that messages may show.
PgTarget describe_dsn(const std::string& dsn);

/// How long the server may take to answer, and what else ends a wait for it.
struct PgWaits {
    /// The run whose stop or cancellation ends a wait (null: none).
    const RunContext* run = nullptr;
    /// How long one wait for the server (a statement's answer, room for COPY data) may last
    /// without a byte from or to it; zero: without end.
    std::chrono::milliseconds answer_timeout{kAnswerTimeoutSeconds * 1000};
    /// postgres.read's and postgres.write's `timeout` option's default.
    static constexpr std::int64_t kAnswerTimeoutSeconds = 600;
    /// How long a wait goes on after the run was stopped (SIGINT, SIGTERM), so that a server
    /// that answers still commits what a streaming run keeps or rolls back a batch run's.
    static constexpr std::chrono::milliseconds kStopGrace{2000};
};

/// One libpq connection (one thread at a time). Sessions use UTC and ISO dates, so that
/// timestamps come back as ISO 8601 text. Calls block their thread, but every wait for the
/// server wakes every 100 ms: a server that does not answer within PgWaits::answer_timeout
/// (a lock held by another session, a stalled backend, a lost network) is given up (TempFail),
/// and so is a wait of a run that is cancelled (Cancelled) or stopped for PgWaits::kStopGrace
/// (Cancelled). Giving up closes the connection: the server rolls its open transaction back
/// (a statement it is running ends within a second, client_connection_check_interval), and
/// every later call fails with the same error.
class PgConnection {
public:
    /// Connects. Errors name `stage` and the server, never the password: Config when the
    /// pipeline must change (authentication failed, unknown database or role, a malformed
    /// dsn), TempFail when the server cannot be reached or does not answer within the dsn's
    /// connect_timeout (kConnectTimeoutSeconds without one). Gives up at once (Cancelled)
    /// when `waits.run` is stopped or cancelled meanwhile.
    static Result<PgConnection> open(const std::string& dsn, std::string_view stage,
                                     PgWaits waits = {});
    /// How long a connection may take when the dsn sets no connect_timeout.
    static constexpr int kConnectTimeoutSeconds = 30;

    PgConnection(PgConnection&& o) noexcept;
    PgConnection& operator=(PgConnection&& o) noexcept;
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    ~PgConnection();

    /// Runs `sql` (one or more statements, no parameters).
    Status exec(const std::string& sql);
    /// Runs one statement with text parameters (nullopt: NULL) and returns its rows.
    Result<PgResult> query(const std::string& sql,
                           std::span<const std::optional<std::string>> params = {});
    /// Sends one statement without waiting for its result (receive() takes it), so that the
    /// server works on it while the caller does something else.
    Status send(const std::string& sql);
    /// The result of what send() sent.
    Result<PgResult> receive();
    /// Starts `COPY ... FROM STDIN` (`sql` may have statements before it).
    Status copy_in(const std::string& sql);
    /// Sends COPY data (what the socket does not take at once waits in libpq's buffer, which
    /// is sent before this returns).
    Status copy_data(std::string_view data);
    /// Abandons the COPY in progress (the server fails it), so that the connection can roll
    /// back.
    Status copy_abandon();
    /// Ends the COPY; an error is the server's rejection of its data (see last_error_line).
    Status copy_end();
    /// Starts `COPY ... TO STDOUT` (`sql` may have statements before it).
    Status copy_out(const std::string& sql);
    /// The next row of a COPY TO STDOUT (a view valid until the next call); nullopt at its end.
    Result<std::optional<std::string_view>> copy_row();

    /// The line of the COPY data the server named in its last error (1-based), or 0.
    [[nodiscard]] std::uint64_t last_error_line() const noexcept { return error_line_; }
    /// Where in its statement the server placed the last error (1-based, in characters), or
    /// 0.
    [[nodiscard]] std::size_t last_error_position() const noexcept { return error_position_; }
    /// The SQLSTATE of the last error ("" when none).
    [[nodiscard]] const std::string& last_sqlstate() const noexcept { return sqlstate_; }
    [[nodiscard]] const PgTarget& target() const noexcept { return target_; }
    /// Whether the connection is still usable (not broken, not given up).
    [[nodiscard]] bool ok() const noexcept;

    /// `name` as a quoted SQL identifier; "schema.table" keeps its dot ("a.b" -> "a"."b").
    [[nodiscard]] static std::string quote_name(std::string_view name);
    [[nodiscard]] static std::string quote_ident(std::string_view name);
    [[nodiscard]] static std::string quote_literal(std::string_view text);

private:
    PgConnection(pg_conn* c, PgTarget target, std::string stage, PgWaits waits)
        : c_(c), target_(std::move(target)), stage_(std::move(stage)), waits_(waits) {}
    /// The error of a failed result (or of the connection when `r` is null).
    Error failure(pg_result* r, std::string_view doing);
    Result<PgResult> check(PgResult r, std::string_view doing, int expected);
    /// Waits until the socket can be read (or, with `write`, written): an error when the
    /// connection was given up meanwhile (see the class).
    Status wait(bool write);
    /// Sends what libpq holds for the server.
    Status flush();
    /// Reads until a result can be taken without blocking.
    Status await_result();
    /// The next result of the statement sent (null after the last).
    Result<PgResult> next_result();
    /// Sends `sql` and reads the results before the COPY it starts (`expected`: PGRES_COPY_IN
    /// or PGRES_COPY_OUT); the first failure, its later results read.
    Status start_copy(const std::string& sql, int expected);
    /// Ends the COPY in progress (`why`: abandoned with that error) and reads its results.
    Status end_copy(const char* why);
    /// Closes the connection with `error`, which every later call returns.
    Error give_up(Error error);
    /// Why a wait must end now for the run (Cancelled), or nullopt.
    std::optional<Error> stopping();

    pg_conn* c_ = nullptr;
    PgTarget target_;
    std::string stage_;
    PgWaits waits_;
    std::optional<std::chrono::steady_clock::time_point> stop_seen_;
    std::optional<Error> given_up_;
    std::uint64_t error_line_ = 0;
    std::size_t error_position_ = 0;
    std::string sqlstate_;
    char* copy_buf_ = nullptr;
};

/// `error` with where it lies in `sql`, the statement the user wrote, when the server gave a
/// position (`position`, 1-based in characters) in a statement that had `prefix` characters
/// before the user's text: "(line 2, column 7 of the query: ...)" with the text around it.
Error at_query_position(Error error, std::string_view sql, std::size_t position,
                        std::size_t prefix);

} // namespace conveyor::plugins::postgres
