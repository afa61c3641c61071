#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/recordio/json_read.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "json_extract.hpp"
#include "json_write.hpp"

namespace conveyor::plugins {

namespace {

using json::JsonFormat;

using json::JsonWriteConfig;
using recordio::json::JsonReadConfig;

const std::vector<std::pair<std::string, JsonFormat>> kFormats = {{"records", JsonFormat::Records},
                                                                  {"jsonl", JsonFormat::Jsonl}};
const std::vector<std::pair<std::string, JsonFormat>> kReadFormats = {
    {"records", JsonFormat::Records},
    {"jsonl", JsonFormat::Jsonl},
    {"objects", JsonFormat::Objects}};

constexpr const char* kFormatDescription =
    "\"records\" (a JSON array of objects) or \"jsonl\" (one object per line). When not "
    "given: \"jsonl\" for paths ending in .jsonl or .ndjson (also followed by .gz or .zst), "
    "else \"records\".";

/// The format given, or the path's extension when the option was not given.
JsonFormat format_of(const BuildContext& ctx, JsonFormat format, const std::string& path) {
    return ctx.options().given("format") ? format : recordio::json::default_format_for(path);
}

/// json.read's options fill its config directly; its initializers are the defaults.
const OptionTable<JsonReadConfig>& read_options() {
    static const auto table =
        OptionTable<JsonReadConfig>()
            .add("path", &JsonReadConfig::path,
                 {.description = "File to read; \"-\" reads standard input. A glob (* ? [...] "
                                 "in any component, e.g. logs/2026-*/*.jsonl.gz) reads every "
                                 "file it matches, in path order (byte-wise), as one stream; "
                                 "messages name the file and its line. No match: exit 66.",
                  .required = true})
            .add_choice("format", &JsonReadConfig::format, kReadFormats,
                        {.description = std::string(kFormatDescription) +
                                        " \"objects\": JSON objects one after another, each "
                                        "over any number of lines, as `jq .` or `jq '.[]'` "
                                        "prints them (Miller reads them the same way)."})
            .add("types", &JsonReadConfig::types,
                 {.description = "Field = type, for fields whose JSON type is not the one "
                                 "wanted: string, int, float, bool, timestamp (ISO 8601 or "
                                 "epoch seconds, written back as UTC ISO 8601). A value that "
                                 "cannot be read as its type is a record error; null stays "
                                 "null.",
                  .example = "{ zip = \"string\", amount = \"float\" }"})
            .add("follow", &JsonReadConfig::follow,
                 {.description = "Keep reading what is appended to the file, like `tail -F`, "
                                 "until the run is stopped (SIGINT/SIGTERM); a file rotated by "
                                 "rename or truncated is read again from its beginning. Needs "
                                 "execution_mode = \"streaming\"; file.watch does the same "
                                 "with more choices."})
            .embed(&JsonReadConfig::partition, partition_options());
    return table;
}

const OptionTable<JsonWriteConfig>& write_options() {
    static const auto table =
        OptionTable<JsonWriteConfig>()
            .add("path", &JsonWriteConfig::path,
                 {.description = "File to write; \"-\" writes standard output. {{ field }} "
                                 "placeholders write one file per distinct value "
                                 "(out/{{ country }}.jsonl), the value made safe for a file "
                                 "name.",
                  .required = true})
            .add_choice("format", &JsonWriteConfig::format, kFormats,
                        {.description = kFormatDescription})
            .add("pretty", &JsonWriteConfig::pretty,
                 {.description = "Indent each object by 2 spaces (format \"records\" only)."})
            .embed(&JsonWriteConfig::writing, sink_writing_options("format \"jsonl\" only"))
            .embed(&JsonWriteConfig::splitting, sink_splitting_options());
    return table;
}

std::unique_ptr<Stage> build_read(BuildContext& ctx, JsonReadConfig config) {
    if (config.path.empty()) {
        ctx.error("path", "must name a file, or \"-\" for standard input");
        return nullptr;
    }
    config.format = format_of(ctx, config.format, config.path);
    for (const auto& [field, type] : config.types) {
        if (auto t = coltype::parse(type)) {
            config.column_types.emplace_back(field, *t);
            continue;
        }
        ctx.error("types", "types." + field + ": unknown type '" + type + "'" +
                               did_you_mean(type, coltype::names()) +
                               " (types: string, int, float, bool, timestamp)");
        return nullptr;
    }
    if (config.follow) {
        if (config.path == "-") {
            ctx.error("follow", "follow = true reads a file as it grows; standard input is read "
                                "as it comes anyway (leave follow out, or use stdin.read)");
            return nullptr;
        }
        if (ctx.global().execution_mode != ExecutionMode::Streaming) {
            ctx.error("follow", "follow = true never reaches the end of the file, so it needs "
                                "[global] execution_mode = \"streaming\"");
            return nullptr;
        }
    }
    config.shard = source_shard(ctx, config.partition, config.path);
    check_file_source_path(ctx, config.path, config.follow);
    if (ctx.failed()) return nullptr;
    if (config.shard && config.shard->partition == Partition::Rows &&
        config.format != JsonFormat::Jsonl) {
        ctx.error("partition", "partition = \"rows\" divides JSON lines (format = \"jsonl\"); "
                               "the records of one JSON array are divided by partition = "
                               "\"hash\" (with key = \"...\")");
        return nullptr;
    }
    return recordio::json::make_json_read(std::move(config));
}

std::unique_ptr<Stage> build_write(BuildContext& ctx, JsonWriteConfig config) {
    if (config.path.empty()) {
        ctx.error("path", "must name a file, or \"-\" for standard output");
        return nullptr;
    }
    config.format = format_of(ctx, config.format, config.path);
    check_sink_writing(ctx, config.writing, config.path);
    config.split = SplitPlan::from(ctx, config.path, config.splitting);
    if (ctx.failed()) return nullptr;
    if (config.writing.append && config.format != JsonFormat::Jsonl) {
        ctx.error("append", "append = true needs format = \"jsonl\" (records can be added to "
                            "the end of a JSON Lines file, not inside a JSON array)");
        return nullptr;
    }
    if (ctx.global().shard && config.format != JsonFormat::Jsonl) {
        ctx.error("format", "a sharded run writes parts that `conveyor finalize` concatenates, "
                            "which JSON Lines allows and one JSON array does not: use format = "
                            "\"jsonl\"");
        return nullptr;
    }
    if (config.pretty && config.format == JsonFormat::Jsonl)
        ctx.warning("pretty",
                    "pretty = true is ignored for format \"jsonl\": each record stays on one line");
    return json::make_json_write(std::move(config));
}

} // namespace

/// json.read's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor json_read_descriptor() {
    FunctionDescriptor fn;
    fn.name = "json.read";
    fn.role = StageRole::Source;
    fn.summary = "Read records from a JSON array of objects or a JSON Lines file";
    fn.description =
        "Reads JSON objects as records: either one JSON array of objects (format "
        "\"records\"), one object per line (format \"jsonl\"; blank lines are skipped), or "
        "objects one after another over any number of lines (format \"objects\", as jq "
        "prints them). "
        "Memory stays constant however large the file is. Records may have different keys: a "
        "batch's fields are the union of its records' keys, and fields a record lacks are "
        "absent (writers omit them), so every record keeps its own keys and key order. Nested "
        "objects and arrays stay nested; numbers keep their spelling (1.0 stays 1.0, big "
        "integers keep every digit). Malformed input stops the run with the file, line and "
        "column of the problem.";
    fn.partitions = true;
    fn.options = read_options().specs();
    fn.min_inputs = 0;
    fn.max_inputs = 0;
    fn.factory = bind_options(read_options(), build_read);
    return fn;
}

/// json.write's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor json_write_descriptor() {
    FunctionDescriptor fn;
    fn.name = "json.write";
    fn.role = StageRole::Sink;
    fn.summary = "Write records as a JSON array or as JSON Lines";
    fn.description =
        "Writes every record of its inputs (one input after the other, in the order of "
        "`inputs`) as JSON objects: one JSON array (format \"records\", one object per line, "
        "or indented with pretty = true) or one object per line (format \"jsonl\"). Absent "
        "fields are left out; numbers read from text are written as they were spelled; "
        "strings are escaped and invalid UTF-8 is replaced by U+FFFD. The file appears only "
        "when the run succeeds (written to a temporary file, then renamed) unless append = "
        "true adds to it as records come; \"-\" writes to standard output.";
    fn.writes_files = true;
    fn.options = write_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = kUnboundedInputs;
    fn.factory = bind_options(write_options(), build_write);
    return fn;
}

void register_json(Registry& registry) {
    json::register_extract(registry);
    registry.add("json.read", json_read_descriptor);
    registry.add("json.write", json_write_descriptor);
}

} // namespace conveyor::plugins
