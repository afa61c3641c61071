#pragma once

// Where in a query a database's error lies, said the way a user reads the query they wrote:
// its line, its column in characters, and the text that starts there (postgres.read and
// sqlite.read).

#include <cstddef>
#include <string>
#include <string_view>

namespace conveyor {

/// " at line L, column C of the query: "text from there"" for the byte `at` of `sql` (< its
/// size). Columns count characters: UTF-8 continuation bytes are none of their own. The text
/// runs to the end of its line, at most about 30 bytes (never cutting a character), with "..."
/// when the line goes on.
std::string query_position_text(std::string_view sql, std::size_t at);

/// The byte of `sql` where its character `index` (0-based) starts; sql.size() when it has
/// fewer characters.
std::size_t byte_of_character(std::string_view sql, std::size_t index);

} // namespace conveyor
