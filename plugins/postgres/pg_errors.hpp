#pragma once

// How libpq's and the server's messages become conveyor's: one line each, without a row's values
// or the pieces of a connection string, and the error kind each stands for.

#include "conveyor/core/error.hpp"

#include <string>
#include <string_view>

namespace conveyor::plugins::postgres {

/// libpq's messages end with a newline and may span lines ("FATAL:  ...\nDETAIL: ..."): one
/// line for ours.
std::string one_line(std::string_view text);

/// Why the server refused a row (SQLSTATE class 22 data exception, 23 integrity violation),
/// without the row's values; `detail` (may be null) and `context` are the server's fields.
std::string row_reason(std::string_view sqlstate, std::string_view primary, const char* detail,
                       std::string_view context);

/// libpq's complaint about a connection string without the pieces of it that it quotes.
std::string without_quoted(std::string_view text);

/// The kind of a failed connection by libpq's message: Config when the pipeline must change
/// (who we are, what we asked for), TempFail when the server could not be reached.
ErrorKind kind_of_connect_failure(std::string_view message);

/// The error kind of a server error by its SQLSTATE: Config for what the pipeline names
/// wrongly (undefined table or column, privileges, authentication), Data for rejected values
/// and constraints, TempFail for connection and resource trouble, CantCreate for a read-only
/// transaction (a standby, default_transaction_read_only), Runtime otherwise.
ErrorKind kind_of_sqlstate(std::string_view sqlstate) noexcept;

} // namespace conveyor::plugins::postgres
