#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/io/followed_file.hpp"
#include "conveyor/recordio/csv_reader.hpp"
#include "conveyor/recordio/record_format.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/following_source.hpp"

#include <chrono>

namespace conveyor::plugins {

namespace {

using recordio::FormatConfig;
using recordio::RecordFormat;

/// file.watch's definition, filled by build_file_watch from the validated options.
struct WatchConfig {
    FormatConfig format;
    std::string path;
    FollowFrom from{};
    std::chrono::milliseconds poll_interval{};
};

/// The header row of a CSV file, for `from = "end"`: the rows after it are skipped, the header
/// still names the fields. nullptr when the file does not exist or is empty (it is then read
/// from its beginning, header first).
Result<SchemaRef> csv_header_of(const WatchConfig& config) {
    Result<InputFile> in = InputFile::open(config.path, nullptr);
    if (!in) return SchemaRef{}; // not there yet
    recordio::csv::CsvReader reader(
        std::move(*in), recordio::csv::ReaderConfig{config.format.csv.delimiter,
                                                    config.format.csv.quote, false, 64 * 1024});
    Batch scratch;
    reader.attach(&scratch);
    std::vector<Value> fields;
    Result<bool> got = reader.next_record(fields);
    reader.attach(nullptr);
    if (!got) return std::move(got).error();
    if (!*got) return SchemaRef{};
    std::vector<std::string> names;
    for (const Value& v : fields)
        names.emplace_back(v.as_string());
    return make_schema(recordio::csv::normalise_header(std::move(names)));
}

class FileWatchStage final : public Stage {
public:
    explicit FileWatchStage(WatchConfig config) : config_(std::move(config)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        auto state = std::make_shared<recordio::csv::CsvFollowState>();
        if (config_.from == FollowFrom::End && config_.format.format == RecordFormat::Csv &&
            config_.format.csv.headers) {
            // Starting at the end skips the header row too; the known header lets the first
            // rows read (and a header repeated after a rotation) be recognised.
            Result<SchemaRef> header = csv_header_of(config_);
            if (!header) return std::move(header).error();
            state->header = std::move(header).value();
        }
        FollowedFile::Options options;
        options.from = config_.from;
        options.poll_interval = config_.poll_interval;
        auto followed = FollowedFile::open(config_.path, ctx.run, options);
        if (!followed) return std::move(followed).error();

        OpenContext source_ctx = ctx; // a source has no inputs: nothing to dangle
        source_ctx.input_schemas = {};
        source_ctx.input_schemas_fixed = {};
        FollowingSource::Factory make = [format = config_.format, source_ctx,
                                         state](InputFile segment, std::size_t) {
            return Result<std::unique_ptr<SourceOperator>>(
                recordio::make_format_source(std::move(segment), format, source_ctx, state));
        };
        SchemaRef schema = recordio::initial_format_schema(config_.format);
        const bool fixed = schema != nullptr;
        OpenedStage opened(std::unique_ptr<SourceOperator>(std::make_unique<FollowingSource>(
                               std::move(followed).value(), std::move(make))),
                           std::move(schema));
        opened.fixed_schema = fixed;
        return opened;
    }

private:
    WatchConfig config_;
};

/// file.watch's options as a pipeline gives them; the initializers are the defaults.
struct WatchOptions {
    std::string path; ///< required
    FollowFrom from = FollowFrom::Beginning;
    std::int64_t poll_interval_ms = 500;
    recordio::FormatOptions input; ///< no format: the path's extension decides
};

const OptionTable<WatchOptions>& watch_options() {
    static const auto table =
        OptionTable<WatchOptions>()
            .add("path", &WatchOptions::path,
                 {.description = "The file to follow; its directory must exist.", .required = true})
            .add_choice("from", &WatchOptions::from,
                        {{"beginning", FollowFrom::Beginning}, {"end", FollowFrom::End}},
                        {.description = "Where to start in the file as it is when the run "
                                        "starts: \"beginning\" reads what it already holds, "
                                        "\"end\" only what is appended (a CSV header is still "
                                        "read from the top)."})
            .add("poll_interval_ms", &WatchOptions::poll_interval_ms,
                 {.description = "How often the file is looked at when no change notification "
                                 "arrives (file systems without inotify, such as NFS).",
                  .min = 10,
                  .max = 60000,
                  .unit = OptionUnit::Milliseconds})
            .embed(&WatchOptions::input, recordio::format_options(WatchOptions{}.input.format));
    return table;
}

std::unique_ptr<Stage> build_file_watch(BuildContext& ctx, const WatchOptions& o) {
    WatchConfig config;
    config.path = o.path;
    if (config.path.empty() || config.path == "-") {
        ctx.error("path", "must name a file (to read standard input as it comes, use stdin.read)");
        return nullptr;
    }
    if (ctx.global().execution_mode != ExecutionMode::Streaming) {
        ctx.error("path", "file.watch follows the file until the run is stopped, so it needs "
                          "[global] execution_mode = \"streaming\" (to read a file once, use "
                          "csv.read or json.read)");
        return nullptr;
    }
    auto format = recordio::format_from_options(ctx, o.input, config.path);
    if (!format) return nullptr;
    config.format = std::move(*format);
    config.format.csv.path = config.path;
    config.from = o.from;
    config.poll_interval = std::chrono::milliseconds(o.poll_interval_ms);
    return std::make_unique<FileWatchStage>(std::move(config));
}

} // namespace

/// file.watch's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor file_watch_descriptor() {
    FunctionDescriptor fn;
    fn.name = "file.watch";
    fn.role = StageRole::Source;
    fn.min_inputs = 0;
    fn.max_inputs = 0;
    fn.summary = "Follow a growing file like `tail -F` (lines, JSON lines, JSON or CSV)";
    fn.description =
        "Reads a file and keeps reading what is appended to it until the run is stopped "
        "(SIGINT/SIGTERM); needs execution_mode = \"streaming\". Survives rotation: when the "
        "file is renamed away and a new one created, the rest of the old file is read and then "
        "the new one from its beginning; when it is truncated, it is read again from its "
        "beginning (a CSV header repeated at the top of the new file is skipped). A file that "
        "does not exist yet is waited for. Changes are noticed at once through inotify, or by "
        "looking every poll_interval_ms; a truncation quickly followed by writes past the old size "
        "is recognised because the last bytes read have changed. Limits, as with `tail -F`: "
        "lines still written to the old file after the new one appeared are not read, and a "
        "rewrite with the very same bytes where reading stopped passes for an append.";
    fn.options = watch_options().specs();
    fn.factory = bind_options(watch_options(), build_file_watch);
    return fn;
}

void register_file(Registry& registry) {
    registry.add("file.watch", file_watch_descriptor);
}

} // namespace conveyor::plugins
