#pragma once

#include "conveyor/registry/registry.hpp"

namespace conveyor::plugins::sqlite {

/// The `sqlite.write` function: prepared INSERTs (upsert: INSERT ... ON CONFLICT (key) DO
/// UPDATE) in a transaction on a WAL database, committed at each checkpoint of the run and at
/// its end with the sink's progress row (stage/table_progress.hpp), so that --resume neither
/// loses nor repeats a row. A row SQLite rejects (a constraint, a STRICT column's type) is a
/// record error with SQLite's message; the other rows are kept.
FunctionDescriptor sqlite_write_descriptor();

} // namespace conveyor::plugins::sqlite
