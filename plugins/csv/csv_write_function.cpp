#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/recordio/csv_write.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "conveyor/stage/split_sink.hpp"
#include "csv_functions.hpp"

// csv.write's option table and factory; the sink itself is recordio's (csv_write.hpp).
namespace conveyor::plugins::csv {

using namespace recordio::csv;

namespace {

const OptionTable<CsvWriteOptions>& csv_write_options() {
    static const auto table =
        OptionTable<CsvWriteOptions>()
            .add("path", &CsvWriteOptions::path,
                 {.description = "File to write (parent directories are created); \"-\" writes "
                                 "to standard output. {{ field }} placeholders write one file "
                                 "per distinct value (out/{{ country }}.csv, each with its "
                                 "header), the value made safe for a file name.",
                  .required = true})
            .embed(&CsvWriteOptions::format,
                   csv_format_options("Write a first row with the field names."),
                   {"headers", "delimiter", "quote"})
            .add("columns", &CsvWriteOptions::columns,
                 {.description = "The columns to write, in this order; other fields are left "
                                 "out and missing ones are empty. Over CSV input (a fixed "
                                 "header) a name the header lacks is an error when the run "
                                 "starts."})
            .embed(&CsvWriteOptions::writing,
                   sink_writing_options("the header goes only into an empty file, and an "
                                        "existing header names the columns"))
            .embed(&CsvWriteOptions::splitting, sink_splitting_options());
    return table;
}

std::unique_ptr<Stage> build_csv_write(BuildContext& ctx, const CsvWriteOptions& o) {
    CsvWriteConfig config;
    config.path = o.path;
    if (config.path.empty())
        ctx.error("path", "path must name the CSV file to write (or \"-\" for standard output)");
    config.headers = o.format.headers;
    if (o.columns) {
        config.columns = *o.columns;
        if (config.columns.empty())
            ctx.error("columns", "'columns' is empty: there would be no column to write");
    }
    if (const auto dialect = dialect_from_options(ctx, o.format, o.path)) {
        config.delimiter = dialect->delimiter;
        config.quote = dialect->quote;
    }
    config.writing = o.writing;
    check_sink_writing(ctx, config.writing, config.path);
    config.split = SplitPlan::from(ctx, config.path, o.splitting);
    if (ctx.failed()) return nullptr;
    return make_csv_write_stage(std::move(config));
}

} // namespace

FunctionDescriptor csv_write_descriptor() {
    FunctionDescriptor fn;
    fn.name = "csv.write";
    fn.role = StageRole::Sink;
    fn.writes_files = true;
    fn.min_inputs = 1;
    fn.max_inputs = kUnboundedInputs;
    fn.summary = "Write records to a CSV file (or standard output)";
    fn.description =
        "Writes RFC 4180 CSV with LF line ends, all or nothing: the file appears only when the "
        "run succeeds (with append = true records are added to the file as they come). Records are "
        "written as they arrive (under dag: one input after another "
        "in the order of 'inputs'). The columns are 'columns' when given, else the union of the "
        "inputs' fields as known when the run starts (for JSON: the first record's); records "
        "of other shapes are matched by field name, and a field the header lacks is an error "
        "unless 'columns' was given. "
        "Fields are quoted only when they contain the delimiter, the quote or a line break. "
        "Null is an empty field, the empty string is \"\", numbers keep their spelling, and "
        "arrays and objects are written as JSON text.";

    fn.options = csv_write_options().specs();
    fn.factory = bind_options(csv_write_options(), build_csv_write);
    return fn;
}

} // namespace conveyor::plugins::csv
