#include "shard_run.hpp"

#include "conveyor/exec/run_lock.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/io/shard_parts.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"
#include "run_command.hpp"
#include "session.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

namespace conveyor::cli {

namespace {

Error usage(std::string message) {
    return Error(ErrorKind::Usage, std::move(message));
}

std::optional<std::uint32_t> parse_count(std::string_view text) {
    std::uint32_t v = 0;
    if (text.empty() || text.size() > 9) return std::nullopt;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
}

/// A TOML basic string holding `text` (for a --set value).
std::string toml_string(const std::string& text) {
    std::string s = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') s += '\\';
        s += c;
    }
    return s + "\"";
}

/// The file sinks of a pipeline loaded as a shard, and where their outputs go.
std::vector<StagedPart> file_sinks(const PipelineSpec& p, ShardId id, const std::string& attempt) {
    std::vector<StagedPart> out;
    for (const StageSpec& st : p.stages) {
        if (!st.descriptor || !st.descriptor->writes_files) continue;
        const OptionValue* path = st.config.find("path");
        if (!path || !path->is_string()) continue;
        StagedPart part;
        part.stage = st.id;
        part.target = path->as_string();
        part.staged = attempt_part_path(part.target, id, attempt);
        part.part = part_path(part.target, id);
        out.push_back(std::move(part));
    }
    return out;
}

Status write_file(const std::string& path, const std::string& text) {
    Result<OutputFile> f = OutputFile::create(path, nullptr);
    if (!f) return std::move(f).error();
    CONVEYOR_TRY(f->write(text));
    return f->commit();
}

/// Writes the manifest of each staged part (creating an empty part for a sink that wrote
/// nothing) with the records its sink took in.
Status write_manifests(StagedShard& staged, const obs::RunStats& stats) {
    for (StagedPart& part : staged.parts) {
        std::error_code ec;
        if (!std::filesystem::exists(part.staged, ec)) CONVEYOR_TRY(write_file(part.staged, ""));
        for (const obs::StageStats& s : stats.stages)
            if (s.id == part.stage) part.records = s.records_in;
        Result<FileDigest> d = digest_file(part.staged);
        if (!d) return std::move(d).error();
        PartManifest m;
        m.shard = staged.shard;
        m.attempt = staged.attempt;
        m.records = part.records;
        m.bytes = d->bytes;
        m.sha256 = d->sha256;
        CONVEYOR_TRY(write_file(manifest_path_of(part.staged), manifest_text(m)));
    }
    return {};
}

/// link(from, to): false when `to` exists.
Result<bool> link_new(const std::string& from, const std::string& to) {
    if (::link(from.c_str(), to.c_str()) == 0) return true;
    if (errno == EEXIST) return false;
    return fail(ErrorKind::CantCreate,
                fmt::format("cannot commit {} as {}: {}", from, to, std::strerror(errno)), to);
}

/// Commits one part; true when this attempt's file became the part.
Result<bool> commit_part(const StagedPart& p) {
    const std::string staged_manifest = manifest_path_of(p.staged);
    const std::string manifest = manifest_path_of(p.part);
    Result<bool> linked = link_new(p.staged, p.part);
    if (!linked) return std::move(linked).error();
    if (!*linked) {
        std::error_code ec;
        if (std::filesystem::exists(manifest, ec)) return false; // another attempt's, whole
        // A part without its manifest: an attempt that stopped between the two links. Its
        // bytes are this attempt's (a shard reads the same records) or something is wrong.
        Result<FileDigest> theirs = digest_file(p.part);
        Result<PartManifest> ours = read_manifest(staged_manifest);
        if (!theirs || !ours || theirs->sha256 != ours->sha256)
            return fail(ErrorKind::CantCreate,
                        "the part is there without its manifest and differs from this "
                        "attempt's; remove it (and run the shard again) to go on",
                        p.part);
    }
    Result<bool> m = link_new(staged_manifest, manifest);
    if (!m) return std::move(m).error();
    return *linked && *m;
}

} // namespace

Result<ShardId> parse_shard(std::string_view text) {
    const std::size_t slash = text.find('/');
    const std::optional<std::uint32_t> i =
        slash == std::string_view::npos ? std::nullopt : parse_count(text.substr(0, slash));
    const std::optional<std::uint32_t> n =
        slash == std::string_view::npos ? std::nullopt : parse_count(text.substr(slash + 1));
    if (!i || !n)
        return fail(usage(fmt::format("--shard {}: expected I/N (shard I of N, counted from 0, "
                                      "e.g. 0/4) or auto",
                                      text)));
    if (*n == 0 || *i >= *n)
        return fail(usage(fmt::format("--shard {}: the shard number must be below the shard "
                                      "count (0/{} to {}/{})",
                                      text, *n, *n == 0 ? 0 : *n - 1, *n)));
    return ShardId{*i, *n};
}

