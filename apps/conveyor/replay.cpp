// conveyor replay DLQ_FILE PIPELINE --from-stage ID: feeds the records a stage gave up on
// (dead-letter entries of that stage) back into it, and runs it and everything downstream.

#include "commands.hpp"
#include "conveyor/config/loader.hpp"
#include "conveyor/core/ascii.hpp"
#include "conveyor/core/bare_empty.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/run_source.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/registry.hpp"
#include "session.hpp"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <set>
#include <unistd.h>

namespace conveyor::cli {

namespace {

struct Extracted {
    std::size_t records = 0;
    std::size_t other_stages = 0;
    std::size_t raw = 0;
    /// The other stages that have entries, with how many each, in the order first seen.
    std::vector<std::pair<std::string, std::size_t>> others;
};

void count_other(Extracted& ex, const Value* who) {
    ++ex.other_stages;
    const std::string name =
        who && who->kind() == Kind::String ? std::string(who->as_string()) : std::string("?");
    for (auto& [stage, n] : ex.others)
        if (stage == name) {
            ++n;
            return;
        }
    ex.others.emplace_back(name, 1);
}

/// Whether `field` is what JSON text made of `raw`: `raw` with U+FFFD for each sequence that
/// is not UTF-8 (compared as written: the writer maps distinct texts to distinct JSON).
bool shows(const Value& field, std::string_view raw) {
    if (!field.is_string()) return false;
    std::string a;
    std::string b;
    json::append_string(a, field.as_string());
    json::append_string(b, raw);
    return a == b;
}

/// Puts back in `row` (the fields of `schema`) what entry `e` says JSON text changed
/// (DeadLetterQueue: "unquoted_empty", "bytes"), where the field still shows what JSON made
/// of it: a value fixed by hand in the file is replayed as it was fixed. False when those
/// members are malformed.
bool restore_as_read(const Value& e, const Schema& schema, std::vector<Value>& row, Arena& arena) {
    if (const Value* empty = e.find("unquoted_empty")) {
        if (empty->kind() != Kind::Array) return false;
        for (const Value& name : empty->as_array()) {
            if (!name.is_string()) return false;
            const auto i = schema.find(name.as_string());
            if (i && row[*i].is_string() && row[*i].as_string().empty()) row[*i] = bare_empty();
        }
    }
    if (const Value* bytes = e.find("bytes")) {
        if (bytes->kind() != Kind::Object) return false;
        for (const Member& m : bytes->as_object()) {
            if (!m.value.is_string()) return false;
            const std::string_view hex = m.value.as_string();
            char* out = arena.allocate_array<char>(std::max<std::size_t>(hex.size() / 2, 1));
            if (!read_hex(hex, out)) return false;
            const std::string_view raw(out, hex.size() / 2);
            const auto i = schema.find(m.key);
            if (i && shows(row[*i], raw)) row[*i] = Value::string(raw);
        }
    }
    return true;
}

/// Copies the `record` of every entry of `stage` from the dead-letter file into a run file
/// (exec/spill.hpp's format, which keeps bare-empty fields and bytes that are not UTF-8) at
/// `writer`, with what the entry says JSON text changed put back.
Result<Extracted> extract(const std::string& dlq_path, const std::string& stage,
                          spill::RunWriter& writer) {
    auto in = InputFile::open(dlq_path, nullptr);
    if (!in) return std::move(in).error();
    std::string text;
    char buf[1 << 16];
    for (;;) {
        auto n = in->read(buf);
        if (!n) return std::move(n).error();
        if (*n == 0) break;
        text.append(buf, *n);
    }
    Extracted ex;
    json::Parser parser;
    spill::RowShaper shaper;
    std::vector<Value> row;
    std::size_t line_no = 0, pos = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        const std::string_view line(text.data() + pos,
                                    (nl == std::string::npos ? text.size() : nl) - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        Arena arena;
        auto v = parser.parse(line, arena);
        const auto not_an_entry = [&] {
            return fail(ErrorKind::Data, "not a dead-letter entry (a JSON object per line)",
                        fmt::format("{}:{}", dlq_path, line_no));
        };
        if (!v || v->kind() != Kind::Object) return not_an_entry();
        const Value* who = v->find("stage");
        if (!who || who->kind() != Kind::String || who->as_string() != stage) {
            count_other(ex, who);
            continue;
        }
        const Value* record = v->find("record");
        if (!record || record->kind() != Kind::Object) {
            ++ex.raw; // input that never became a record cannot be fed to a stage
            continue;
        }
        const std::span<const Member> fields = record->as_object();
        const SchemaRef& schema = shaper.schema_for(fields);
        row.clear();
        for (const Member& m : fields)
            row.push_back(m.value);
        if (!restore_as_read(*v, *schema, row, arena)) return not_an_entry();
        CONVEYOR_TRY(writer.add({}, *schema, row));
        ++ex.records;
    }
    CONVEYOR_TRY(writer.close());
    return ex;
}

/// Narrows `p` to `from_stage` and everything downstream of it, fed by a source reading the
/// records of the run file at `records_path` (exec/run_source.hpp) in place of its inputs.
void narrow_to_replay(PipelineSpec& p, const Registry& registry, const std::string& from_stage,
                      const std::string& records_path) {
    std::set<std::string> keep{from_stage};
    for (bool grew = true; grew;) {
        grew = false;
        for (const StageSpec& s : p.stages)
            for (const std::string& in : s.inputs)
                if (keep.count(in) && keep.insert(s.id).second) grew = true;
    }
    std::string source_id = "dead_letters";
    while (p.find_stage(source_id))
        source_id += "_";
    StageSpec source;
    source.id = source_id;
    // Described as the json.read of a file of records it stands for (progress, metrics, a
    // source's role); what reads the file is the run source.
    source.function = "json.read";
    source.descriptor = registry.find("json.read");
    source.error_handling = p.error_handling;
    source.config.set("path", records_path, {}, true);
    source.stage = make_run_source(records_path);

    std::vector<StageSpec> stages;
    stages.push_back(std::move(source));
    for (StageSpec& s : p.stages) {
        if (!keep.count(s.id)) continue;
        if (s.id == from_stage) s.inputs = {source_id};
        stages.push_back(std::move(s));
    }
    p.stages = std::move(stages);
}

/// True when file sink `st` writing `file` would replace files that are there: the file itself,
/// or, for a path split by value ({{ field }}) or rolled over numbered files (data-00001.csv),
/// any file under the directory they go to whose name starts as theirs do (which ones it
/// would write is only known from the records).
bool earlier_files_there(const StageSpec& st, const std::string& file) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto given = [&st](const char* key) {
        const OptionValue* v = st.config.find(key);
        return v && v->is_int() && v->as_int() > 0;
    };
    const std::size_t placeholder = file.find("{{");
    const bool rolled = given("max_records_per_file") || given("max_bytes_per_file");
    if (placeholder == std::string::npos && !rolled) return fs::is_regular_file(file, ec);
    const fs::path head(placeholder == std::string::npos ? file : file.substr(0, placeholder));
    const fs::path dir = head.parent_path().empty() ? fs::path(".") : head.parent_path();
    const std::string prefix =
        placeholder == std::string::npos ? head.stem().string() + "-" : head.filename().string();
    std::size_t seen = 0;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (++seen > 100000) return true; // too many to look through: assume the worst
        if (it->is_regular_file(ec) &&
            it->path().lexically_relative(dir).string().starts_with(prefix))
            return true;
    }
    return false;
}

