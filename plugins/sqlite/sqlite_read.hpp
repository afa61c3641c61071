#pragma once

#include "conveyor/registry/registry.hpp"

namespace conveyor::plugins::sqlite {

/// The `sqlite.read` function: the rows of a query (parameters bound) or a table, stepped one
/// at a time into batches (bounded memory), in one read transaction. Types by each value's
/// storage class (INTEGER, REAL, TEXT, NULL; BLOB as text); a column declared BOOLEAN gives
/// true/false and one declared JSON nested values. Takes part in checkpoints: `sqliteread1
/// records=N`, and a resumed run steps over N rows of the same query (give it an ORDER BY;
/// `table` reads in rowid order).
FunctionDescriptor sqlite_read_descriptor();

} // namespace conveyor::plugins::sqlite