Getenv process_environment() {
    return [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        if (!v) return std::nullopt;
        return std::string(v);
    };
}

Result<std::optional<ShardId>> shard_from_environment(const Getenv& getenv,
                                                      std::optional<std::uint32_t> shards) {
    auto number = [&getenv](const char* name) -> Result<std::optional<std::uint32_t>> {
        const std::optional<std::string> v = getenv(name);
        if (!v) return std::optional<std::uint32_t>();
        const std::optional<std::uint32_t> n = parse_count(*v);
        if (!n) return fail(usage(fmt::format("{}={} is not a shard number", name, *v)));
        return n;
    };
    auto checked = [&shards](ShardId id, const char* from) -> Result<std::optional<ShardId>> {
        if (shards && *shards != id.count)
            return fail(
                usage(fmt::format("{} says {} shards, --shards {}", from, id.count, *shards)));
        if (id.count == 0 || id.index >= id.count)
            return fail(usage(fmt::format("{} gives shard {} of {}: the shard number must be "
                                          "below the count",
                                          from, id.index, id.count)));
        return std::optional<ShardId>(id);
    };
    if (const std::optional<std::string> v = getenv("CONVEYOR_SHARD")) {
        Result<ShardId> id = parse_shard(*v);
        if (!id) return fail(usage("CONVEYOR_SHARD=" + *v + ": expected I/N, e.g. 0/4"));
        return checked(*id, "CONVEYOR_SHARD");
    }
    Result<std::optional<std::uint32_t>> task = number("SLURM_ARRAY_TASK_ID");
    if (!task) return std::move(task).error();
    if (*task) {
        Result<std::optional<std::uint32_t>> lo = number("SLURM_ARRAY_TASK_MIN");
        Result<std::optional<std::uint32_t>> hi = number("SLURM_ARRAY_TASK_MAX");
        if (!lo) return std::move(lo).error();
        if (!hi) return std::move(hi).error();
        const std::uint32_t min = lo->value_or(0);
        if (**task < min)
            return fail(usage(fmt::format("SLURM_ARRAY_TASK_ID={} is below SLURM_ARRAY_TASK_MIN={}",
                                          **task, min)));
        if (!shards && (!*lo || !*hi || **hi < **lo))
            return fail(usage("SLURM_ARRAY_TASK_ID is set, but not SLURM_ARRAY_TASK_MIN and "
                              "_MAX to count the shards: give --shards N"));
        const std::uint32_t count = shards ? *shards : **hi - **lo + 1;
        return checked(ShardId{**task - min, count}, "the Slurm array");
    }
    Result<std::optional<std::uint32_t>> index = number("JOB_COMPLETION_INDEX");
    if (!index) return std::move(index).error();
    if (*index) {
        if (!shards)
            return fail(usage("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job), which "
                              "does not say how many shards there are: give --shards N (the "
                              "Job's completions)"));
        return checked(ShardId{**index, *shards}, "--shards");
    }
    return std::optional<ShardId>();
}

Result<std::optional<ShardId>> shard_of_run(const RunArgs& args) {
    if (args.shard && *args.shard != "auto") {
        if (args.shards) return fail(usage("--shards goes with --shard auto (--shard I/N says N)"));
        Result<ShardId> id = parse_shard(*args.shard);
        if (!id) return std::move(id).error();
        return std::optional<ShardId>(*id);
    }
    if (!args.shard) {
        if (args.shards) return fail(usage("--shards goes with --shard auto"));
        return std::optional<ShardId>();
    }
    Result<std::optional<ShardId>> env = shard_from_environment(process_environment(), args.shards);
    if (!env) return std::move(env).error();
    if (!args.shard) {
        // Without --shard the environment counts only for backend = "auto" (cmd_run loads
        // the pipeline to know); a plain run is not sharded behind the user's back.
        return std::optional<ShardId>();
    }
    if (!*env)
        return fail(usage("--shard auto: none of CONVEYOR_SHARD, SLURM_ARRAY_TASK_ID or "
                          "JOB_COMPLETION_INDEX is set (give --shard I/N)"));
    return env;
}