/// What the replay would destroy of what the earlier run wrote: a file sink whose file exists
/// and is written whole (the replayed records' output would replace it; see
/// earlier_files_there), a table sink that
/// empties its table first (mode = "replace"), or a dead-letter queue file that exists. Empty
/// when nothing would be.
std::vector<std::string> replaced_outputs(const PipelineSpec& p) {
    std::vector<std::string> problems;
    // The dead-letter queue is written whole too: replaying from it into it would keep only the
    // records that fail again, and lose the entries of the other stages.
    const ErrorHandlingSpec& eh = p.error_handling;
    std::error_code ec;
    if (eh.dead_letter_enabled && eh.dead_letter_path != "-" &&
        std::filesystem::is_regular_file(eh.dead_letter_path, ec))
        problems.push_back(fmt::format(
            "the dead-letter queue would replace {} with the records that fail again alone, and "
            "what it holds now would be lost: give it another file (--set "
            "error_handling.dead_letter_queue.path=OTHER_FILE)",
            eh.dead_letter_path));
    for (const StageSpec& st : p.stages) {
        if (!st.descriptor || st.descriptor->role != StageRole::Sink) continue;
        const OptionValue* mode = st.config.find("mode");
        if (mode && mode->is_string() && mode->as_string() == "replace") {
            problems.push_back(fmt::format(
                "stage '{}' ({}) would empty its table (mode = \"replace\") and leave only the "
                "replayed records in it: add them instead with --set stages.{}.mode=append",
                st.id, st.function, st.id));
            continue;
        }
        if (!st.descriptor->writes_files) continue;
        const OptionValue* path = st.config.find("path");
        const OptionValue* append = st.config.find("append");
        if (!path || !path->is_string() || (append && append->is_bool() && append->as_bool()))
            continue;
        const std::string& file = path->as_string();
        if (file == "-" || !earlier_files_there(st, file)) continue;
        problems.push_back(fmt::format(
            "stage '{}' ({}) would replace {} with the output of the replayed records alone, and "
            "what the earlier run wrote there would be lost: write them elsewhere "
            "(--set stages.{}.path=OTHER_FILE) or add them to it (--set stages.{}.append=true)",
            st.id, st.function, file, st.id, st.id));
    }
    return problems;
}

