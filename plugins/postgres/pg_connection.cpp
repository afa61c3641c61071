#include "pg_connection.hpp"

#include "conveyor/core/query_position.hpp"
#include "conveyor/core/run_context.hpp"
#include "pg_api.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>

namespace conveyor::plugins::postgres {

namespace {

/// libpq's messages end with a newline and may span lines ("FATAL:  ...\nDETAIL: ..."): one
/// line for ours.
std::string one_line(std::string_view text) {
    std::string out;
    bool space = false;
    for (const char c : text) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

/// `text` without the quoted values in it: `invalid input syntax for type integer: "x"` and
/// `value "99999999999" is out of range for type integer` lose `: "x"` and ` "99999999999"`.
std::string without_values(std::string_view text) {
    std::string out;
    std::size_t from = 0;
    for (;;) {
        const std::size_t open = text.find('"', from);
        const std::size_t close = open == text.npos ? open : text.find('"', open + 1);
        if (close == text.npos) break;
        std::size_t cut = open;
        if (cut > from && text[cut - 1] == ' ') --cut;
        if (cut > from && text[cut - 1] == ':') --cut;
        out.append(text.substr(from, cut - from));
        from = close + 1;
    }
    out.append(text.substr(from));
    return out;
}

/// A key's detail without the key's value: "Key (id)=(7) already exists." is "Key (id) already
/// exists."; "Key (a)=(1) conflicts with existing key (a)=(2)." keeps "Key (a) conflicts with
/// existing key". nullopt when it is no such detail, or the values cannot be told apart.
std::optional<std::string> key_without_values(std::string_view detail) {
    if (!detail.starts_with("Key (")) return std::nullopt;
    const std::size_t eq = detail.find(")=(");
    if (eq == detail.npos) return std::nullopt;
    static constexpr std::string_view kTails[] = {") already exists", ") is not present in table",
                                                  ") is still referenced from table",
                                                  ") conflicts with existing key"};
    for (const std::string_view tail : kTails) {
        const std::size_t at = detail.rfind(tail);
        if (at == detail.npos || at < eq) continue;
        std::string out(detail.substr(0, eq + 1));
        if (tail == kTails[3]) return out + std::string(tail.substr(1));
        return out + std::string(detail.substr(at + 1));
    }
    return std::nullopt;
}

/// Why the server refused a row (SQLSTATE class 22 data exception, 23 integrity violation),
/// without the row's values: the end-of-run summary groups record errors by message, so a
/// thousand rows refused for one reason must read alike (their dead letters keep the records).
/// A data exception's quoted value goes, and the column a COPY names is said instead; a key's
/// detail keeps its columns; "Failing row contains (...)" goes.
std::string row_reason(std::string_view sqlstate, std::string_view primary, const char* detail,
                       std::string_view context) {
    const bool data = sqlstate.starts_with("22");
    std::string out = data ? without_values(primary) : std::string(primary);
    if (data) {
        // "COPY t, line 3, column qty: "x""
        if (const std::size_t at = context.find(", column ");
            context.starts_with("COPY ") && at != context.npos) {
            std::string_view column = context.substr(at + 9);
            column = column.substr(0, column.find(": "));
            out += fmt::format(" (column {})", column);
        }
    }
    if (!detail) return out;
    const std::string d = one_line(detail);
    if (auto key = key_without_values(d)) return out + fmt::format(" ({})", *key);
    if (d.starts_with("Failing row contains") || d.starts_with("Key (") ||
        (data && d.find('"') != d.npos))
        return out;
    return out + fmt::format(" ({})", d);
}

/// libpq's complaint about a connection string quotes pieces of it ('missing "=" after "..."'),
/// which may be part of a password: those are left out.
std::string without_quoted(std::string_view text) {
    std::string out;
    std::string piece;
    bool quoted = false;
    for (const char c : text) {
        if (c != '"') {
            (quoted ? piece : out).push_back(c);
            continue;
        }
        if (quoted) {
            // A single character ("=") is the syntax libpq wanted, not a piece of the text.
            out += '"' + (piece.size() <= 1 ? piece : std::string("...")) + '"';
            piece.clear();
        }
        quoted = !quoted;
    }
    return out;
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

/// The pipeline must change when the server refused who we are or what we asked for, not when
/// it could not be reached.
ErrorKind kind_of_connect_failure(std::string_view message) {
    for (const std::string_view config :
         {"authentication failed", "no password supplied", "password is required", "does not exist",
          "no pg_hba.conf entry", "invalid connection option", "missing \"=\"", "invalid URI",
          "invalid integer value", "permission denied", "unterminated quoted string",
          "invalid sslmode", "invalid port number"})
        if (contains(message, config)) return ErrorKind::Config;
    return ErrorKind::TempFail;
}

} // namespace

PgResult::PgResult(pg_result* r) {
    if (r) r_ = std::shared_ptr<pg_result>(r, [](pg_result* p) { pq().clear(p); });
}

int PgResult::rows() const noexcept {
    return r_ ? pq().ntuples(r_.get()) : 0;
}
int PgResult::columns() const noexcept {
    return r_ ? pq().nfields(r_.get()) : 0;
}
bool PgResult::is_null(int row, int col) const noexcept {
    return pq().getisnull(r_.get(), row, col) != 0;
}
std::string_view PgResult::value(int row, int col) const noexcept {
    return {pq().getvalue(r_.get(), row, col),
            static_cast<std::size_t>(pq().getlength(r_.get(), row, col))};
}
std::string_view PgResult::name(int col) const noexcept {
    return pq().fname(r_.get(), col);
}
std::uint32_t PgResult::type(int col) const noexcept {
    return pq().ftype(r_.get(), col);
}

std::string PgTarget::to_string() const {
    std::string s = "PostgreSQL at " + (host.empty() ? std::string("the default host") : host);
    if (!database.empty()) s += " (database " + database + ")";
    return s;
}

PgTarget describe_dsn(const std::string& dsn) {
    PgTarget t;
    if (!load_libpq()) return t;
    char* err = nullptr;
    PQconninfoOption* opts = pq().conninfoParse(dsn.c_str(), &err);
    if (err) pq().freemem(err);
    if (!opts) return t;
    std::string host;
    std::string port;
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
        if (!o->val) continue;
        const std::string_view k = o->keyword;
        if (k == "host" || (k == "hostaddr" && host.empty()))
            host = o->val;
        else if (k == "port")
            port = o->val;
        else if (k == "dbname")
            t.database = o->val;
        else if (k == "user")
            t.user = o->val;
    }
    pq().conninfoFree(opts);
    t.host = host.empty() ? std::string() : port.empty() ? host : host + ":" + port;
    return t;
}

namespace {

/// The dsn's connect_timeout in seconds (libpq's rule: below 2 counts as 2; 0 or none: ours).
int connect_timeout_of(PQconninfoOption* parsed) {
    for (PQconninfoOption* o = parsed; o->keyword; ++o) {
        if (!o->val || std::string_view(o->keyword) != "connect_timeout") continue;
        int seconds = 0;
        const std::string_view v = o->val;
        std::from_chars(v.data(), v.data() + v.size(), seconds);
        if (seconds > 0) return std::max(seconds, 2);
    }
    return PgConnection::kConnectTimeoutSeconds;
}

/// Drives PQconnectStart's connection to its end: CONNECTION_OK, a failure (its message in the
/// connection), or nullopt-like outcomes as a message of ours: "" when it ended by itself,
/// else why we gave up (the deadline, a stop of the run). libpq ignores connect_timeout for a
/// connection made so: the deadline is ours, and the wait wakes every 100 ms to see a stop.
std::string drive_connect(pg_conn* c, int timeout_seconds, const RunContext* run, bool& stopped) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK || st == PGRES_POLLING_FAILED) return {};
        if (run && (run->stop_requested() || run->cancelled())) {
            stopped = true;
            return "the run was stopped while connecting";
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return fmt::format("no answer within {} s (connect_timeout in the dsn sets how long "
                               "to wait)",
                               timeout_seconds);
        pollfd p{pq().socket(c), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT),
                 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
        if (n < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
        if (n > 0) st = pq().connectPoll(c);
    }
}

} // namespace

Result<PgConnection> PgConnection::open(const std::string& dsn, std::string_view stage,
                                        const RunContext* run) {
    if (Result<const PqApi*> api = load_libpq(); !api)
        return std::move(api).error().in_stage(stage);
    PgTarget target = describe_dsn(dsn);
    char* parse_error = nullptr;
    PQconninfoOption* parsed = pq().conninfoParse(dsn.c_str(), &parse_error);
    if (!parsed) {
        std::string why =
            parse_error ? without_quoted(one_line(parse_error)) : std::string("out of memory");
        if (parse_error) pq().freemem(parse_error);
        return fail(Error(ErrorKind::Config, "malformed dsn: " + why, "dsn", std::string(stage)));
    }
    const int timeout_seconds = connect_timeout_of(parsed);
    pq().conninfoFree(parsed);
    pg_conn* c = pq().connectStart(dsn.c_str());
    bool stopped = false;
    const std::string gave_up = c && pq().status(c) != CONNECTION_BAD
                                    ? drive_connect(c, timeout_seconds, run, stopped)
                                    : std::string();
    if (!c || !gave_up.empty() || pq().status(c) != CONNECTION_OK) {
        const std::string why = !c                ? std::string("out of memory")
                                : gave_up.empty() ? one_line(pq().errorMessage(c))
                                                  : gave_up;
        if (c) {
            if (target.host.empty() && pq().host(c))
                target.host = std::string(pq().host(c)) + ":" + pq().port(c);
            pq().finish(c);
        }
        const ErrorKind kind = stopped           ? ErrorKind::Cancelled
                               : gave_up.empty() ? kind_of_connect_failure(why)
                                                 : ErrorKind::TempFail;
        return fail(Error(kind, "cannot connect: " + why, target.to_string(), std::string(stage)));
    }
    if (target.host.empty() && pq().host(c))
        target.host = std::string(pq().host(c)) + ":" + pq().port(c);
    PgConnection conn(c, std::move(target), std::string(stage));
    // Timestamps as ISO 8601 in UTC, floats exact, and no notices on standard error.
    pq().setNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    CONVEYOR_TRY(conn.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                           "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1; "
                           "SET client_encoding = 'UTF8'"));
    return conn;
}

