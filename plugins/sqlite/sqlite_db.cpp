#include "sqlite_db.hpp"

#include "conveyor/core/query_position.hpp"
#include "conveyor/core/run_context.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace conveyor::plugins::sqlite {

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& o) noexcept {
    if (this != &o) {
        sqlite3_finalize(s_);
        s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
}

SqliteStmt::~SqliteStmt() {
    sqlite3_finalize(s_);
}

namespace {

/// How long a statement waits for another connection's lock, in steps of kBusyStep.
constexpr int kBusySteps = 1000;
constexpr auto kBusyStep = std::chrono::milliseconds(10);

/// SQLite's busy handler: wait a step more (1) or give up (0: the statement fails with
/// SQLITE_BUSY), at once when the run is stopped or cancelled, so that Ctrl-C does not wait
/// for another connection's lock.
int wait_while_busy(void* run, int count) {
    const auto* r = static_cast<const RunContext*>(run);
    if (r && (r->stop_requested() || r->cancelled())) return 0;
    if (count >= kBusySteps) return 0;
    std::this_thread::sleep_for(kBusyStep);
    return 1;
}

/// The directory `path` is in ("." for a bare name).
std::string directory_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, std::max<std::size_t>(slash, 1));
}

/// Whether a database to read must be opened as immutable: it is in WAL mode (as sqlite.write
/// leaves it), which a reader can only read by making its `-shm` file beside it, and nobody can
/// make files in its directory, so that none can be writing it either (a writer makes `-wal`
/// there) and no `-wal` holds commits the file lacks. SQLite would fail every statement with
/// "attempt to write a readonly database" otherwise.
bool read_as_immutable(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    unsigned char header[20] = {};
    const bool read = ::pread(fd, header, sizeof header, 0) == static_cast<ssize_t>(sizeof header);
    ::close(fd);
    // Bytes 18 and 19 of the header: the file format's write and read versions, 2 for WAL.
    if (!read || header[18] != 2 || header[19] != 2) return false;
    struct stat st {};
    if (::stat((path + "-wal").c_str(), &st) == 0) return false;
    return ::access(directory_of(path).c_str(), W_OK) != 0;
}

/// `path` as a URI that opens it immutable (read without locks or a `-shm` file).
std::string immutable_uri(const std::string& path) {
    std::string uri = "file:";
    for (const char c : path) {
        if (c == '%' || c == '?' || c == '#')
            uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        else
            uri += c;
    }
    return uri + "?immutable=1";
}

} // namespace

Result<SqliteDb> SqliteDb::open(const std::string& path, bool writable, std::string_view stage,
                                const RunContext* run) {
    if (!writable) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            return fail(
                Error(ErrorKind::NoInput, "no such SQLite database", path, std::string(stage)));
        if (S_ISDIR(st.st_mode))
            return fail(Error(ErrorKind::NoInput, "a directory, not a SQLite database", path,
                              std::string(stage)));
    }
    sqlite3* db = nullptr;
    const int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    const bool immutable = !writable && read_as_immutable(path);
    const std::string name = immutable ? immutable_uri(path) : path;
    const int rc =
        sqlite3_open_v2(name.c_str(), &db,
                        flags | SQLITE_OPEN_NOMUTEX | (immutable ? SQLITE_OPEN_URI : 0), nullptr);
    SqliteDb out(db, path, std::string(stage), writable);
    if (rc != SQLITE_OK) {
        Error e = out.error(rc, "cannot open");
        if ((rc & 0xff) == SQLITE_CANTOPEN) {
            e.kind = writable ? ErrorKind::CantCreate : ErrorKind::NoInput;
            // SQLite says "unable to open database file" whatever the cause.
            const std::string dir = directory_of(path);
            struct stat st {};
            if (writable && ::stat(dir.c_str(), &st) != 0)
                e.message += fmt::format(" (there is no directory {}: create it first)", dir);
        }
        return fail(std::move(e));
    }
    sqlite3_extended_result_codes(db, 1);
    // Another writer holding the lock: wait for it a while rather than fail at once.
    sqlite3_busy_handler(db, wait_while_busy, const_cast<RunContext*>(run));
    if (writable) CONVEYOR_TRY(out.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL"));
    return out;
}

SqliteDb& SqliteDb::operator=(SqliteDb&& o) noexcept {
    if (this != &o) {
        sqlite3_close_v2(db_);
        db_ = std::exchange(o.db_, nullptr);
        path_ = std::move(o.path_);
        stage_ = std::move(o.stage_);
        writable_ = o.writable_;
    }
    return *this;
}

SqliteDb::~SqliteDb() {
    sqlite3_close_v2(db_);
}

Status SqliteDb::exec(const std::string& sql) {
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return error(rc);
    return {};
}

Status SqliteDb::sync_wal() {
    const std::string wal = path_ + "-wal";
    const int fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return {}; // checkpointed into the database file already
        return Error(ErrorKind::CantCreate,
                     fmt::format("cannot open {}: {}", wal, std::strerror(errno)), path_, stage_);
    }
    const int rc = ::fdatasync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0)
        return Error(ErrorKind::CantCreate,
                     fmt::format("cannot sync {}: {}", wal, std::strerror(err)), path_, stage_);
    return {};
}

Result<SqliteStmt> SqliteDb::prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) {
        Error e = error(rc);
        const int offset = sqlite3_error_offset(db_);
        if (offset >= 0 && static_cast<std::size_t>(offset) < sql.size())
            e.message += query_position_text(sql, static_cast<std::size_t>(offset));
        return fail(std::move(e));
    }
    return SqliteStmt(s);
}

Error SqliteDb::error(int rc, std::string_view doing) const {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    ErrorKind kind = ErrorKind::Runtime;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        kind = ErrorKind::TempFail;
        message += " (another connection holds its lock; waited up to 10 s)";
        break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
        kind = ErrorKind::TempFail;
        break;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
        kind = ErrorKind::Data;
        break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        kind = ErrorKind::CantCreate;
        break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        // Bad input to read; an output that cannot be written to write.
        kind = writable_ ? ErrorKind::CantCreate : ErrorKind::Data;
        break;
    case SQLITE_ERROR:
        // "no such table", "no such column", syntax errors: the pipeline names them.
        kind = ErrorKind::Config;
        break;
    default:
        break;
    }
    return Error(kind, doing.empty() ? message : fmt::format("{}: {}", doing, message), path_,
                 stage_);
}

std::string SqliteDb::quote_ident(std::string_view name) {
    std::string out = "\"";
    for (const char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string SqliteDb::quote_literal(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

} // namespace conveyor::plugins::sqlite
