#pragma once

#include "conveyor/core/value.hpp"

#include <string>

/// Compact JSON text for the nested values csv.write puts in a cell. A small private writer so
/// the CSV plugin does not depend on the JSON plugin's; bytes are passed through as they are
/// (only quotes, backslashes and control characters are escaped).
namespace conveyor::csv {

/// Appends `v` as compact JSON; absent object members are omitted, absent array items and
/// non-finite doubles are written as null.
void append_json(std::string& out, const Value& v);

/// A double without source text in its shortest round-trip form, keeping ".0" on integral
/// values so they read back as doubles. Returns false (appending nothing) when not finite.
bool append_double_text(std::string& out, double d);

} // namespace conveyor::csv