PgConnection::PgConnection(PgConnection&& o) noexcept
    : c_(std::exchange(o.c_, nullptr)), target_(std::move(o.target_)), stage_(std::move(o.stage_)),
      error_line_(o.error_line_), error_position_(o.error_position_),
      sqlstate_(std::move(o.sqlstate_)), copy_buf_(std::exchange(o.copy_buf_, nullptr)) {}

PgConnection& PgConnection::operator=(PgConnection&& o) noexcept {
    if (this != &o) {
        if (copy_buf_) pq().freemem(copy_buf_);
        if (c_) pq().finish(c_);
        c_ = std::exchange(o.c_, nullptr);
        copy_buf_ = std::exchange(o.copy_buf_, nullptr);
        target_ = std::move(o.target_);
        stage_ = std::move(o.stage_);
        error_line_ = o.error_line_;
        error_position_ = o.error_position_;
        sqlstate_ = std::move(o.sqlstate_);
    }
    return *this;
}

PgConnection::~PgConnection() {
    if (copy_buf_) pq().freemem(copy_buf_);
    if (c_) pq().finish(c_);
}

bool PgConnection::ok() const noexcept {
    return c_ && pq().status(c_) == CONNECTION_OK;
}

Error PgConnection::failure(pg_result* r, std::string_view doing) {
    error_line_ = 0;
    error_position_ = 0;
    sqlstate_.clear();
    std::string message;
    if (r) {
        if (const char* pos = pq().resultErrorField(r, PG_DIAG_STATEMENT_POSITION))
            std::from_chars(pos, pos + std::strlen(pos), error_position_);
        const char* state = pq().resultErrorField(r, PG_DIAG_SQLSTATE);
        sqlstate_ = state ? state : "";
        const char* primary = pq().resultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        message = primary ? primary : one_line(pq().resultErrorMessage(r));
        const char* detail = pq().resultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
        const char* context = pq().resultErrorField(r, PG_DIAG_CONTEXT);
        if (primary && (sqlstate_.starts_with("22") || sqlstate_.starts_with("23")))
            message = row_reason(sqlstate_, primary, detail, context ? context : "");
        else if (detail)
            message += fmt::format(" ({})", one_line(detail));
        if (context) {
            // "COPY t, line 3, column id: ..." names the row of our data.
            const std::string_view ctx = context;
            if (const auto at = ctx.find(", line "); ctx.starts_with("COPY ") && at != ctx.npos) {
                const char* p = ctx.data() + at + 7;
                std::from_chars(p, ctx.data() + ctx.size(), error_line_);
            }
        }
    }
    if (message.empty()) message = c_ ? one_line(pq().errorMessage(c_)) : "no connection";
    const ErrorKind kind = !ok()               ? ErrorKind::TempFail
                           : sqlstate_.empty() ? ErrorKind::Runtime
                                               : kind_of_sqlstate(sqlstate_);
    std::string text = doing.empty() ? message : fmt::format("{}: {}", doing, message);
    if (!sqlstate_.empty()) text += fmt::format(" (SQLSTATE {})", sqlstate_);
    return Error(kind, std::move(text), target_.to_string(), stage_);
}

