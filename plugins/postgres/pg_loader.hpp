#pragma once

#include "conveyor/core/result.hpp"
#include "pg_connection.hpp"

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::plugins::postgres {

/// Loads rows (COPY text, one line each) inside the open transaction, streaming them to the
/// server as they come, and keeps the rows the server rejects out of it instead of failing
/// them all.
///
/// A COPY runs under a savepoint: `SAVEPOINT; COPY ... FROM STDIN`, then the rows (send()),
/// then end() (plus `merge`, the upsert's INSERT ... ON CONFLICT from the staging table). When
/// the server rejects a row (a value not of its column's type, a constraint: SQLSTATE classes
/// 22 and 23) the savepoint is rolled back, the row the server named (its COPY line) is handed
/// to `rejected`, the rows before it are sent again and the rest follow in windows (16 rows
/// after a rejected one, doubling while they go in), so that each row is sent a few times at
/// most however many are rejected; when the server names no line (a constraint the upsert's
/// merge checks), a failed window is bisected until the row is found. Any other failure (the
/// connection, a missing column) is returned as it is. Not thread-safe.
class PgLoader {
public:
    /// Row i of a COPY's text, and the server's error about it.
    using Rejected = std::function<Status(std::size_t, Error)>;

    explicit PgLoader(PgConnection& conn) : conn_(conn) {}

    [[nodiscard]] bool open() const noexcept { return open_; }
    /// Starts `COPY ... FROM STDIN` (`copy_sql`) under a savepoint, after `before` (statements
    /// run first in the same round trip: a checkpoint's commit, which has then succeeded).
    /// `merge` (may be empty) runs after the COPY ends.
    Status begin(const std::string& before, const std::string& copy_sql, const std::string& merge);
    /// Sends rows to the open COPY (buffered by libpq; the server works on them meanwhile).
    Status send(std::string_view text);
    /// Ends the open COPY whose rows were `text` (row i ends at ends[i]); rejected rows go to
    /// `rejected` (an error it returns, the stage's strategy stopping, ends the load with it).
    Status end(std::string_view text, std::span<const std::size_t> ends, const Rejected& rejected);
    /// The run is abandoned: ends an open COPY with an error, so that the connection can roll
    /// back.
    void abandon() noexcept;
    /// SQL to run before the next statement (the last COPY's RELEASE SAVEPOINT), then "".
    std::string take_pending();

private:
    /// The error of a failed COPY (its savepoint rolled back), or the rollback's own.
    Error rolled_back(Error e);
    /// One attempt with the rows [first, first + count) of `text`: ok, or the server's error
    /// (rolled back).
    Status attempt(std::string_view text, std::span<const std::size_t> ends, std::size_t first,
                   std::size_t count);
    /// After `first` failed the whole COPY: the rows again, in windows that end before the row
    /// the server names (which goes to `rejected`), or bisected when it names none.
    Status retry(Error first, std::string_view text, std::span<const std::size_t> ends,
                 const Rejected& rejected);

    PgConnection& conn_;
    bool open_ = false;
    bool release_pending_ = false;
    std::uint64_t error_line_ = 0;
    std::string copy_sql_;
    std::string merge_;
};

/// Whether a server error is about the row's data (it becomes a record error) rather than the
/// load as a whole.
bool is_row_error(const Error& e) noexcept;

} // namespace conveyor::plugins::postgres
