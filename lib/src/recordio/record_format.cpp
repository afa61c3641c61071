#include "conveyor/recordio/record_format.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/recordio/json_format.hpp"
#include "conveyor/recordio/json_read.hpp"
#include "conveyor/recordio/line_source.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <unordered_set>

namespace conveyor::recordio {

namespace {

const std::vector<std::pair<std::string, RecordFormat>>& format_spellings() {
    static const std::vector<std::pair<std::string, RecordFormat>> spellings = {
        {"lines", RecordFormat::Lines},
        {"jsonl", RecordFormat::Jsonl},
        {"json", RecordFormat::Json},
        {"csv", RecordFormat::Csv}};
    return spellings;
}

std::string format_description(std::optional<RecordFormat> default_format) {
    std::string d = "\"lines\" (one record {line: \"...\"} per line of text), \"jsonl\" (one JSON "
                    "object per line), \"json\" (one JSON array of objects) or \"csv\" (a header "
                    "row, then records)";
    if (!default_format) {
        d += "; when not given: csv for .csv, jsonl for .jsonl/.ndjson, json for .json, else "
             "lines";
    } else {
        for (const auto& [text, value] : format_spellings())
            if (value == *default_format) d += "; default " + text;
    }
    return d + ".";
}

} // namespace

RecordFormat record_format_for_path(std::string_view path) {
    if (iends_with(path, ".csv")) return RecordFormat::Csv;
    if (iends_with(path, ".jsonl") || iends_with(path, ".ndjson")) return RecordFormat::Jsonl;
    if (iends_with(path, ".json")) return RecordFormat::Json;
    return RecordFormat::Lines;
}

OptionTable<FormatOptions> format_options(std::optional<RecordFormat> default_format) {
    return OptionTable<FormatOptions>()
        .add_choice("format", &FormatOptions::format, format_spellings(),
                    {.description = format_description(default_format)})
        .embed(&FormatOptions::csv,
               csv::csv_format_options("format = \"csv\": the first row holds the field names "
                                       "(else column1, column2, ... unless 'columns' names "
                                       "them).",
                                       "format = \"csv\": "));
}

std::optional<FormatConfig> format_from_options(BuildContext& ctx, const FormatOptions& options,
                                                std::string_view path) {
    FormatConfig config;
    config.format = options.format.value_or(record_format_for_path(path));

    csv::CsvReadConfig& c = config.csv;
    c.path = std::string(path);
    c.headers = options.csv.headers;
    if (const auto dialect = csv::dialect_from_options(ctx, options.csv)) {
        c.delimiter = dialect->delimiter;
        c.quote = dialect->quote;
    }
    c.infer_types = options.csv.infer_types;
    c.on_ragged = options.csv.on_ragged;
    if (options.csv.columns) {
        const std::vector<std::string>& columns = *options.csv.columns;
        if (c.headers) {
            ctx.error("columns", "'columns' names the fields of CSV without a header row; set "
                                 "headers = false as well");
        } else if (columns.empty()) {
            ctx.error("columns", "'columns' must list at least one name");
        } else {
            std::unordered_set<std::string_view> seen;
            for (const std::string& name : columns)
                if (name.empty() || !seen.insert(name).second)
                    ctx.error("columns", fmt::format("'columns' has an empty or repeated name "
                                                     "'{}'",
                                                     name));
        }
        c.columns = columns;
    }
    if (config.format != RecordFormat::Csv) {
        // Whether the pipeline wrote the key, not what the struct holds (it holds defaults).
        for (const char* key :
             {"headers", "delimiter", "quote", "infer_types", "on_ragged", "columns"})
            if (ctx.options().given(key))
                ctx.warning(key, fmt::format("'{}' only applies to format = \"csv\"", key));
    }
    if (ctx.failed()) return std::nullopt;
    return config;
}

std::unique_ptr<SourceOperator> make_format_source(InputFile file, const FormatConfig& config,
                                                   const OpenContext& ctx,
                                                   std::shared_ptr<csv::CsvFollowState> csv_state) {
    switch (config.format) {
    case RecordFormat::Lines:
        return make_line_source(std::move(file), ctx);
    case RecordFormat::Jsonl:
        return json::make_json_source(std::move(file), json::JsonFormat::Jsonl, ctx);
    case RecordFormat::Json:
        return json::make_json_source(std::move(file), json::JsonFormat::Records, ctx);
    case RecordFormat::Csv:
        break;
    }
    return csv::make_csv_source(std::move(file), config.csv, ctx, std::move(csv_state));
}

SchemaRef initial_format_schema(const FormatConfig& config) {
    if (config.format == RecordFormat::Lines) return line_schema();
    if (config.format == RecordFormat::Csv && config.csv.columns)
        return make_schema(*config.csv.columns);
    return nullptr;
}

} // namespace conveyor::recordio