Result<PgResult> PgConnection::check(PgResult r, std::string_view doing, int expected) {
    const ExecStatusType got = r.get() ? pq().resultStatus(r.get()) : PGRES_FATAL_ERROR;
    const bool done = got == PGRES_COMMAND_OK || got == PGRES_TUPLES_OK;
    if (got == expected || (done && (expected == PGRES_COMMAND_OK || expected == PGRES_TUPLES_OK)))
        return r;
    return fail(failure(r.get(), doing));
}

Status PgConnection::exec(const std::string& sql) {
    auto r = check(PgResult(pq().exec(c_, sql.c_str())), "", PGRES_COMMAND_OK);
    if (!r) return std::move(r).error();
    return {};
}

Result<PgResult> PgConnection::query(const std::string& sql,
                                     std::span<const std::optional<std::string>> params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p ? p->c_str() : nullptr);
    return check(PgResult(pq().execParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                          values.data(), nullptr, nullptr, 0)),
                 "", PGRES_TUPLES_OK);
}

Status PgConnection::send(const std::string& sql) {
    if (!pq().sendQuery(c_, sql.c_str())) return failure(nullptr, "");
    return {};
}

Result<PgResult> PgConnection::receive() {
    PgResult last;
    std::optional<Error> error;
    while (PGresult* r = pq().getResult(c_)) {
        PgResult owned(r);
        const ExecStatusType st = pq().resultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (!error) error = failure(r, "");
            continue;
        }
        last = std::move(owned);
    }
    if (error) return fail(std::move(*error));
    return last;
}