/// The dead-letter file holds no record of the stage: nothing is run (a run would still write
/// every sink downstream, replacing the earlier outputs with empty ones).
int nothing_to_replay(const ReplayArgs& args, const Extracted& ex) {
    std::string others;
    for (const auto& [stage, n] : ex.others)
        others += fmt::format("{}'{}' ({})", others.empty() ? "" : ", ", stage, n);
    print_err(fmt::format(
        "conveyor: replay: {} holds no dead-lettered record of stage '{}'{}{}; nothing replayed, "
        "no output touched\n",
        args.dead_letters, args.from_stage,
        ex.raw ? fmt::format(" ({} unparsed inputs, which cannot be replayed)", ex.raw) : "",
        others.empty() ? "" : "; it has entries of " + others));
    return exit_codes::kOk;
}

/// Runs the narrowed pipeline and says how the replay went.
int run_replay(const PipelineSpec& p, const ReplayArgs& args, const Extracted& ex) {
    spdlog::info("replaying {} record{} into stage '{}'{}{}", ex.records,
                 ex.records == 1 ? "" : "s", args.from_stage,
                 ex.other_stages
                     ? fmt::format(" ({} entries of other stages left alone)", ex.other_stages)
                     : "",
                 ex.raw ? fmt::format(" ({} unparsed inputs cannot be replayed)", ex.raw) : "");
    RunContext run;
    MetricsRegistry metrics;
    RunOptions ro;
    ro.metrics = &metrics;
    ro.handle_signals = true;
    RunReport report = run_pipeline(p, run, ro);
    if (!report.status)
        print_err("conveyor: error: " + report.status.error().to_string() + "\n");
    else if (report.completed_with_failures)
        print_err("conveyor: replay completed, but some records failed again (see the dead-letter "
                  "queue)\n");
    else
        spdlog::info("replay of {} record{} into '{}' completed", ex.records,
                     ex.records == 1 ? "" : "s", args.from_stage);
    return report.exit_code();
}

} // namespace

int cmd_replay(const ReplayArgs& args) {
    configure_logging(spdlog::level::info);
    const Registry& registry = builtin_registry();
    LoadOptions options;
    options.overrides = args.sets;
    LoadResult loaded = load_pipeline_file(args.pipeline, registry, options);
    loaded.diagnostics.sort();
    print_err(loaded.diagnostics.to_string());
    if (!loaded.pipeline) return exit_code(loaded.failure);
    PipelineSpec& p = *loaded.pipeline;

    const StageSpec* target = p.find_stage(args.from_stage);
    if (!target) {
        std::vector<std::string> ids;
        for (const StageSpec& s : p.stages)
            ids.push_back(s.id);
        print_err(fmt::format("conveyor: no stage '{}' in {}{}\n", args.from_stage, args.pipeline,
                              did_you_mean(args.from_stage, ids)));
        return exit_codes::kUsage;
    }
    if (target->inputs.empty()) {
        print_err(fmt::format("conveyor: stage '{}' is a source: replay feeds records into a stage "
                              "that takes input (the records a source could not parse are in the "
                              "dead-letter queue as raw text to fix by hand)\n",
                              args.from_stage));
        return exit_codes::kUsage;
    }

    // The records to replay, in a run file in the temporary directory.
    auto writer =
        spill::RunWriter::create(std::filesystem::temp_directory_path().string(),
                                 fmt::format("conveyor-replay-{}", ::getpid()), 0, nullptr);
    if (!writer) {
        print_err("conveyor: " + writer.error().to_string() + "\n");
        return exit_code(writer.error().kind);
    }
    struct Cleanup {
        std::string path;
        ~Cleanup() { spill::remove(path, nullptr); }
    } cleanup{writer->path()};
    auto ex = extract(args.dead_letters, args.from_stage, *writer);
    if (!ex) {
        print_err("conveyor: " + ex.error().to_string() + "\n");
        return exit_code(ex.error().kind);
    }
    if (ex->records == 0) return nothing_to_replay(args, *ex);
    narrow_to_replay(p, registry, args.from_stage, writer->path());
    if (const std::vector<std::string> replaced = replaced_outputs(p); !replaced.empty()) {
        for (const std::string& r : replaced)
            print_err("conveyor: replay: " + r + "\n");
        return exit_codes::kCantCreate;
    }
    return run_replay(p, args, *ex);
}

} // namespace conveyor::cli
