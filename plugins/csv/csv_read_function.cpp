#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/registry/registry.hpp"
#include "csv_functions.hpp"

#include <fmt/format.h>
#include <string_view>
#include <unordered_set>

// csv.read's option table and factory; the source itself is recordio's (csv_read.hpp).
namespace conveyor::plugins::csv {

using namespace recordio::csv;

namespace {

const OptionTable<CsvReadOptions>& csv_read_options() {
    static const auto table =
        OptionTable<CsvReadOptions>()
            .add("path", &CsvReadOptions::path,
                 {.description = "File to read; \"-\" reads standard input. Relative paths are "
                                 "relative to the current directory. A glob (* ? [...] in any "
                                 "component, e.g. data/2026-*/part-*.csv) reads every file it "
                                 "matches, in path order (byte-wise), as one stream: each file "
                                 "has its own header, which must give the first file's "
                                 "columns; messages name the file and its line. No match: "
                                 "exit 66.",
                  .required = true})
            .embed(&CsvReadOptions::format,
                   csv_format_options("The first row holds the field names. Without it, fields "
                                      "are called column1, column2, ... unless 'columns' names "
                                      "them."))
            .add("types", &CsvReadOptions::types,
                 {.description = "Column = type, overriding infer_types for those columns: "
                                 "string (keeps the text as written: zip codes, ids), int, "
                                 "float, bool (true/false, 1/0, yes/no), timestamp (ISO 8601 "
                                 "or epoch seconds, written back as UTC ISO 8601). A field "
                                 "that is not of its type is a record error naming file:line; "
                                 "empty fields stay null.",
                  .example = "{ zip = \"string\", qty = \"int\", when = \"timestamp\" }"})
            .add("comment", &CsvReadOptions::comment,
                 {.description = "Skip the lines that start with this character (outside quoted "
                                 "fields), before the header or between records, as Miller's "
                                 "--skip-comments does with \"#\". Unset: every line is data.",
                  .example = "\"#\""})
            .add("chunk_size", &CsvReadOptions::chunk_size,
                 {.description = "With [global] workers above 1, a regular file (not standard "
                                 "input, not compressed) is parsed this many bytes at a time on "
                                 "the workers at once, and its records go on in file order; "
                                 "quoted fields may span chunks. Larger chunks hold more memory "
                                 "in flight (two chunks a worker).",
                  .min = 1,
                  .max = static_cast<double>(std::uint64_t{1} << 40),
                  .unit = OptionUnit::Bytes,
                  .example = "\"4MiB\""})
            .embed(&CsvReadOptions::partition, partition_options())
            .add("follow", &CsvReadOptions::follow,
                 {.description = "Keep reading what is appended to the file, like `tail -F`, "
                                 "until the run is stopped (SIGINT/SIGTERM); a file rotated by "
                                 "rename or truncated is read again from its beginning (a "
                                 "repeated header is skipped). Needs execution_mode = "
                                 "\"streaming\"; file.watch does the same with more choices."});
    return table;
}

std::unique_ptr<Stage> build_csv_read(BuildContext& ctx, const CsvReadOptions& o) {
    CsvReadConfig config;
    config.path = o.path;
    if (config.path.empty())
        ctx.error("path", "path must name a CSV file (or \"-\" for standard input)");
    config.headers = o.format.headers;
    if (const auto dialect = dialect_from_options(ctx, o.format, o.path)) {
        config.delimiter = dialect->delimiter;
        config.quote = dialect->quote;
    }
    config.infer_types = o.format.infer_types;
    config.on_ragged = o.format.on_ragged;

    if (o.format.columns) {
        const std::vector<std::string>& columns = *o.format.columns;
        if (config.headers) {
            ctx.error("columns", "'columns' names the fields of a file without a header row; "
                                 "set headers = false as well (with a header row, the header "
                                 "names the fields)");
        } else if (columns.empty()) {
            ctx.error("columns", "'columns' must list at least one name");
        } else {
            std::unordered_set<std::string_view> seen;
            for (const std::string& c : columns) {
                if (c.empty())
                    ctx.error("columns", "'columns' contains an empty name");
                else if (!seen.insert(c).second)
                    ctx.error("columns", fmt::format("'columns' lists '{}' twice", c));
            }
        }
        config.columns = columns;
    }
    for (const auto& [column, type] : o.types) {
        if (auto t = coltype::parse(type)) {
            config.types.emplace_back(column, *t);
            continue;
        }
        ctx.error("types", fmt::format("types.{}: unknown type '{}'{} (types: string, int, "
                                       "float, bool, timestamp)",
                                       column, type, did_you_mean(type, coltype::names())));
    }
    config.follow = o.follow;
    config.chunk_size = o.chunk_size;
    config.shard = source_shard(ctx, o.partition, o.path);
    if (o.comment) {
        const std::string& c = *o.comment;
        if (c.size() != 1 || c == "\n" || c == "\r")
            ctx.error("comment", "comment must be one character that starts the lines to skip, "
                                 "such as \"#\"");
        else if (c.front() == config.delimiter || c.front() == config.quote)
            ctx.error("comment", fmt::format("comment '{}' is also the delimiter or the quote: "
                                             "records could start with it",
                                             c));
        else if (config.shard && config.shard->partition == Partition::Rows)
            // The cuts between shards count quotes from the start of the data, and a quote in
            // a comment line would move them.
            ctx.error("comment", "comment lines cannot be skipped in a sharded run with "
                                 "partition = \"rows\" (use partition = \"hash\" or \"files\")");
        else
            config.comment = c.front();
    }
    check_file_source_path(ctx, o.path, o.follow);
    if (config.follow) {
        if (config.path == "-")
            ctx.error("follow", "follow = true reads a file as it grows; standard input is "
                                "read as it comes anyway (leave follow out, or use stdin.read)");
        else if (ctx.global().execution_mode != ExecutionMode::Streaming)
            ctx.error("follow", "follow = true never reaches the end of the file, so it needs "
                                "[global] execution_mode = \"streaming\"");
    }
    if (ctx.failed()) return nullptr;
    return make_csv_read_stage(std::move(config));
}

} // namespace

FunctionDescriptor csv_read_descriptor() {
    FunctionDescriptor fn;
    fn.name = "csv.read";
    fn.role = StageRole::Source;
    fn.min_inputs = 0;
    fn.max_inputs = 0;
    fn.summary = "Read records from a CSV file (or standard input)";
    fn.description =
        "Reads an RFC 4180 CSV file: quoted fields may contain the delimiter, doubled quotes "
        "and line breaks; lines may end with LF, CRLF or CR; a UTF-8 byte order mark and blank "
        "lines are skipped, except in a file of one column, where a blank line is a record "
        "whose field is empty (as Miller and DuckDB read it). The first row names the fields "
        "(repeated names get a suffix such "
        "as a_2, an empty one becomes columnN for its position N, or columnN_2 when the header "
        "already has columnN). With infer_types, integers become integers, "
        "decimals become numbers that keep their spelling, empty fields become null and "
        "everything else (including 007, +1 and quoted \"\") stays a string. Errors name the "
        "file and the line where the record starts.";

    fn.partitions = true;
    fn.options = csv_read_options().specs();
    fn.factory = bind_options(csv_read_options(), build_csv_read);
    return fn;
}

} // namespace conveyor::plugins::csv
