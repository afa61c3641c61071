#include "pg_loader.hpp"

#include <algorithm>
#include <optional>

namespace conveyor::plugins::postgres {

namespace {
constexpr std::string_view kSavepoint = "conveyor_batch";
/// Rows in the first attempt after a rejected one (doubling while attempts succeed).
constexpr std::size_t kWindowAfterRejection = 16;
} // namespace

bool is_row_error(const Error& e) noexcept {
    return e.kind == ErrorKind::Data;
}

std::string PgLoader::take_pending() {
    if (!release_pending_) return {};
    release_pending_ = false;
    return "RELEASE SAVEPOINT " + std::string(kSavepoint) + "; ";
}

Status PgLoader::begin(const std::string& before, const std::string& copy_sql,
                       const std::string& merge) {
    copy_sql_ = copy_sql;
    merge_ = merge;
    CONVEYOR_TRY(conn_.copy_in(before + take_pending() + "SAVEPOINT " + std::string(kSavepoint) +
                               "; " + copy_sql));
    open_ = true;
    return {};
}

Status PgLoader::send(std::string_view text) {
    return conn_.copy_data(text);
}

void PgLoader::abandon() noexcept {
    if (open_) (void)conn_.copy_abandon();
    open_ = false;
}

Error PgLoader::rolled_back(Error e) {
    error_line_ = conn_.last_error_line();
    if (!conn_.ok()) return e;
    Status back = conn_.exec("ROLLBACK TO SAVEPOINT " + std::string(kSavepoint) +
                             "; RELEASE SAVEPOINT " + std::string(kSavepoint));
    if (!back) return std::move(back).error();
    return e;
}

Status PgLoader::end(std::string_view text, std::span<const std::size_t> ends,
                     const Rejected& rejected) {
    open_ = false;
    Status s = conn_.copy_end();
    if (s && !merge_.empty()) s = conn_.exec(merge_);
    if (s) {
        release_pending_ = true;
        return s;
    }
    Error e = rolled_back(std::move(s).error());
    if (!conn_.ok() || !is_row_error(e)) return e;
    return retry(std::move(e), text, ends, rejected);
}

Status PgLoader::attempt(std::string_view text, std::span<const std::size_t> ends,
                         std::size_t first, std::size_t count) {
    Status s = begin("", copy_sql_, merge_);
    if (!s) return rolled_back(std::move(s).error());
    const std::size_t from = first == 0 ? 0 : ends[first - 1];
    s = send(text.substr(from, ends[first + count - 1] - from));
    open_ = false;
    Status done = conn_.copy_end();
    if (s) s = std::move(done);
    if (s && !merge_.empty()) s = conn_.exec(merge_);
    if (s) {
        release_pending_ = true;
        return s;
    }
    return rolled_back(std::move(s).error());
}

Status PgLoader::retry(Error first, std::string_view text, std::span<const std::size_t> ends,
                       const Rejected& rejected) {
    const std::size_t n = ends.size();
    std::size_t at = 0;      // the rows before it are loaded or rejected
    std::size_t window = n;  // the attempt that failed: rows [at, at + window)
    std::size_t suspect = 0; // a failure without a line: a bad row lies in [at, suspect)
    std::size_t bad = n;     // the row known bad, not yet handed on (n: none), and why
    std::optional<Error> why;
    Error e = std::move(first);
    for (;;) {
        const std::uint64_t line = error_line_;
        if (line >= 1 && line <= window) {
            bad = at + line - 1; // the rows before it are good
            why = std::move(e);
        } else if (window == 1) {
            bad = at;
            why = std::move(e);
        } else { // no line (the upsert's merge): bisect
            suspect = at + window;
            window = (window + 1) / 2;
        }
        // Attempts up to the row known bad, growing while they succeed. Sending every row
        // again after each rejected one made a load with many of them quadratic (200k rows
        // with 16% refused took 9 minutes).
        for (;;) {
            if (why && bad == at) {
                CONVEYOR_TRY(rejected(at, std::move(*why)));
                why.reset();
                bad = n;
                ++at;
                suspect = 0;
                window = kWindowAfterRejection;
            }
            if (at == n) return {};
            window = std::min(window, bad - at);
            Status s = attempt(text, ends, at, window);
            if (!s) {
                e = std::move(s).error();
                if (!conn_.ok() || !is_row_error(e)) return e;
                break;
            }
            at += window;
            window = suspect > at ? (suspect - at + 1) / 2 : window * 2;
        }
    }
}

} // namespace conveyor::plugins::postgres
