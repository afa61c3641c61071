#include "pg_connection.hpp"

#include "conveyor/core/query_position.hpp"
#include "conveyor/core/run_context.hpp"
#include "pg_api.hpp"
#include "pg_errors.hpp"

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
                                        PgWaits waits) {
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
                                    ? drive_connect(c, timeout_seconds, waits.run, stopped)
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
    PgConnection conn(c, std::move(target), std::string(stage), waits);
    // Every wait for the server is ours (see wait()): libpq never blocks.
    if (pq().setnonblocking(c, 1) != 0) return fail(conn.failure(nullptr, "nonblocking mode"));
    // Timestamps as ISO 8601 in UTC, floats exact, and no notices on standard error. A server
    // that has client_connection_check_interval (PostgreSQL 14 and later) ends a statement it
    // is running within a second once we closed the connection (a wait given up).
    pq().setNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    CONVEYOR_TRY(conn.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                           "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1; "
                           "SET client_encoding = 'UTF8'; SELECT set_config(name, '1s', false) "
                           "FROM pg_settings WHERE name = 'client_connection_check_interval'"));
    return conn;
}

PgConnection::PgConnection(PgConnection&& o) noexcept : PgConnection(nullptr, {}, {}, {}) {
    *this = std::move(o);
}

PgConnection& PgConnection::operator=(PgConnection&& o) noexcept {
    if (this != &o) {
        if (copy_buf_) pq().freemem(copy_buf_);
        if (c_) pq().finish(c_);
        c_ = std::exchange(o.c_, nullptr);
        copy_buf_ = std::exchange(o.copy_buf_, nullptr);
        target_ = std::move(o.target_);
        stage_ = std::move(o.stage_);
        waits_ = o.waits_;
        stop_seen_ = o.stop_seen_;
        given_up_ = std::move(o.given_up_);
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

Error PgConnection::give_up(Error error) {
    if (copy_buf_) pq().freemem(copy_buf_);
    copy_buf_ = nullptr;
    // Closing the socket is what a stalled server cannot hold up; it rolls back what the
    // connection left open when it notices.
    if (c_) pq().finish(c_);
    c_ = nullptr;
    error.message += "; the connection was closed, so the server rolls back what it left open";
    given_up_ = error;
    return error;
}

std::optional<Error> PgConnection::stopping() {
    const RunContext* run = waits_.run;
    if (!run) return std::nullopt;
    if (run->cancelled())
        return Error(ErrorKind::Cancelled, "the run was cancelled while waiting for the server",
                     target_.to_string(), stage_);
    if (!run->stop_requested()) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    if (!stop_seen_) stop_seen_ = now;
    if (now - *stop_seen_ < PgWaits::kStopGrace) return std::nullopt;
    return Error(ErrorKind::Cancelled,
                 fmt::format("the run was stopped and the server did not answer within {:g} s",
                             static_cast<double>(PgWaits::kStopGrace.count()) / 1000),
                 target_.to_string(), stage_);
}

Status PgConnection::wait(bool write) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto limit = waits_.answer_timeout;
    for (;;) {
        if (std::optional<Error> stop = stopping()) return give_up(std::move(*stop));
        const auto waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        if (limit.count() > 0 && waited >= limit)
            return give_up(
                Error(ErrorKind::TempFail,
                      fmt::format("the server did not answer within {} s (the stage's 'timeout' "
                                  "sets how long to wait)",
                                  fmt::format("{:g}", static_cast<double>(limit.count()) / 1000)),
                      target_.to_string(), stage_));
        long slice = 100;
        if (limit.count() > 0) slice = std::min<long>(slice, (limit - waited).count());
        pollfd p{pq().socket(c_), static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::max<long>(slice, 1)));
        if (n < 0 && errno != EINTR)
            return give_up(Error(ErrorKind::TempFail, std::string("poll: ") + std::strerror(errno),
                                 target_.to_string(), stage_));
        if (n > 0) return {};
    }
}

Status PgConnection::flush() {
    if (given_up_) return *given_up_;
    for (;;) {
        const int left = pq().flush(c_);
        if (left == 0) return {};
        if (left < 0) return failure(nullptr, "");
        CONVEYOR_TRY(wait(true));
        // The server may have answered meanwhile (an error ends its reading).
        if (pq().consumeInput(c_) == 0) return failure(nullptr, "");
    }
}

Status PgConnection::await_result() {
    CONVEYOR_TRY(flush());
    for (;;) {
        if (pq().consumeInput(c_) == 0) return failure(nullptr, "");
        if (pq().isBusy(c_) == 0) return {};
        CONVEYOR_TRY(wait(false));
    }
}

