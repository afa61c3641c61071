#include "conveyor/registry/sink_options.hpp"

#include "conveyor/core/run_settings.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/registry/registry.hpp"

#include <fmt/format.h>
#include <string>

namespace conveyor {

OptionTable<SinkWriting> sink_writing_options(std::string_view append_detail) {
    return OptionTable<SinkWriting>()
        .add("append", &SinkWriting::append,
             {.description =
                  "Append to the file in place instead of replacing it when the run succeeds: "
                  "records are written as they arrive, whole lines in one write per batch, so a "
                  "reader never sees half a record" +
                  std::string(append_detail.empty() ? "" : "; ") + std::string(append_detail) +
                  ". For streaming runs."})
        .add("fsync_interval_ms", &SinkWriting::fsync_interval_ms,
             {.description = "With append = true: written data is made durable (fdatasync) once "
                             "this many milliseconds have passed since the previous sync (also "
                             "when no more records come), and when the stage ends; 0 syncs every "
                             "write. Records are visible to readers as soon as they are written "
                             "either way.",
              .min = 0,
              .unit = OptionUnit::Milliseconds})
        .add("flush_interval_ms", &SinkWriting::flush_interval_ms,
             {.description = "In streaming mode (or with append = true): 0 writes every batch "
                             "out as it arrives; N writes at most every N milliseconds, in fewer "
                             "and larger writes, and no record waits longer than N. Whole lines "
                             "either way.",
              .min = 0,
              .unit = OptionUnit::Milliseconds})
        .add_choice(
            "compression", &SinkWriting::compression,
            {{"none", Compression::None}, {"gzip", Compression::Gzip}, {"zstd", Compression::Zstd}},
            {.description = "none | gzip | zstd. Default: as the path's extension says "
                            "(.gz or .gzip: gzip, .zst or .zstd: zstd, else none; "
                            "standard output: none). A checkpoint, an append and every "
                            "flush of standard output end a complete archive, so what "
                            "is on disk always decompresses."})
        .add("compression_level", &SinkWriting::compression_level,
             {.description = "gzip 1 (fastest) to 9 (smallest), default 6; zstd 1 to 19 (up to "
                             "22 with much more memory), default 3.",
              .min = 1,
              .max = 22});
}

Compression sink_compression(const SinkWriting& writing, const std::string& path) {
    if (writing.compression) return *writing.compression;
    return compression_for_path(path);
}

Result<OutputFile> open_sink_output(const std::string& path, const SinkWriting& writing,
                                    const SinkResume* resume, RunContext* run, bool remove_stale) {
    const Compression c = sink_compression(writing, path);
    if (c != Compression::None && writing.append && !resume && path != "-") {
        // Another archive after the ones there is a valid file; after anything else it is not.
        Result<InputFile> existing = InputFile::open(path, nullptr);
        if (existing && existing->size().value_or(0) > 0 && existing->compression() != c)
            return fail(ErrorKind::CantCreate,
                        "append = true with compression = \"" + std::string(to_string(c)) +
                            "\", but the file holds " +
                            (existing->compression() == Compression::None
                                 ? std::string("data that is not compressed")
                                 : std::string(to_string(existing->compression())) + " data") +
                            ": appending would make it unreadable",
                        path);
    }
    Result<OutputFile> out = resume           ? resume->adopt(run)
                             : writing.append ? OutputFile::open_append(path, run)
                                              : OutputFile::create(path, run, remove_stale);
    if (!out) return out;
    if (!remove_stale) out->defer_sync(); // one of a split sink's many files
    const int level = writing.compression_level ? static_cast<int>(*writing.compression_level)
                                                : compression_levels(c).fallback;
    CONVEYOR_TRY(out->compress(c, level));
    return out;
}

void check_sink_writing(BuildContext& ctx, const SinkWriting& writing, const std::string& path) {
    const Options& o = ctx.options();
    if (writing.append && path == "-")
        ctx.error("append", "append = true writes to the end of a file; standard output has no "
                            "end to append to (leave append out)");
    if (o.given("flush_interval_ms") && !writing.append &&
        ctx.global().execution_mode != ExecutionMode::Streaming)
        ctx.warning("flush_interval_ms", "flush_interval_ms only matters in streaming mode or "
                                         "with append = true (a file written whole is written "
                                         "out in large blocks)");
    if (o.given("fsync_interval_ms") && !writing.append)
        ctx.warning("fsync_interval_ms", "fsync_interval_ms only matters with append = true (a "
                                         "file written whole is synced once, when it is complete)");
    const Compression c = sink_compression(writing, path);
    const Compression named = compression_for_path(path);
    if (writing.compression && named != Compression::None && named != c)
        ctx.warning("compression",
                    fmt::format("the path ends like a {} file, but compression = \"{}\" writes "
                                "{}: readers that go by the name will fail",
                                to_string(named), to_string(c),
                                c == Compression::None ? "it uncompressed"
                                                       : std::string(to_string(c)) + " data"));
    if (writing.compression_level) {
        const CompressionLevels levels = compression_levels(c);
        if (c == Compression::None)
            ctx.warning("compression_level",
                        "compression_level only matters when the output is compressed "
                        "(compression = \"gzip\" or \"zstd\", or a .gz or .zst path)");
        else if (*writing.compression_level < levels.min || *writing.compression_level > levels.max)
            ctx.error("compression_level",
                      fmt::format("{} compression levels go from {} to {}, not {}", to_string(c),
                                  levels.min, levels.max, *writing.compression_level));
    }
}

std::string sink_checkpoint_text(std::string_view sink, const std::string& target, bool append,
                                 const OutputFile::Position& at, std::string_view state) {
    std::string out = "{\"sink\":";
    json::append_string(out, sink);
    out += ",\"target\":";
    json::append_string(out, target);
    out += append ? ",\"append\":true" : ",\"append\":false";
    out += ",\"file\":";
    json::append_string(out, at.file);
    out += ",\"length\":";
    json::append_int(out, static_cast<std::int64_t>(at.length));
    if (!state.empty()) {
        out.push_back(',');
        out.append(state);
    }
    out.push_back('}');
    return out;
}

Error SinkResume::error(std::string_view what) const {
    return Error(ErrorKind::Runtime,
                 "cannot resume: " + std::string(what) +
                     " (`conveyor run --fresh` starts the run over)",
                 target_);
}

Result<Value> SinkResume::member(std::string_view name, Kind kind) const {
    const Value* v = root_.find(name);
    if (!v || v->kind() != kind)
        return error("the checkpoint has no " + std::string(to_string(kind)) + " '" +
                     std::string(name) + "'");
    return *v;
}

Result<SinkResume> SinkResume::parse(std::string_view sink, std::string_view text,
                                     const std::string& target, bool append) {
    SinkResume r;
    r.target_ = target;
    r.append_ = append;
    r.arena_ = std::make_shared<Arena>(1024);
    json::Parser parser;
    Result<Value> root = parser.parse(text, *r.arena_);
    if (!root) return r.error("the checkpoint is not JSON: " + root.error().message);
    if (root->kind() != Kind::Object) return r.error("the checkpoint is not a JSON object");
    r.root_ = *root;

    auto sink_name = r.get_string("sink");
    if (!sink_name) return std::move(sink_name).error();
    if (*sink_name != sink)
        return r.error("the checkpoint was written by " + *sink_name + ", not " +
                       std::string(sink));
    auto its_target = r.get_string("target");
    if (!its_target) return std::move(its_target).error();
    if (*its_target != target)
        return r.error("the checkpoint is for '" + *its_target + "', not this output");
    auto its_append = r.get_bool("append");
    if (!its_append) return std::move(its_append).error();
    if (*its_append != append)
        return r.error(append ? "the checkpoint was taken without append = true"
                              : "the checkpoint was taken with append = true");
    auto file = r.get_string("file");
    if (!file) return std::move(file).error();
    if (file->empty()) return r.error("the checkpoint names no file");
    auto length = r.get_count("length");
    if (!length) return std::move(length).error();
    r.at_ = OutputFile::Position{std::move(*file), *length};
    return r;
}

Result<std::uint64_t> SinkResume::get_count(std::string_view name) const {
    auto v = member(name, Kind::Int);
    if (!v) return std::move(v).error();
    if (v->as_int() < 0) return error("the checkpoint's " + std::string(name) + " is negative");
    return static_cast<std::uint64_t>(v->as_int());
}

Result<OutputFile> SinkResume::adopt(RunContext* run) const {
    return OutputFile::adopt(target_, at_.file, at_.length, append_, run);
}

Result<bool> SinkResume::get_bool(std::string_view name) const {
    auto v = member(name, Kind::Bool);
    if (!v) return std::move(v).error();
    return v->as_bool();
}

Result<std::string> SinkResume::get_string(std::string_view name) const {
    auto v = member(name, Kind::String);
    if (!v) return std::move(v).error();
    return std::string(v->as_string());
}

Result<std::optional<std::vector<std::string>>>
SinkResume::get_string_list(std::string_view name) const {
    const Value* v = root_.find(name);
    if (v && v->kind() == Kind::Null) return std::optional<std::vector<std::string>>();
    auto list = member(name, Kind::Array);
    if (!list) return std::move(list).error();
    std::vector<std::string> out;
    for (const Value& item : list->as_array()) {
        if (!item.is_string())
            return error("the checkpoint's '" + std::string(name) + "' is not a list of strings");
        out.emplace_back(item.as_string());
    }
    return std::optional<std::vector<std::string>>(std::move(out));
}

} // namespace conveyor
