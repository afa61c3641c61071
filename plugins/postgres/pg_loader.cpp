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

Status PgLoader::attempt(const std::string& copy_sql, const std::string& merge,
                         std::string_view text, std::span<const std::size_t> ends,
                         std::span<const std::size_t> rows) {
    Status s =
        conn_.copy_in(take_pending() + "SAVEPOINT " + std::string(kSavepoint) + "; " + copy_sql);
    if (s) {
        // Consecutive rows go out as one piece.
        std::size_t i = 0;
        while (i < rows.size() && s) {
            std::size_t j = i + 1;
            while (j < rows.size() && rows[j] == rows[j - 1] + 1)
                ++j;
            const std::size_t from = rows[i] == 0 ? 0 : ends[rows[i] - 1];
            const std::size_t to = ends[rows[j - 1]];
            s = conn_.copy_data(text.substr(from, to - from));
            i = j;
        }
        Status end = conn_.copy_end();
        if (s) s = std::move(end);
    }
    if (s && !merge.empty()) s = conn_.exec(merge);
    if (s) {
        release_pending_ = true;
        return s;
    }
    if (conn_.ok()) {
        Status back = conn_.exec("ROLLBACK TO SAVEPOINT " + std::string(kSavepoint) +
                                 "; RELEASE "
                                 "SAVEPOINT " +
                                 std::string(kSavepoint));
        if (!back) return back;
    }
    return s;
}

Status PgLoader::load(const std::string& copy_sql, const std::string& merge, std::string_view text,
                      std::span<const std::size_t> ends,
                      const std::function<Status(std::size_t, Error)>& rejected) {
    std::vector<std::size_t> rows(ends.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        rows[i] = i;
    while (!rows.empty()) {
        Status s = attempt(copy_sql, merge, text, ends, rows);
        if (s) return s;
        Error e = std::move(s).error();
        if (!conn_.ok() || !is_row_error(e)) return e;
        const std::uint64_t line = conn_.last_error_line();
        if (line == 0 || line > rows.size())
            return one_at_a_time(copy_sql, merge, text, ends, rows, rejected);
        const std::size_t bad = rows[line - 1];
        CONVEYOR_TRY(rejected(bad, std::move(e)));
        rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(line - 1));
    }
    return {};
}

Status PgLoader::one_at_a_time(const std::string& copy_sql, const std::string& merge,
                               std::string_view text, std::span<const std::size_t> ends,
                               std::span<const std::size_t> rows,
                               const std::function<Status(std::size_t, Error)>& rejected) {
    for (const std::size_t row : rows) {
        Status s = attempt(copy_sql, merge, text, ends, std::span(&row, 1));
        if (s) continue;
        Error e = std::move(s).error();
        if (!conn_.ok() || !is_row_error(e)) return e;
        CONVEYOR_TRY(rejected(row, std::move(e)));
    }
    return {};
}

} // namespace conveyor::plugins::postgres
