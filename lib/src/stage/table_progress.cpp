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
