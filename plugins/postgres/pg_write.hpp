#pragma once

#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/registry/table_sink_options.hpp"
#include "pg_connection.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::plugins::postgres {

using WriteMode = TableWriteMode;
using CommitAt = TableCommit;

/// postgres.write's options as a pipeline gives them; the initializers are the defaults.
struct PgWriteOptions {
    std::string dsn;   ///< required
    std::string table; ///< required
    WriteMode mode = WriteMode::Append;
    std::optional<std::vector<std::string>> key;
    bool create_table = false;
    StringPairs columns; ///< table column = record field
    CommitAt commit = CommitAt::Checkpoint;
    std::int64_t commit_interval = 100000; ///< records between commits (checkpoints)
    std::string progress_table = "conveyor_progress";
    double timeout = PgWaits::kAnswerTimeoutSeconds; ///< seconds; 0: without end
};

/// postgres.write's definition.
struct PgWriteConfig {
    std::string dsn;
    std::string table;
    WriteMode mode = WriteMode::Append;
    std::vector<std::string> key;
    bool create_table = false;
    StringPairs columns;
    CommitAt commit = CommitAt::Checkpoint;
    std::int64_t commit_interval = PgWriteOptions{}.commit_interval;
    std::string progress_table = PgWriteOptions{}.progress_table;
    double timeout = PgWriteOptions{}.timeout;
};

/// The stage: open() connects, checks the table and starts the first transaction.
std::unique_ptr<Stage> make_pg_write_stage(PgWriteConfig config);

/// The `postgres.write` function (its options: pg_write_options.cpp).
///
/// Loads with COPY FROM STDIN (append, replace: straight into the table; upsert: into a
/// temporary staging table, then INSERT ... ON CONFLICT (key) DO UPDATE), in one transaction
/// committed at each checkpoint of the run and at its end, together with the sink's progress
/// row (`progress_table`, see stage/table_progress.hpp) so that --resume neither loses nor
/// repeats a row. A row the server rejects is a record error with the server's message (see
/// PgLoader). `replace` empties the table in the first transaction.
FunctionDescriptor pg_write_descriptor();

} // namespace conveyor::plugins::postgres