std::string new_attempt_id() {
    std::random_device rd;
    std::mt19937_64 rng{(static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                        static_cast<std::uint64_t>(::getpid())};
    return fmt::format("{:016x}", rng());
}

namespace {

bool is_safe_attempt(const std::string& attempt) {
    return !attempt.empty() && attempt.size() <= 64 &&
           attempt.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_") == std::string::npos;
}

std::string shard_suffix(ShardId id) {
    return fmt::format(".shard-{:05}-of-{:05}", id.index, id.count);
}

/// The attempt a `conveyor run --shard` without --attempt runs under (see stage_shard), and
/// the file that keeps it; an error when that file cannot be written.
Result<std::pair<std::string, std::string>>
remembered_attempt(const RunArgs& args, const PipelineSpec& pipeline, ShardId id) {
    PipelineSpec shard = pipeline;
    shard.name += shard_suffix(id);
    const std::string dir = state_dir_for(shard);
    const std::string file = dir + "/" + state_file_stem(shard) + ".attempt";
    if (args.resume) {
        std::ifstream in(file);
        std::string kept;
        if (in && std::getline(in, kept) && is_safe_attempt(kept)) return std::pair{kept, file};
    }
    std::string attempt = new_attempt_id();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    CONVEYOR_TRY(write_file(file, attempt + "\n"));
    return std::pair{attempt, file};
}

} // namespace

StagingOutcome stage_shard(const RunArgs& args, const LoadOptions& options, ShardId id,
                           std::string attempt) {
    StagingOutcome out;
    const bool safe = attempt.empty() || is_safe_attempt(attempt);
    if (!safe) {
        print_err(fmt::format("conveyor: --attempt {}: use letters, digits, - and _ (at most "
                              "64)\n",
                              attempt));
        out.exit_code = exit_codes::kUsage;
        return out;
    }
    LoadOptions sharded = options;
    sharded.shard = id;
    // Loaded once to find the file sinks, then again with their paths pointing at this
    // attempt's parts, validated like any --set.
    Loaded first = load(args.file, sharded);
    if (!first.pipeline) {
        out.exit_code = first.exit_code;
        return out;
    }
    std::string attempt_file;
    if (attempt.empty()) {
        auto chosen = remembered_attempt(args, *first.pipeline, id);
        if (!chosen) {
            print_err("conveyor: error: " + chosen.error().to_string() + "\n");
            out.exit_code = exit_code(chosen.error().kind);
            return out;
        }
        attempt = chosen->first;
        attempt_file = chosen->second;
    }
    StagedShard staged{id, attempt, file_sinks(*first.pipeline, id, attempt), attempt_file};
    for (const StagedPart& p : staged.parts)
        sharded.overrides.push_back(
            fmt::format("stages.{}.path={}", p.stage, toml_string(p.staged)));
    Loaded loaded = load(args.file, sharded);
    if (!loaded.pipeline) {
        out.exit_code = loaded.exit_code;
        return out;
    }
    // Its own journal and spill files: other shards run beside it (a second attempt of the
    // same shard on this machine finds the journal taken and runs without one).
    loaded.pipeline->name += shard_suffix(id);
    obs::RunStats stats;
    out.exit_code = run_loaded(args, *loaded.pipeline, sharded, &stats);
    if (out.exit_code != exit_codes::kOk && out.exit_code != exit_codes::kCompletedWithFailures) {
        out.error = stats.error.value_or("");
        discard_staged(staged);
        return out;
    }
    if (Status s = write_manifests(staged, stats); !s) {
        print_err("conveyor: error: " + s.error().to_string() + "\n");
        discard_staged(staged);
        out.exit_code = exit_code(s.error().kind);
        return out;
    }
    out.staged = std::move(staged);
    return out;
}

Result<CommitOutcome> commit_staged(const StagedShard& staged) {
    bool ours = false;
    for (const StagedPart& p : staged.parts) {
        Result<bool> committed = commit_part(p);
        if (!committed) return std::move(committed).error();
        ours = ours || *committed;
    }
    discard_staged(staged);
    if (!staged.attempt_file.empty()) {
        std::error_code ec;
        std::filesystem::remove(staged.attempt_file, ec);
    }
    // An attempt with no file sink at all commits nothing and loses nothing.
    return ours || staged.parts.empty() ? CommitOutcome::Committed
                                        : CommitOutcome::AlreadyCommitted;
}

void discard_staged(const StagedShard& staged) {
    std::error_code ec;
    for (const StagedPart& p : staged.parts) {
        std::filesystem::remove(p.staged, ec);
        std::filesystem::remove(manifest_path_of(p.staged), ec);
    }
}

int run_shard(const RunArgs& args, const LoadOptions& options, ShardId id) {
    StagingOutcome staged = stage_shard(args, options, id, args.attempt.value_or(""));
    if (!staged.staged) return staged.exit_code;
    Result<CommitOutcome> committed = commit_staged(*staged.staged);
    if (!committed) {
        print_err("conveyor: error: " + committed.error().to_string() + "\n");
        discard_staged(*staged.staged);
        return exit_code(committed.error().kind);
    }
    const std::string& attempt = staged.staged->attempt;
    if (*committed == CommitOutcome::AlreadyCommitted)
        spdlog::info("shard {}/{} was already committed by another attempt: this attempt's "
                     "output ({}) was discarded",
                     id.index, id.count, attempt);
    else
        spdlog::debug("shard {}/{} committed (attempt {})", id.index, id.count, attempt);
    return staged.exit_code;
}

} // namespace conveyor::cli
