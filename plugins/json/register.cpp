#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "json_extract.hpp"
#include "json_read.hpp"
#include "json_write.hpp"

namespace conveyor::plugins {

namespace {

using json::JsonFormat;

OptionSpec path_option(std::string description) {
    OptionSpec o;
    o.name = "path";
    o.type = OptionType::String;
    o.required = true;
    o.description = std::move(description);
    return o;
}

OptionSpec format_option(std::string description) {
    OptionSpec o;
    o.name = "format";
    o.type = OptionType::String;
    o.default_value = "records";
    o.choices = {"records", "jsonl"};
    o.description = std::move(description);
    return o;
}

/// The format option, or the path's extension when the option was not given.
JsonFormat format_of(const Options& options, const std::string& path) {
    if (options.given("format")) return json::parse_format(options.get_string("format"));
    return json::default_format_for(path);
}

std::unique_ptr<Stage> build_read(BuildContext& ctx) {
    const Options& o = ctx.options();
    json::JsonReadConfig config;
    config.path = o.get_string("path");
    if (config.path.empty()) {
        ctx.error("path", "must name a file, or \"-\" for standard input");
        return nullptr;
    }
    config.format = format_of(o, config.path);
    config.follow = o.find("follow") && o.get_bool("follow");
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
    return json::make_json_read(std::move(config));
}

std::unique_ptr<Stage> build_write(BuildContext& ctx) {
    const Options& o = ctx.options();
    json::JsonWriteConfig config;
    config.path = o.get_string("path");
    if (config.path.empty()) {
        ctx.error("path", "must name a file, or \"-\" for standard output");
        return nullptr;
    }
    config.format = format_of(o, config.path);
    config.pretty = o.get_bool("pretty");
    config.writing = read_sink_writing(ctx, config.path);
    if (ctx.failed()) return nullptr;
    if (config.writing.append && config.format != JsonFormat::Jsonl) {
        ctx.error("append", "append = true needs format = \"jsonl\" (records can be added to "
                            "the end of a JSON Lines file, not inside a JSON array)");
        return nullptr;
    }
    if (config.pretty && config.format == JsonFormat::Jsonl)
        ctx.warning("pretty",
                    "pretty = true is ignored for format \"jsonl\": each record stays on one line");
    return json::make_json_write(std::move(config));
}

} // namespace

void register_json(Registry& registry) {
    json::register_extract(registry);
    {
        FunctionDescriptor fn;
        fn.name = "json.read";
        fn.role = StageRole::Source;
        fn.summary = "Read records from a JSON array of objects or a JSON Lines file";
        fn.description =
            "Reads JSON objects as records: either one JSON array of objects (format "
            "\"records\") or one object per line (format \"jsonl\"; blank lines are skipped). "
            "Memory stays constant however large the file is. Records may have different keys: a "
            "batch's fields are the union of its records' keys, and fields a record lacks are "
            "absent (writers omit them), so every record keeps its own keys and key order. Nested "
            "objects and arrays stay nested; numbers keep their spelling (1.0 stays 1.0, big "
            "integers keep every digit). Malformed input stops the run with the file, line and "
            "column of the problem.";
        fn.options.push_back(path_option("File to read; \"-\" reads standard input."));
        fn.options.push_back(format_option(
            "\"records\" (a JSON array of objects) or \"jsonl\" (one object per line). When not "
            "given: \"jsonl\" for paths ending in .jsonl or .ndjson, else \"records\"."));
        OptionSpec follow;
        follow.name = "follow";
        follow.type = OptionType::Bool;
        follow.default_value = false;
        follow.description =
            "Keep reading what is appended to the file, like `tail -F`, until the run is "
            "stopped (SIGINT/SIGTERM); a file rotated by rename or truncated is read again from "
            "its beginning. Needs execution_mode = \"streaming\"; file.watch does the same with "
            "more choices.";
        fn.options.push_back(std::move(follow));
        fn.min_inputs = 0;
        fn.max_inputs = 0;
        fn.factory = build_read;
        registry.add(std::move(fn));
    }
    {
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
        fn.options.push_back(path_option("File to write; \"-\" writes standard output."));
        fn.options.push_back(format_option(
            "\"records\" (a JSON array of objects) or \"jsonl\" (one object per line). When not "
            "given: \"jsonl\" for paths ending in .jsonl or .ndjson, else \"records\"."));
        OptionSpec pretty;
        pretty.name = "pretty";
        pretty.type = OptionType::Bool;
        pretty.default_value = false;
        pretty.description = "Indent each object by 2 spaces (format \"records\" only).";
        fn.options.push_back(std::move(pretty));
        fn.options.push_back(append_option("format \"jsonl\" only"));
        fn.options.push_back(fsync_interval_option());
        fn.options.push_back(flush_interval_option());
        fn.min_inputs = 1;
        fn.max_inputs = kUnboundedInputs;
        fn.factory = build_write;
        registry.add(std::move(fn));
    }
}

} // namespace conveyor::plugins
