#pragma once

// postgres.read's and postgres.write's `timeout`, declared once for both.

#include "conveyor/option/option_table.hpp"
#include "pg_connection.hpp"

#include <chrono>

namespace conveyor::plugins::postgres {

/// Adds `timeout` (seconds, also "30s", "10m"; 0: without end) to `t`, filling `O::timeout`.
template <class O>
void add_timeout_option(OptionTable<O>& t) {
    t.add("timeout", &O::timeout,
          {.description = "Seconds (also \"30s\", \"10m\") the server may go without "
                          "answering once connected (a "
                          "statement waiting for a lock another session holds, a stalled "
                          "server, a lost network): then the run gives up, closing the "
                          "connection so that the server rolls back what it left open, and "
                          "exits 75. 0 waits without end. Connecting has the dsn's "
                          "connect_timeout.",
           .min = 0,
           .max = 7 * 86400,
           .unit = OptionUnit::Seconds});
}

/// The waits of a connection of `run` with that option's value.
inline PgWaits waits_of(const RunContext* run, double timeout_seconds) {
    PgWaits w;
    w.run = run;
    w.answer_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_seconds * 1000));
    return w;
}

} // namespace conveyor::plugins::postgres
