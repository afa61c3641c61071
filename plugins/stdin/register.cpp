#include "conveyor/io/input_file.hpp"
#include "conveyor/recordio/record_format.hpp"
#include "conveyor/registry/registry.hpp"

namespace conveyor::plugins {

namespace {

using recordio::FormatConfig;

class StdinReadStage final : public Stage {
public:
    explicit StdinReadStage(FormatConfig config) : config_(std::move(config)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        Result<InputFile> in = InputFile::open("-", ctx.run);
        if (!in) return std::move(in).error();
        // Nothing is read here: standard input may stay silent for a long time, and the other
        // stages should start meanwhile. The schema is known up front only for lines.
        SchemaRef schema = recordio::initial_format_schema(config_);
        const bool fixed = schema != nullptr;
        OpenedStage opened(recordio::make_format_source(std::move(*in), config_, ctx),
                           std::move(schema));
        opened.fixed_schema = fixed;
        return opened;
    }

private:
    FormatConfig config_;
};

/// stdin.read's options: the format options, JSON lines unless given.
struct StdinReadOptions {
    recordio::FormatOptions input{.format = recordio::RecordFormat::Jsonl};
};

const OptionTable<StdinReadOptions>& stdin_read_options() {
    static const auto table = OptionTable<StdinReadOptions>().embed(
        &StdinReadOptions::input, recordio::format_options(StdinReadOptions{}.input.format));
    return table;
}

std::unique_ptr<Stage> build_stdin_read(BuildContext& ctx, const StdinReadOptions& o) {
    auto config = recordio::format_from_options(ctx, o.input, "-");
    if (!config) return nullptr;
    config->csv.path = "-";
    return std::make_unique<StdinReadStage>(std::move(*config));
}

} // namespace

/// stdin.read's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor stdin_read_descriptor() {
    FunctionDescriptor fn;
    fn.name = "stdin.read";
    fn.role = StageRole::Source;
    fn.min_inputs = 0;
    fn.max_inputs = 0;
    fn.summary = "Read records from standard input (lines, JSON lines, a JSON array or CSV)";
    fn.description =
        "Reads standard input as it arrives: `tail -F app.log | conveyor run p.toml`. With "
        "execution_mode = \"streaming\" each batch goes on with the records that have arrived "
        "(nothing waits for a batch to fill), and the run lasts until standard input ends or "
        "SIGINT/SIGTERM stops it (a half-written last line is then dropped). In batch mode it "
        "reads to the end of input. format = \"lines\" gives one record {line: \"...\"} per line "
        "(LF or CRLF, empty lines included); \"jsonl\", \"json\" and \"csv\" parse like json.read "
        "and csv.read, with the same error messages (\"<stdin>:LINE\").";
    fn.options = stdin_read_options().specs();
    fn.factory = bind_options(stdin_read_options(), build_stdin_read);
    return fn;
}

void register_stdin(Registry& registry) {
    registry.add("stdin.read", stdin_read_descriptor);
}

} // namespace conveyor::plugins
