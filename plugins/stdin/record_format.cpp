#include "record_format.hpp"
#include "conveyor/core/ascii.hpp"

#include "csv_dialect.hpp"
#include "json_format.hpp"
#include "json_read.hpp"
#include "line_source.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <unordered_set>

namespace conveyor::plugins::stdin_source {

namespace {


} // namespace

RecordFormat parse_record_format(std::string_view name) {
    if (name == "lines") return RecordFormat::Lines;
    if (name == "json") return RecordFormat::Json;
    if (name == "csv") return RecordFormat::Csv;
    return RecordFormat::Jsonl;
}

RecordFormat record_format_for_path(std::string_view path) {
    if (iends_with(path, ".csv")) return RecordFormat::Csv;
    if (iends_with(path, ".jsonl") || iends_with(path, ".ndjson")) return RecordFormat::Jsonl;
    if (iends_with(path, ".json")) return RecordFormat::Json;
    return RecordFormat::Lines;
}

void add_format_options(FunctionDescriptor& fn, std::optional<std::string> default_format) {
    OptionSpec format;
    format.name = "format";
    format.type = OptionType::String;
    format.choices = {"lines", "jsonl", "json", "csv"};
    if (default_format) format.default_value = *default_format;
    format.description =
        "\"lines\" (one record {line: \"...\"} per line of text), \"jsonl\" (one JSON object per "
        "line), \"json\" (one JSON array of objects) or \"csv\" (a header row, then records)";
    if (!default_format)
        format.description += "; when not given: csv for .csv, jsonl for .jsonl/.ndjson, "
                              "json for .json, else lines";
    else
        format.description += "; default " + *default_format;
    format.description += ".";
    fn.options.push_back(std::move(format));

    fn.options.push_back(csv::headers_option(
        "format = \"csv\": the first row holds the field names (else column1, column2, ... "
        "unless 'columns' names them)."));
    fn.options.push_back(csv::delimiter_option());
    fn.options.push_back(csv::quote_option());

    fn.options.push_back(csv::infer_types_option("format = \"csv\": "));
    fn.options.push_back(csv::on_ragged_option("format = \"csv\": "));
    fn.options.push_back(csv::columns_option("format = \"csv\": "));
}

std::optional<FormatConfig> format_from_options(BuildContext& ctx, std::string_view path) {
    const Options& o = ctx.options();
    FormatConfig config;
    if (o.given("format") || (o.find("format") && !o.find("format")->is_null()))
        config.format = parse_record_format(o.get_string("format"));
    else
        config.format = record_format_for_path(path);

    csv::CsvReadConfig& c = config.csv;
    c.path = std::string(path);
    c.headers = csv::bool_option(o, "headers", true);
    if (const auto dialect = csv::dialect_from_options(ctx)) {
        c.delimiter = dialect->delimiter;
        c.quote = dialect->quote;
    }
    c.infer_types = csv::bool_option(o, "infer_types", true);
    const std::string ragged = csv::string_option(o, "on_ragged", "error");
    c.on_ragged = ragged == "pad"    ? csv::RaggedPolicy::Pad
                  : ragged == "skip" ? csv::RaggedPolicy::Skip
                                     : csv::RaggedPolicy::Error;
    if (const OptionValue* v = o.find("columns"); v && !v->is_null()) {
        std::vector<std::string> columns = o.get_string_list("columns");
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
        c.columns = std::move(columns);
    }
    if (config.format != RecordFormat::Csv) {
        for (const char* key :
             {"headers", "delimiter", "quote", "infer_types", "on_ragged", "columns"})
            if (o.given(key))
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

} // namespace conveyor::plugins::stdin_source
