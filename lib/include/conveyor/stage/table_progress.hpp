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

/// How many records a resumed sink skips: those the database committed after the journal's
/// checkpoint (`from_journal`). `in_database` is the progress row (nullopt: none). A row of
/// another run, or one behind the journal, means that the table is not the one the interrupted
/// run wrote: a Config error naming `target` (the table), for the run to start over.
Result<std::uint64_t> records_to_skip(const TableProgress& from_journal,
                                      const std::optional<TableProgress>& in_database,
                                      const std::string& target);

} // namespace conveyor
