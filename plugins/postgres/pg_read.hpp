#pragma once

#include "conveyor/option/option_value.hpp"
#include "conveyor/registry/registry.hpp"
#include "pg_connection.hpp"
#include "pg_values.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::plugins::postgres {

/// postgres.read's options as a pipeline gives them; the initializers are the defaults.
struct PgReadOptions {
    std::string dsn; ///< required; usually "${DATABASE_URL}"
    std::optional<std::string> query;
    std::optional<std::string> table;
    OptionValue params; ///< a list of scalars bound to $1, $2, ...
    std::int64_t fetch_size = 10000;
    NumericAs numeric = NumericAs::Auto;
    double timeout = PgWaits::kAnswerTimeoutSeconds; ///< seconds; 0: without end
};

/// postgres.read's definition.
struct PgReadConfig {
    std::string dsn;
    std::string query; ///< the SELECT (for `table`: all its columns, by primary key)
    std::string table; ///< when `table` was given (the query is built at open)
    std::vector<std::optional<std::string>> params;
    std::int64_t fetch_size = PgReadOptions{}.fetch_size;
    NumericAs numeric = NumericAs::Auto;
    double timeout = PgReadOptions{}.timeout;
};

/// The `postgres.read` function. Reads through a server-side cursor in a read-only
/// REPEATABLE READ transaction (one snapshot for the whole read), `fetch_size` rows per round
/// trip, so memory stays bounded whatever the result's size. Takes part in checkpoints: its
/// position is the number of rows emitted (`pgread1 records=N`), and a resumed run skips that
/// many rows of the same query on the server (MOVE), so the query's order must be stable
/// (ORDER BY; `table` reads in primary key order).
FunctionDescriptor pg_read_descriptor();

} // namespace conveyor::plugins::postgres
