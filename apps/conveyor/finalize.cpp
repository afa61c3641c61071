// `conveyor finalize p.toml`: puts the parts a sharded run committed together.

#include "finalize.hpp"

#include "commands.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/io/shard_parts.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"
#include "run_command.hpp"
#include "session.hpp"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace conveyor::cli {

namespace {

/// One output to finalize.
struct Output {
    std::string stage;
    std::string target;
    bool csv_header = false; ///< each non-empty part starts with the same header record
    bool compressed = false;
    std::vector<std::string> parts; ///< in shard order, checked
    std::uint64_t records = 0;
    const StageSpec* sink = nullptr;
    /// The stage feeding the sink when the parts hold results to combine, and the stages
    /// (TOML) that combine them.
    const StageSpec* partial = nullptr;
    std::string combine;
    bool whole = false; ///< the parts' results are whole (hash): combining only orders them
};

std::vector<Output> outputs_of(const PipelineSpec& p) {
    std::vector<Output> out;
    for (const StageSpec& st : p.stages) {
        if (!st.descriptor || !st.descriptor->writes_files) continue;
        const OptionValue* path = st.config.find("path");
        if (!path || !path->is_string() || path->as_string() == "-") continue;
        Output o;
        o.stage = st.id;
        o.sink = &st;
        const StageSpec* from = st.inputs.size() == 1 ? p.find_stage(st.inputs[0]) : nullptr;
        if (from && from->descriptor) {
            const FunctionDescriptor& fn = *from->descriptor;
            const bool hash = p.global.partition == Partition::Hash;
            if (!hash && fn.combine_shards) o.combine = fn.combine_shards(from->config);
            if (hash && fn.combine_hash_shards) o.combine = fn.combine_hash_shards(from->config);
            if (!o.combine.empty()) o.partial = from;
            o.whole = hash;
        }
        o.target = path->as_string();
        const OptionValue* headers = st.config.find("headers");
        o.csv_header =
            st.function == "csv.write" && headers && headers->is_bool() && headers->as_bool();
        const OptionValue* c = st.config.find("compression");
        o.compressed = o.target.ends_with(".gz") || o.target.ends_with(".zst") ||
                       (c && c->is_string() && c->as_string() != "none");
        out.push_back(std::move(o));
    }
    return out;
}

/// Checks the N parts of `o` against their manifests.
Status check_parts(Output& o, std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::string part = part_path(o.target, ShardId{i, n});
        const std::string manifest = manifest_path_of(part);
        std::error_code ec;
        if (!std::filesystem::exists(manifest, ec))
            return fail(ErrorKind::NoInput,
                        fmt::format("part {} of {} of {} is not committed (no manifest {}): run "
                                    "that shard (conveyor run --shard {}/{})",
                                    i, n, o.target, manifest, i, n),
                        part);
        Result<PartManifest> m = read_manifest(manifest);
        if (!m) return std::move(m).error();
        if (m->shard != ShardId{i, n})
            return fail(
                ErrorKind::Data,
                fmt::format("the manifest says shard {}/{}", m->shard.index, m->shard.count),
                manifest);
        Result<FileDigest> d = digest_file(part);
        if (!d) return std::move(d).error();
        if (d->bytes != m->bytes || d->sha256 != m->sha256)
            return fail(ErrorKind::Data,
                        fmt::format("the part does not match its manifest ({} bytes, sha256 "
                                    "{}; the manifest says {} bytes, sha256 {}): run shard {}/{} "
                                    "again after removing both",
                                    d->bytes, d->sha256, m->bytes, m->sha256, i, n),
                        part);
        o.parts.push_back(part);
        o.records += m->records;
    }
    return {};
}

/// Where the first record of CSV text ends (after its line break, RFC 4180 quoting).
std::size_t header_end(std::string_view text) {
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') quoted = !quoted;
        if (quoted || (c != '\n' && c != '\r')) continue;
        return i + (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n' ? 2 : 1);
    }
    return text.size();
}

Status concatenate(const Output& o) {
    Result<OutputFile> f = OutputFile::create(o.target, nullptr);
    if (!f) return std::move(f).error();
    bool header_written = false;
    std::string block(std::size_t{1} << 20, '\0');
    for (const std::string& part : o.parts) {
        std::ifstream in(part, std::ios::binary);
        for (bool first = true;; first = false) {
            in.read(block.data(), static_cast<std::streamsize>(block.size()));
            std::string_view body(block.data(), static_cast<std::size_t>(in.gcount()));
            if (body.empty()) break;
            // A header is one short record: it ends within the first block.
            if (first && o.csv_header) {
                const std::size_t end = header_end(body);
                if (!header_written) CONVEYOR_TRY(f->write(body.substr(0, end)));
                header_written = true;
                body.remove_prefix(end);
            }
            CONVEYOR_TRY(f->write(body));
        }
        if (in.bad()) return fail(ErrorKind::NoInput, "read error", part);
    }
    return f->commit();
}

