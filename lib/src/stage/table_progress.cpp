#include "conveyor/stage/table_progress.hpp"

#include "conveyor/stage/checkpoint_text.hpp"

#include <fmt/format.h>
#include <random>

namespace conveyor {

std::string TableProgress::to_text() const {
    return fmt::format("table1 run={} records={}", run, records);
}

Result<TableProgress> TableProgress::parse(std::string_view text, std::string_view what) {
    auto t = CheckpointText::parse(text, "table1", {"run", "records"}, what);
    if (!t) return std::move(t).error();
    TableProgress p;
    p.run = std::string(t->get("run"));
    if (p.run.empty()) return t->bad("the run token is empty");
    auto n = t->number("records");
    if (!n) return std::move(n).error();
    p.records = *n;
    return p;
}

namespace {
constexpr std::string_view kUnfinished = " unfinished";
} // namespace

std::string StoredProgress::run_column(const std::string& run, bool finished) {
    return finished ? run : run + std::string(kUnfinished);
}

StoredProgress StoredProgress::from_row(std::string_view run_column, std::uint64_t records) {
    StoredProgress p;
    p.finished = !run_column.ends_with(kUnfinished);
    if (!p.finished) run_column.remove_suffix(kUnfinished.size());
    p.progress = TableProgress{std::string(run_column), records};
    return p;
}

Status check_fresh_append(const std::optional<StoredProgress>& in_database,
                          const std::string& table, const std::string& progress_table,
                          const std::string& sink) {
    if (!in_database || in_database->finished || in_database->progress.records == 0) return {};
    return Error(
        ErrorKind::Config,
        fmt::format("table '{}' holds what an earlier run of this stage committed at its "
                    "checkpoints ({} records) before it failed or was interrupted; appending "
                    "them again would add them twice. `conveyor run --resume` continues a run "
                    "that was killed, stopped or failed; otherwise use mode = \"upsert\" or "
                    "\"replace\", or delete those rows and the row '{}' of {}",
                    table, in_database->progress.records, sink, progress_table),
        table);
}

std::string TableProgress::new_run() {
    std::random_device rd;
    const std::uint64_t hi = (static_cast<std::uint64_t>(rd()) << 32) | rd();
    const std::uint64_t lo = (static_cast<std::uint64_t>(rd()) << 32) | rd();
    return fmt::format("{:016x}{:016x}", hi, lo);
}

Result<std::uint64_t> records_to_skip(const TableProgress& from_journal,
                                      const std::optional<TableProgress>& in_database,
                                      const std::string& target) {
    if (!in_database)
        return fail(ErrorKind::Config,
                    "cannot resume: the table holds no progress row of the interrupted run "
                    "(it was dropped or written by another run since)",
                    target);
    if (in_database->run != from_journal.run)
        return fail(ErrorKind::Config,
                    fmt::format("cannot resume: the table was written by another run ({}) since "
                                "the interrupted one ({})",
                                in_database->run, from_journal.run),
                    target);
    if (in_database->records < from_journal.records)
        return fail(ErrorKind::Config,
                    fmt::format("cannot resume: the table's progress row says {} records, fewer "
                                "than the {} of the run's last checkpoint",
                                in_database->records, from_journal.records),
                    target);
    return in_database->records - from_journal.records;
}

} // namespace conveyor