Status PgConnection::copy_in(const std::string& sql) {
    if (!pq().sendQuery(c_, sql.c_str())) return failure(nullptr, "COPY");
    // Statements before the COPY report their results first.
    for (;;) {
        PgResult r(pq().getResult(c_));
        if (!r.get())
            return Error(ErrorKind::Runtime, "COPY did not start", target_.to_string(), stage_);
        const ExecStatusType st = pq().resultStatus(r.get());
        if (st == PGRES_COPY_IN) return {};
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            Error e = failure(r.get(), "");
            while (PGresult* rest = pq().getResult(c_))
                pq().clear(rest);
            return e;
        }
    }
}

Status PgConnection::copy_data(std::string_view data) {
    if (data.empty()) return {};
    if (pq().putCopyData(c_, data.data(), static_cast<int>(data.size())) != 1)
        return failure(nullptr, "COPY");
    return {};
}

Status PgConnection::copy_abandon() {
    if (pq().putCopyEnd(c_, "the run was abandoned") != 1) return failure(nullptr, "COPY");
    while (PGresult* r = pq().getResult(c_))
        pq().clear(r);
    return {};
}

Status PgConnection::copy_end() {
    if (pq().putCopyEnd(c_, nullptr) != 1) return failure(nullptr, "COPY");
    std::optional<Error> error;
    while (PGresult* r = pq().getResult(c_)) {
        PgResult owned(r);
        const ExecStatusType st = pq().resultStatus(r);
        if (st != PGRES_COMMAND_OK && !error) error = failure(r, "");
    }
    if (error) return *error;
    return {};
}

