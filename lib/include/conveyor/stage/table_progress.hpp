#pragma once

#include "conveyor/core/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace conveyor {

/// How a database sink (postgres.write, sqlite.write) keeps `--resume` exact although its
/// commits and the run journal's are two separate writes.
///
/// The sink commits its transaction inside Operator::checkpoint(), together with a progress row
/// (in a table of the same database) saying how many records this run (`run`, a random token
/// chosen by the fresh run and kept by its resumes) had handed to the sink by then. The journal
/// commits the checkpoint after that. A kill between the two leaves the database one checkpoint
/// ahead of the journal: the resumed run reads the same records again from the earlier
/// checkpoint, and the sink skips the first `database - journal` of them, which it had already
/// committed. A kill before the sink's commit rolls its transaction back, so nothing is left of
/// the records after the journal's checkpoint.
struct TableProgress {
    std::string run;           ///< the fresh run's token (hex, no spaces)
    std::uint64_t records = 0; ///< records handed to the sink up to the commit

    /// The sink's checkpoint text: `table1 run=<token> records=<n>`.
    [[nodiscard]] std::string to_text() const;
    /// Reads to_text()'s text; `what` names the sink ("a postgres.write checkpoint").
    static Result<TableProgress> parse(std::string_view text, std::string_view what);

    /// A new random token for a fresh run.
    static std::string new_run();
};

/// The progress row as a database holds it: the run column is the run's token, followed by
/// " unfinished" at the commits of its checkpoints and alone at its last commit (rows written
/// before that distinction read as finished).
struct StoredProgress {
    TableProgress progress;
    bool finished = true;

    /// The run column for `run` at a checkpoint's commit (`finished` false) or the last one.
    static std::string run_column(const std::string& run, bool finished);
    /// The row read back: `run_column` as run_column() wrote it, and its records.
    static StoredProgress from_row(std::string_view run_column, std::uint64_t records);
};

/// Whether a fresh run (not --resume) may append to `table`: not when the progress row says an
/// earlier run of this sink committed records and never finished (it failed, or was killed or
/// stopped and is run again without --resume), since that run's records would then be added a
/// second time. A Config error saying so and what to do (`progress_table` names the table
/// holding the row `sink`).
Status check_fresh_append(const std::optional<StoredProgress>& in_database,
                          const std::string& table, const std::string& progress_table,
                          const std::string& sink);

/// How many records a resumed sink skips: those the database committed after the journal's
/// checkpoint (`from_journal`). `in_database` is the progress row (nullopt: none). A row of
/// another run, or one behind the journal, means that the table is not the one the interrupted
/// run wrote: a Config error naming `target` (the table), for the run to start over.
Result<std::uint64_t> records_to_skip(const TableProgress& from_journal,
                                      const std::optional<TableProgress>& in_database,
                                      const std::string& target);

} // namespace conveyor
