#pragma once

#include "conveyor/registry/registry.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace conveyor::csv {

/// csv.write's definition, built from validated options.
struct CsvWriteConfig {
    std::string path; ///< "-" = stdout
    bool headers = true;
    char delimiter = ',';
    char quote = '"';
    /// Fixed header chosen by the user: fields not listed are left out on purpose.
    std::vector<std::string> columns;
    /// append (in place, no temporary file; the header is written only to an empty file, and
    /// an existing file's header names the columns), flush and fsync intervals.
    SinkWriting writing;
};

/// The stage definition; open() creates the (temporary) output file.
std::unique_ptr<Stage> make_csv_write_stage(CsvWriteConfig config);

/// The `csv.write` function: options, documentation and factory.
FunctionDescriptor csv_write_descriptor();

} // namespace conveyor::csv
