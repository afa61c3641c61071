#pragma once

#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "conveyor/stage/split_sink.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::recordio::csv {

/// csv.write's options as a pipeline gives them; the initializers are the options' defaults.
struct CsvWriteOptions {
    std::string path;        ///< required
    CsvFormatOptions format; ///< headers, delimiter and quote
    /// Fixed header chosen by the user: fields not listed are left out on purpose.
    std::optional<std::vector<std::string>> columns;
    SinkWriting writing;
    SinkSplitting splitting;
};

/// csv.write's definition, built from validated options (the defaults are the options').
struct CsvWriteConfig {
    std::string path; ///< "-" = stdout
    bool headers = CsvFormatOptions{}.headers;
    char delimiter = Dialect{}.delimiter;
    char quote = Dialect{}.quote;
    /// Fixed header chosen by the user: fields not listed are left out on purpose.
    std::vector<std::string> columns;
    /// append (in place, no temporary file; the header is written only to an empty file, and
    /// an existing file's header names the columns), flush and fsync intervals.
    SinkWriting writing;
    /// Set when the output is split over files ({{ field }} in path, rolling limits).
    std::optional<SplitPlan> split;
    bool split_member = false; ///< one file of a split output
};

/// The stage definition; open() creates the (temporary) output file.
///
/// Writing a file (not "-"), the stage takes part in checkpoints (OpenedStage::checkpoints):
/// Operator::checkpoint() hands everything to the file and returns sink_checkpoint_text() with
/// the writer's state after the common members:
/// `{"sink":"csv.write","target":"out.csv","append":false,
///   "file":"./.out.csv.conveyor-4711-k3j5x0qa.tmp","length":812,
///   "header_written":true,"header":["id","name"]}`
/// (`header`: the columns, null while not known yet; `header_written`: the header row, if
/// any, is in the file). Opened with OpenContext::resume, the stage adopts that file cut back
/// to `length` and writes on under the same columns, whatever the inputs' schemas are now;
/// the finished file is the one an uninterrupted run writes. Text that does not fit
/// (malformed, another target, columns other than 'columns') fails open() before the file is
/// touched.
std::unique_ptr<Stage> make_csv_write_stage(CsvWriteConfig config);

} // namespace conveyor::recordio::csv