/// The source reading the parts put together at `path`, in the sink's format.
std::string partials_source(const Output& o, const std::string& path) {
    std::string config = fmt::format("path = \"{}\"\n", path);
    if (o.sink->function == "json.write") {
        config += "format = \"jsonl\"\n";
    } else {
        for (const char* key : {"delimiter", "quote"})
            if (const OptionValue* v = o.sink->config.find(key); v && v->is_string())
                config += fmt::format("{} = \"{}\"\n", key,
                                      v->as_string() == "\"" ? "\\\"" : v->as_string());
    }
    return fmt::format("[[stages]]\nid = \"partials\"\nfunction = \"{}\"\ninputs = []\n"
                       "[stages.config]\n{}",
                       o.sink->function == "json.write" ? "json.read" : "csv.read", config);
}

/// Partial results (partition = "rows" or "files" into a group-by), or whole ones that need
/// merging (a sorted group-by under "hash"): the parts put together, read back, combined by the
/// producing stage's combine_shards (combine_hash_shards) stages and written by the sink itself.
Status combine(const Output& o) {
    if (o.sink->function == "csv.write" && !o.csv_header)
        return fail(ErrorKind::Config,
                    "partial results written as CSV without a header cannot be read back to "
                    "combine: write them with headers (or as JSON Lines)",
                    o.target);
    Output together = o;
    together.target = partials_path(o.target);
    CONVEYOR_TRY(concatenate(together));
    const std::string text = "[global]\n" + partials_source(o, together.target) + o.combine;
    LoadResult loaded = load_pipeline_text(text, "finalize of " + o.target, builtin_registry());
    Status outcome;
    if (!loaded.pipeline) {
        outcome =
            Error(ErrorKind::Internal, "the stages combining the shards' results do not load:\n" +
                                           loaded.diagnostics.to_string());
    } else {
        StageSpec sink = *o.sink;
        sink.inputs = {"combined"};
        sink.input_outputs = {""};
        loaded.pipeline->stages.push_back(std::move(sink));
        RunContext run;
        outcome = run_pipeline(*loaded.pipeline, run).status;
    }
    std::error_code ec;
    std::filesystem::remove(together.target, ec);
    return outcome;
}

Status write_success(const Output& o) {
    const std::filesystem::path dir = std::filesystem::path(o.target).parent_path();
    const std::string path =
        (dir.empty() ? std::filesystem::path("_SUCCESS") : dir / "_SUCCESS").string();
    std::string text;
    for (const std::string& part : o.parts)
        text += std::filesystem::path(part).filename().string() + "\n";
    Result<OutputFile> f = OutputFile::create(path, nullptr);
    if (!f) return std::move(f).error();
    CONVEYOR_TRY(f->write(text));
    return f->commit();
}

int report(const Error& e) {
    print_err("conveyor: finalize: " + e.to_string() + "\n");
    return exit_code(e.kind);
}

} // namespace

int finalize_outputs(const PipelineSpec& p, std::optional<std::uint32_t> shards, bool keep_parts) {
    std::vector<Output> outputs = outputs_of(p);
    for (Output& o : outputs) {
        std::uint32_t n = shards.value_or(0);
        if (!shards) {
            const std::vector<std::uint32_t> counts = committed_shard_counts(o.target);
            if (counts.size() != 1) {
                print_err(fmt::format("conveyor: finalize: {}: {}: give --shards N\n", o.target,
                                      counts.empty()
                                          ? "no committed parts to count the shards by"
                                          : "committed parts of several shard counts are there"));
                return counts.empty() ? exit_codes::kNoInput : exit_codes::kUsage;
            }
            n = counts.front();
        }
        if (Status s = check_parts(o, n); !s) return report(s.error());
        if (o.partial && !o.whole && keep_parts)
            return report(Error(ErrorKind::Config,
                                fmt::format("the parts hold partial results of '{}' that only "
                                            "finalize without --keep-parts combines",
                                            o.partial->id),
                                o.target));
        if (o.csv_header && o.compressed && !keep_parts)
            return report(Error(ErrorKind::Config,
                                "compressed CSV parts each begin with a header that finalize "
                                "cannot take out: finalize with --keep-parts, or write them "
                                "uncompressed",
                                o.target));
    }
    // Every output checked: now write them.
    for (const Output& o : outputs) {
        Status s = keep_parts ? write_success(o) : o.partial ? combine(o) : concatenate(o);
        if (!s) return report(s.error());
        spdlog::info("finalized {}: {} parts, {} records{}", o.target, o.parts.size(), o.records,
                     keep_parts ? " (parts kept, _SUCCESS written)" : "");
    }
    if (!keep_parts)
        for (const Output& o : outputs)
            remove_parts(o.target);
    return exit_codes::kOk;
}

int cmd_finalize(const FinalizeArgs& args) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    LoadOptions options;
    options.overrides = args.sets;
    Loaded loaded = load(args.file, options);
    if (!loaded.pipeline) return loaded.exit_code;
    return finalize_outputs(*loaded.pipeline, args.shards, args.keep_parts);
}

} // namespace conveyor::cli
