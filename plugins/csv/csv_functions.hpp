#pragma once

#include "conveyor/registry/registry.hpp"

/// csv.read and csv.write: their option tables and factories over recordio's CSV source and
/// sink (conveyor/recordio/csv_read.hpp, csv_write.hpp).
namespace conveyor::plugins::csv {

/// The `csv.read` function: options, documentation and factory.
FunctionDescriptor csv_read_descriptor();

/// The `csv.write` function: options, documentation and factory.
FunctionDescriptor csv_write_descriptor();

} // namespace conveyor::plugins::csv
