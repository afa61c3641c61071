#pragma once

#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The options csv.read and csv.write share (how fields are separated and quoted), and those
/// of every CSV reader (csv.read, stdin.read and file.watch with format = "csv").
namespace conveyor::recordio::csv {

struct Dialect {
    char delimiter = ',';
    /// kNoQuote (csv_reader.hpp): fields are never quoted (`quote = ""`: tab-separated exports
    /// whose text holds quotes as they are).
    char quote = '"';
};

/// What to do with a row whose field count differs from the header's.
enum class RaggedPolicy : std::uint8_t {
    Error, ///< fail naming file:line
    Pad,   ///< fill short rows with null; long rows still fail (data is never dropped silently)
    Skip,  ///< drop the row; one warning at the end counts them
};

/// The CSV options as a pipeline gives them; the initializers are the options' defaults.
/// `delimiter` and `quote` are still text here: dialect_from_options() checks and converts them.
struct CsvFormatOptions {
    bool headers = true;
    /// Unset: a comma, or a tab for a path named like a tab-separated file (default_delimiter).
    std::optional<std::string> delimiter;
    std::string quote = std::string(1, Dialect{}.quote);
    bool infer_types = true;
    RaggedPolicy on_ragged = RaggedPolicy::Error;
    /// Field names for input without a header row.
    std::optional<std::vector<std::string>> columns;
};

/// The declarations of CsvFormatOptions, in this order: headers (described by
/// `headers_description`, which says how the function uses it), delimiter, quote, infer_types,
/// on_ragged, columns. `context` prefixes the descriptions of the reader-only options where
/// they only apply to one format. A function embeds them (OptionTable::embed), a writer picks
/// headers, delimiter and quote.
OptionTable<CsvFormatOptions> csv_format_options(std::string headers_description,
                                                 std::string_view context = {});

/// The delimiter `text` names: exactly one byte, or "tab" / a two-character `\t` for a tab
/// (a TOML basic string "\t" already is one tab byte). nullopt when it is none of those.
std::optional<char> parse_delimiter(std::string_view text) noexcept;

/// The delimiter of a file at `path` when the pipeline sets none: a tab for a name ending in
/// .tsv or .tab (before a .gz, .gzip, .zst or .zstd), else a comma. Reading a tab-separated
/// file with commas gave one field holding every column, with exit 0.
char default_delimiter(std::string_view path) noexcept;

/// How a delimiter or quote is named in messages: control characters by name ("a tab"), the
/// rest quoted (`","`).
std::string describe_byte_string(std::string_view text);

/// Checks and converts `delimiter` and `quote`, reporting every problem through `ctx` (a
/// multi-byte delimiter, a line break, quote == delimiter); an unset delimiter is
/// default_delimiter(path) (`path` empty for standard input). nullopt after an error.
std::optional<Dialect> dialect_from_options(BuildContext& ctx, const CsvFormatOptions& options,
                                            std::string_view path = {});

} // namespace conveyor::recordio::csv
