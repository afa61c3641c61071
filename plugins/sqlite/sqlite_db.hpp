#pragma once

#include "conveyor/core/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

struct sqlite3;
struct sqlite3_stmt;

namespace conveyor {
class RunContext;
}

namespace conveyor::plugins::sqlite {

/// A prepared statement (owns it).
class SqliteStmt {
public:
    SqliteStmt() = default;
    explicit SqliteStmt(sqlite3_stmt* s) noexcept : s_(s) {}
    SqliteStmt(SqliteStmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    SqliteStmt& operator=(SqliteStmt&& o) noexcept;
    SqliteStmt(const SqliteStmt&) = delete;
    SqliteStmt& operator=(const SqliteStmt&) = delete;
    ~SqliteStmt();
    [[nodiscard]] sqlite3_stmt* get() const noexcept { return s_; }

private:
    sqlite3_stmt* s_ = nullptr;
};

/// One database connection (blocking; one thread at a time).
class SqliteDb {
public:
    /// Opens `path`; `writable` creates it when missing and turns on WAL. A missing file to
    /// read, or a directory, is a NoInput error (66); a file that is not a database is Data
    /// (65) to read and CantCreate (73) to write; a locked one TempFail (75). A statement that
    /// finds the database locked by another connection waits up to 10 s for it, less when
    /// `run` (null: none) is stopped or cancelled meanwhile.
    static Result<SqliteDb> open(const std::string& path, bool writable, std::string_view stage,
                                 const RunContext* run = nullptr);

    SqliteDb(SqliteDb&& o) noexcept
        : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)),
          stage_(std::move(o.stage_)), writable_(o.writable_) {}
    SqliteDb& operator=(SqliteDb&& o) noexcept;
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;
    ~SqliteDb();

    Status exec(const std::string& sql);
    /// Makes the commits in the WAL file durable (fdatasync), without a checkpoint.
    Status sync_wal();
    Result<SqliteStmt> prepare(const std::string& sql);
    /// The error of the last failed call, `rc` its result code: Config for what the pipeline
    /// names wrongly (no such table or column, a syntax error), Data for a rejected row
    /// (constraint, type), TempFail when the database is locked.
    [[nodiscard]] Error error(int rc, std::string_view doing = {}) const;
    [[nodiscard]] sqlite3* get() const noexcept { return db_; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    [[nodiscard]] static std::string quote_ident(std::string_view name);
    [[nodiscard]] static std::string quote_literal(std::string_view text);

private:
    SqliteDb(sqlite3* db, std::string path, std::string stage, bool writable)
        : db_(db), path_(std::move(path)), stage_(std::move(stage)), writable_(writable) {}
    sqlite3* db_ = nullptr;
    std::string path_;
    std::string stage_;
    bool writable_ = false;
};

} // namespace conveyor::plugins::sqlite
