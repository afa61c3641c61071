#include "csv_dialect.hpp"

#include <fmt/format.h>

namespace conveyor::csv {

namespace {

// How a byte is shown in messages: control characters by name, the rest as themselves.
std::string describe_byte_string(std::string_view text) {
    if (text == "\t") return "a tab";
    if (text == "\n") return "a line feed";
    if (text == "\r") return "a carriage return";
    return fmt::format("\"{}\"", text);
}

} // namespace

std::optional<char> parse_delimiter(std::string_view text) noexcept {
    if (text.size() == 1) return text.front();
    if (text == "tab" || text == "\\t") return '\t';
    return std::nullopt;
}

std::optional<Dialect> dialect_from_options(BuildContext& ctx) {
    const Options& options = ctx.options();
    Dialect dialect;
    bool ok = true;

    const std::string delimiter = string_option(options, "delimiter", ",");
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

    const std::string quote = string_option(options, "quote", "\"");
    if (quote.size() == 1) {
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
                                       "not {}",
                                       describe_byte_string(quote)));
        ok = false;
    }
    if (!ok) return std::nullopt;
    return dialect;
}

OptionSpec headers_option(std::string description) {
    OptionSpec o;
    o.name = "headers";
    o.type = OptionType::Bool;
    o.default_value = true;
    o.description = std::move(description);
    o.aliases = {"has_headers"};
    return o;
}

OptionSpec delimiter_option() {
    OptionSpec o;
    o.name = "delimiter";
    o.type = OptionType::String;
    o.default_value = ",";
    o.description = "Field separator: one byte such as \",\", \";\" or \"|\"; \"tab\" or \"\\t\" "
                    "for tab-separated files.";
    return o;
}

OptionSpec quote_option() {
    OptionSpec o;
    o.name = "quote";
    o.type = OptionType::String;
    o.default_value = "\"";
    o.description = "Quote character (one byte) around fields that contain the delimiter, the "
                    "quote itself or line breaks; a quote inside a quoted field is doubled.";
    return o;
}

OptionSpec infer_types_option(std::string_view context) {
    OptionSpec o;
    o.name = "infer_types";
    o.type = OptionType::Bool;
    o.default_value = true;
    o.description = std::string(context) +
                    "Turn integers and decimals into numbers and empty fields into null. When "
                    "false every field is a string (empty fields are empty strings).";
    return o;
}

OptionSpec on_ragged_option(std::string_view context) {
    OptionSpec o;
    o.name = "on_ragged";
    o.type = OptionType::String;
    o.default_value = "error";
    o.choices = {"error", "pad", "skip"};
    o.description = std::string(context) +
                    "A row with a different number of fields than the header: \"error\" stops "
                    "with file:line, \"pad\" fills short rows with null (long rows still fail), "
                    "\"skip\" drops the row and warns once with the count.";
    return o;
}

OptionSpec columns_option(std::string_view context) {
    OptionSpec o;
    o.name = "columns";
    o.type = OptionType::StringList;
    o.description = std::string(context) +
                    "Field names for input without a header row (headers = false); each row "
                    "must have this many fields.";
    return o;
}

bool bool_option(const Options& options, std::string_view name, bool fallback) {
    const OptionValue* v = options.find(name);
    return v && v->is_bool() ? v->as_bool() : fallback;
}

std::string string_option(const Options& options, std::string_view name, std::string fallback) {
    const OptionValue* v = options.find(name);
    return v && v->is_string() ? v->as_string() : fallback;
}

} // namespace conveyor::csv
