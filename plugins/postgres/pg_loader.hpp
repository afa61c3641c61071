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

/// Loads rows (COPY text, one line each) inside the open transaction, keeping the rows the
/// server rejects out of it instead of failing them all.
///
/// Each call runs under a savepoint: `SAVEPOINT; COPY ... FROM STDIN` (plus `merge`, the
/// upsert's INSERT ... ON CONFLICT from the staging table, when given). When the server
/// rejects a row (a value not of its column's type, a constraint: SQLSTATE classes 22 and 23)
/// the savepoint is rolled back, the row the server named (its COPY line) is handed to
/// `rejected`, and the others are sent again; when the server names no line (a constraint
/// the upsert's merge checks), the rows are sent one at a time. Any other failure (the
/// connection, a missing column) is returned as it is.
class PgLoader {
public:
    explicit PgLoader(PgConnection& conn) : conn_(conn) {}

    /// `text` holds the rows; row i is text[ends[i-1], ends[i]) (ends[-1] = 0). `rejected(i,
    /// error)` is called for each rejected row, in order; an error it returns (the stage's
    /// strategy stops) ends the load with that error.
    Status load(const std::string& copy_sql, const std::string& merge, std::string_view text,
                std::span<const std::size_t> ends,
                const std::function<Status(std::size_t, Error)>& rejected);

    /// SQL to run before the next statement (the last load's RELEASE SAVEPOINT), then "".
    std::string take_pending();

private:
    /// One attempt with the rows `rows`: ok, or the server's error (the savepoint rolled back).
    Status attempt(const std::string& copy_sql, const std::string& merge, std::string_view text,
                   std::span<const std::size_t> ends, std::span<const std::size_t> rows);
    Status one_at_a_time(const std::string& copy_sql, const std::string& merge,
                         std::string_view text, std::span<const std::size_t> ends,
                         std::span<const std::size_t> rows,
                         const std::function<Status(std::size_t, Error)>& rejected);

    PgConnection& conn_;
    bool release_pending_ = false;
    std::string send_;
};

/// Whether a server error is about the row's data (it becomes a record error) rather than the
/// load as a whole.
bool is_row_error(const Error& e) noexcept;

} // namespace conveyor::plugins::postgres
