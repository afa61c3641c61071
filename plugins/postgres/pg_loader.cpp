#include "pg_loader.hpp"

namespace conveyor::plugins::postgres {

namespace {
constexpr std::string_view kSavepoint = "conveyor_batch";
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
                         std::span<const std::size_t> rows) {
    Status s = begin("", copy_sql_, merge_);
    if (!s) return rolled_back(std::move(s).error());
    // Consecutive rows go out as one piece.
    std::size_t i = 0;
    while (i < rows.size() && s) {
        std::size_t j = i + 1;
        while (j < rows.size() && rows[j] == rows[j - 1] + 1)
            ++j;
        const std::size_t from = rows[i] == 0 ? 0 : ends[rows[i] - 1];
        s = send(text.substr(from, ends[rows[j - 1]] - from));
        i = j;
    }
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
    std::vector<std::size_t> rows(ends.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        rows[i] = i;
    Error e = std::move(first);
    for (;;) {
        const std::uint64_t line = error_line_;
        if (line == 0 || line > rows.size()) break;
        // The server names the row of the COPY it refused: all the others go again.
        CONVEYOR_TRY(rejected(rows[line - 1], std::move(e)));
        rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(line - 1));
        if (rows.empty()) return {};
        Status s = attempt(text, ends, rows);
        if (s) return s;
        e = std::move(s).error();
        if (!conn_.ok() || !is_row_error(e)) return e;
    }
    // No line (the upsert's merge): one row at a time.
    for (const std::size_t row : rows) {
        Status s = attempt(text, ends, std::span(&row, 1));
        if (s) continue;
        Error one = std::move(s).error();
        if (!conn_.ok() || !is_row_error(one)) return one;
        CONVEYOR_TRY(rejected(row, std::move(one)));
    }
    return {};
}

} // namespace conveyor::plugins::postgres
