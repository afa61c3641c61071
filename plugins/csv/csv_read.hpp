#pragma once

#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stage.hpp"
#include "csv_reader.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::csv {

/// What to do with a row whose field count differs from the header's.
enum class RaggedPolicy : std::uint8_t {
    Error, ///< fail naming file:line
    Pad,   ///< fill short rows with null; long rows still fail (data is never dropped silently)
    Skip,  ///< drop the row; one warning at the end counts them
};

/// csv.read's definition, built from validated options.
struct CsvReadConfig {
    std::string path; ///< "-" = stdin
    bool headers = true;
    char delimiter = ',';
    char quote = '"';
    bool infer_types = true;
    RaggedPolicy on_ragged = RaggedPolicy::Error;
    /// Column names for a file without a header row.
    std::optional<std::vector<std::string>> columns;
    std::size_t block_size = kDefaultBlockSize; ///< internal knob for tests
};

/// The stage definition; open() opens the file and reads the header, so the opened stage
/// knows its schema before any batch flows.
std::unique_ptr<Stage> make_csv_read_stage(CsvReadConfig config);

/// The `csv.read` function: options, documentation and factory.
FunctionDescriptor csv_read_descriptor();

/// Header names made usable as field names: empty ones become `columnN` (1-based position),
/// repeated ones get a suffix (`a`, `a_2`, `a_3`). Renamed duplicates are appended to
/// `renamed` as (original, new) when it is non-null.
std::vector<std::string>
normalise_header(std::vector<std::string> names,
                 std::vector<std::pair<std::string, std::string>>* renamed = nullptr);

} // namespace conveyor::csv
