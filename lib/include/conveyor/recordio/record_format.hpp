#pragma once

#include "conveyor/io/input_file.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

/// The formats a byte stream (standard input, a followed file) can hold, shared by stdin.read
/// and file.watch. Parsing is done by this module's CSV and JSON readers.
namespace conveyor::recordio {

enum class RecordFormat : std::uint8_t {
    Lines, ///< one record {line: "..."} per line
    Jsonl, ///< one JSON object per line
    Json,  ///< one JSON array of objects
    Csv,   ///< RFC 4180 CSV with a header row (or `columns`)
};

struct FormatConfig {
    RecordFormat format = RecordFormat::Jsonl;
    csv::CsvReadConfig csv; ///< format = "csv": dialect, header, typing
};

/// The format options as a pipeline gives them.
struct FormatOptions {
    /// nullopt: the path's extension decides (a function whose format has no default).
    std::optional<RecordFormat> format;
    csv::CsvFormatOptions csv; ///< format = "csv"
};

/// The format a path's extension suggests: .csv csv, .jsonl/.ndjson jsonl, .json json,
/// anything else lines.
RecordFormat record_format_for_path(std::string_view path);

/// Declares `format` and the CSV options (headers, delimiter, quote, infer_types, on_ragged,
/// columns). `default_format` is the format the embedding struct starts with (its
/// FormatOptions member's initializer), for the description: none when it depends on the path.
OptionTable<FormatOptions> format_options(std::optional<RecordFormat> default_format);

/// Checks and converts the options declared by format_options; `path` picks the format when
/// `format` has no value. Problems go to `ctx` (nullopt then).
std::optional<FormatConfig> format_from_options(BuildContext& ctx, const FormatOptions& options,
                                                std::string_view path);

/// The records of `file` in `config`'s format, read from the first next() on (never at open).
/// `csv_state` is shared by the segments of a followed file.
std::unique_ptr<SourceOperator>
make_format_source(InputFile file, const FormatConfig& config, const OpenContext& ctx,
                   std::shared_ptr<csv::CsvFollowState> csv_state = nullptr);

/// The initial schema of such a source: known up front only for "lines" (and CSV `columns`).
SchemaRef initial_format_schema(const FormatConfig& config);

} // namespace conveyor::recordio
