#pragma once

#include "conveyor/core/result.hpp"

namespace conveyor {

/// A capability of stages that talk to a database (postgres.*, sqlite.*), found with
/// dynamic_cast on their Stage by `conveyor validate --connect`.
class ConnectionCheck {
public:
    virtual ~ConnectionCheck() = default;
    /// Connects, checks that the tables and columns the stage reads or writes are there, and
    /// disconnects, reading and writing no data. Errors: Config for what the pipeline must
    /// change (authentication, a missing database, table or column), TempFail for a server that
    /// cannot be reached now. Blocking; any thread.
    [[nodiscard]] virtual Status check_connection() const = 0;
};

} // namespace conveyor