Result<PgResult> PgConnection::next_result() {
    CONVEYOR_TRY(await_result());
    return PgResult(pq().getResult(c_));
}

Error PgConnection::failure(pg_result* r, std::string_view doing) {
    if (given_up_) return *given_up_;
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
    CONVEYOR_TRY(send(sql));
    auto r = receive();
    if (!r) return std::move(r).error();
    return {};
}

Result<PgResult> PgConnection::query(const std::string& sql,
                                     std::span<const std::optional<std::string>> params) {
    if (given_up_) return fail(*given_up_);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p ? p->c_str() : nullptr);
    if (!pq().sendQueryParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0))
        return fail(failure(nullptr, ""));
    auto r = receive();
    if (!r) return r;
    return check(std::move(*r), "", PGRES_TUPLES_OK);
}

Status PgConnection::send(const std::string& sql) {
    if (given_up_) return *given_up_;
    if (!pq().sendQuery(c_, sql.c_str())) return failure(nullptr, "");
    return flush();
}

Result<PgResult> PgConnection::receive() {
    PgResult last;
    std::optional<Error> error;
    for (;;) {
        auto next = next_result();
        if (!next) return next;
        if (!next->get()) break;
        const ExecStatusType st = pq().resultStatus(next->get());
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
            return fail(give_up(Error(ErrorKind::Internal, "a COPY started where none was sent",
                                      target_.to_string(), stage_)));
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (!error) error = failure(next->get(), "");
            continue;
        }
        last = std::move(*next);
    }
    if (error) return fail(std::move(*error));
    return last;
}

Status PgConnection::start_copy(const std::string& sql, int expected) {
    CONVEYOR_TRY(send(sql));
    for (;;) {
        auto r = next_result();
        if (!r) return std::move(r).error();
        if (!r->get())
            return Error(ErrorKind::Runtime, "COPY did not start", target_.to_string(), stage_);
        const ExecStatusType st = pq().resultStatus(r->get());
        if (st == expected) return {};
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) continue;
        Error e = failure(r->get(), "");
        auto rest = receive();
        if (!rest && given_up_) return std::move(rest).error();
        return e;
    }
}

Status PgConnection::copy_in(const std::string& sql) {
    return start_copy(sql, PGRES_COPY_IN);
}

Status PgConnection::copy_data(std::string_view data) {
    if (data.empty()) return {};
    if (given_up_) return *given_up_;
    for (;;) {
        const int put = pq().putCopyData(c_, data.data(), static_cast<int>(data.size()));
        if (put < 0) return failure(nullptr, "COPY");
        if (put == 1) return flush();
        CONVEYOR_TRY(wait(true));
        if (pq().consumeInput(c_) == 0) return failure(nullptr, "COPY");
    }
}

Status PgConnection::end_copy(const char* why) {
    if (given_up_) return *given_up_;
    for (;;) {
        const int put = pq().putCopyEnd(c_, why);
        if (put < 0) return failure(nullptr, "COPY");
        if (put == 1) break;
        CONVEYOR_TRY(wait(true));
        if (pq().consumeInput(c_) == 0) return failure(nullptr, "COPY");
    }
    auto r = receive();
    if (!r) return std::move(r).error();
    return {};
}

Status PgConnection::copy_abandon() {
    (void)end_copy("the run was abandoned");
    if (given_up_) return *given_up_;
    return {};
}

Status PgConnection::copy_end() {
    return end_copy(nullptr);
}

Status PgConnection::copy_out(const std::string& sql) {
    return start_copy(sql, PGRES_COPY_OUT);
}

Result<std::optional<std::string_view>> PgConnection::copy_row() {
    if (copy_buf_) {
        pq().freemem(copy_buf_);
        copy_buf_ = nullptr;
    }
    if (given_up_) return fail(*given_up_);
    for (;;) {
        const int n = pq().getCopyData(c_, &copy_buf_, 1);
        if (n > 0) return std::optional<std::string_view>(std::string_view(copy_buf_, n));
        if (n == -2) return fail(failure(nullptr, "COPY"));
        if (n == -1) break;
        CONVEYOR_TRY(wait(false));
        if (pq().consumeInput(c_) == 0) return fail(failure(nullptr, "COPY"));
    }
    // The end of the data: the COPY's own result follows.
    auto r = receive();
    if (!r) return fail(std::move(r).error());
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

} // namespace conveyor::plugins::postgres
