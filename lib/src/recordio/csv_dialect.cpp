#include "conveyor/recordio/csv_dialect.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/recordio/csv_reader.hpp"

#include <fmt/format.h>

namespace conveyor::recordio::csv {

std::string describe_byte_string(std::string_view text) {
    if (text == "\t") return "a tab";
    if (text == "\n") return "a line feed";
    if (text == "\r") return "a carriage return";
    return fmt::format("\"{}\"", text);
}

std::optional<char> parse_delimiter(std::string_view text) noexcept {
    if (text.size() == 1) return text.front();
    if (text == "tab" || text == "\\t") return '\t';
    return std::nullopt;
}

char default_delimiter(std::string_view path) noexcept {
    for (const std::string_view packed : {".gz", ".gzip", ".zst", ".zstd"})
        if (iends_with(path, packed)) {
            path.remove_suffix(packed.size());
            break;
        }
    return iends_with(path, ".tsv") || iends_with(path, ".tab") ? '\t' : Dialect{}.delimiter;
}

std::optional<Dialect> dialect_from_options(BuildContext& ctx, const CsvFormatOptions& options,
                                            std::string_view path) {
    Dialect dialect;
    bool ok = true;

    const std::string delimiter =
        options.delimiter.value_or(std::string(1, default_delimiter(path)));
    if (const auto d = parse_delimiter(delimiter)) {
        dialect.delimiter = *d;
        if (*d == '\n' || *d == '\r') {
            ctx.error("delimiter", "delimiter cannot be a line break: lines end records");
            ok = false;
        }
    } else {
        ctx.error("delimiter",
                  fmt::format("delimiter must be a single byte (one ASCII character such as \",\" "
                              "or \";\", or \"tab\"), not {}",
                              describe_byte_string(delimiter)));
        ok = false;
    }

    const std::string& quote = options.quote;
    if (quote.empty()) {
        dialect.quote = kNoQuote;
    } else if (quote.size() == 1 && quote.front() == kNoQuote) {
        ctx.error("quote", "quote cannot be the NUL byte; quote = \"\" turns quoting off");
        ok = false;
    } else if (quote.size() == 1) {
        dialect.quote = quote.front();
        if (dialect.quote == '\n' || dialect.quote == '\r') {
            ctx.error("quote", "quote cannot be a line break");
            ok = false;
        } else if (ok && dialect.quote == dialect.delimiter) {
            ctx.error("quote", fmt::format("quote and delimiter are both {}: they must differ",
                                           describe_byte_string(quote)));
            ok = false;
        }
    } else {
        ctx.error("quote", fmt::format("quote must be a single byte (usually \"\\\"\" or \"'\"), "
                                       "or \"\" for none, not {}",
                                       describe_byte_string(quote)));
        ok = false;
    }
    if (!ok) return std::nullopt;
    return dialect;
}

OptionTable<CsvFormatOptions> csv_format_options(std::string headers_description,
                                                 std::string_view context) {
    const std::string prefix(context);
    return OptionTable<CsvFormatOptions>()
        .add("headers", &CsvFormatOptions::headers,
             {.description = std::move(headers_description), .aliases = {"has_headers"}})
        .add("delimiter", &CsvFormatOptions::delimiter,
             {.description = "Field separator: one byte such as \",\", \";\" or \"|\"; \"tab\" "
                             "or \"\\t\" for tab-separated files.",
              .default_note = "\",\", or a tab when the path ends in .tsv or .tab (also "
                              "followed by .gz or .zst)",
              .example = "\";\""})
        .add("quote", &CsvFormatOptions::quote,
             {.description = "Quote character (one byte) around fields that contain the "
                             "delimiter, the quote itself or line breaks; a quote inside a "
                             "quoted field is doubled. \"\" turns quoting off, as in "
                             "tab-separated exports (PostgreSQL's text format, Miller's TSV) "
                             "whose fields hold quotes as they are: every byte up to the next "
                             "delimiter or line break is the field's, and a field that holds "
                             "one of those cannot be written (a record error)."})
        .add("infer_types", &CsvFormatOptions::infer_types,
             {.description = prefix + "Turn integers and decimals into numbers and empty fields "
                                      "into null. When false every field is a string (empty "
                                      "fields are empty strings)."})
        .add_choice("on_ragged", &CsvFormatOptions::on_ragged,
                    {{"error", RaggedPolicy::Error},
                     {"pad", RaggedPolicy::Pad},
                     {"skip", RaggedPolicy::Skip}},
                    {.description = prefix + "A row with a different number of fields than the "
                                             "header: \"error\" stops with file:line, \"pad\" "
                                             "fills short rows with null (long rows still "
                                             "fail), \"skip\" drops the row and warns once "
                                             "with the count."})
        .add("columns", &CsvFormatOptions::columns,
             {.description = prefix + "Field names for input without a header row (headers = "
                                      "false); each row must have this many fields.",
              .example = "[\"id\", \"name\", \"amount\"]"});
}

} // namespace conveyor::recordio::csv