Status PgConnection::copy_out(const std::string& sql) {
    if (!pq().sendQuery(c_, sql.c_str())) return failure(nullptr, "COPY");
    for (;;) {
        PgResult r(pq().getResult(c_));
        if (!r.get())
            return Error(ErrorKind::Runtime, "COPY did not start", target_.to_string(), stage_);
        const ExecStatusType st = pq().resultStatus(r.get());
        if (st == PGRES_COPY_OUT) return {};
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            Error e = failure(r.get(), "");
            while (PGresult* rest = pq().getResult(c_))
                pq().clear(rest);
            return e;
        }
    }
}

Result<std::optional<std::string_view>> PgConnection::copy_row() {
    if (copy_buf_) {
        pq().freemem(copy_buf_);
        copy_buf_ = nullptr;
    }
    const int n = pq().getCopyData(c_, &copy_buf_, 0);
    if (n >= 0) return std::optional<std::string_view>(std::string_view(copy_buf_, n));
    if (n == -2) return fail(failure(nullptr, "COPY"));
    // The end of the data: the COPY's own result follows.
    std::optional<Error> error;
    while (PGresult* r = pq().getResult(c_)) {
        PgResult owned(r);
        if (pq().resultStatus(r) != PGRES_COMMAND_OK && !error) error = failure(r, "");
    }
    if (error) return fail(std::move(*error));
    return std::optional<std::string_view>();
}

std::string PgConnection::quote_ident(std::string_view name) {
    std::string out = "\"";
    for (const char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string PgConnection::quote_name(std::string_view name) {
    const auto dot = name.find('.');
    if (dot == std::string_view::npos) return quote_ident(name);
    return quote_ident(name.substr(0, dot)) + "." + quote_ident(name.substr(dot + 1));
}

std::string PgConnection::quote_literal(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

Error at_query_position(Error error, std::string_view sql, std::size_t position,
                        std::size_t prefix) {
    if (position <= prefix) return error;
    // The server counts characters from 1.
    const std::size_t at = byte_of_character(sql, position - prefix - 1);
    if (at >= sql.size()) return error;
    error.message += query_position_text(sql, at);
    return error;
}

ErrorKind kind_of_sqlstate(std::string_view s) noexcept {
    if (s.size() < 2) return ErrorKind::Runtime;
    // read_only_sql_transaction: a standby, or a database whose transactions are read-only
    // by default, cannot be the output.
    if (s == "25006") return ErrorKind::CantCreate;
    // protocol_violation on a connection that still works: what was sent does not fit the
    // statement (params for $1, $2, ... that it does not have), which no retry mends.
    if (s == "08P01") return ErrorKind::Config;
    const std::string_view cls = s.substr(0, 2);
    if (cls == "08" || cls == "53" || cls == "57" || cls == "40" || cls == "55")
        return ErrorKind::TempFail;
    if (cls == "28" || cls == "3D" || cls == "3F" || cls == "42") return ErrorKind::Config;
    if (cls == "22" || cls == "23") return ErrorKind::Data;
    return ErrorKind::Runtime;
}

} // namespace conveyor::plugins::postgres
