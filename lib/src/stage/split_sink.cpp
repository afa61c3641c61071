#include "conveyor/stage/split_sink.hpp"

#include "conveyor/core/batch.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/build_context.hpp"
#include "conveyor/stage/emitter.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <list>
#include <map>
#include <spdlog/spdlog.h>
#include <string_view>
#include <sys/resource.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace conveyor {

OptionTable<SinkSplitting> sink_splitting_options() {
    return OptionTable<SinkSplitting>()
        .add("max_records_per_file", &SinkSplitting::max_records_per_file,
             {.description = "Roll to the next file once one holds this many records: the path "
                             "gets a part number before its extension (out/data.csv: "
                             "out/data-00001.csv, out/data-00002.csv, ...; with {{ field }} "
                             "placeholders, numbered per value).",
              .min = 1})
        .add("max_bytes_per_file", &SinkSplitting::max_bytes_per_file,
             {.description = "Roll to the next file once one holds this many bytes of text "
                             "(before compression); a file ends at a batch of records, so it "
                             "may hold a little more. Named as with max_records_per_file.",
              .min = 1})
        .add("max_open_files", &SinkSplitting::max_open_files,
             {.description = "With {{ field }} placeholders in path (or rolling files): at most "
                             "this many files are open at once; the one written least recently "
                             "is closed and opened again when its value comes back, so any "
                             "number of distinct values works.",
              .min = 1,
              .max = 65536});
}

std::optional<SplitPlan> SplitPlan::from(BuildContext& ctx, const std::string& path,
                                         const SinkSplitting& options) {
    const bool placeholders = path.find("{{") != std::string::npos;
    if (!placeholders && !options.max_records_per_file && !options.max_bytes_per_file) {
        if (ctx.options().given("max_open_files"))
            ctx.warning("max_open_files", "max_open_files only matters when the output is split "
                                          "({{ field }} in path, max_records_per_file or "
                                          "max_bytes_per_file)");
        return std::nullopt;
    }
    if (path == "-") {
        ctx.error(placeholders ? "path" : "max_records_per_file",
                  "standard output cannot be split into files; give a file path");
        return std::nullopt;
    }
    SplitPlan plan;
    plan.path = path;
    plan.max_records = static_cast<std::uint64_t>(options.max_records_per_file.value_or(0));
    plan.max_bytes = static_cast<std::uint64_t>(options.max_bytes_per_file.value_or(0));
    plan.max_open = static_cast<std::size_t>(options.max_open_files);
    if (placeholders) {
        auto tpl = net::Template::parse(path);
        if (!tpl) {
            ctx.error("path", tpl.error().message);
            return std::nullopt;
        }
        // The file's name must come out of the template: a path that is only a directory
        // ("out/{{ country }}/") names no file.
        if (path.ends_with('/')) {
            ctx.error("path", "path names a directory; end it with a file name, e.g. "
                              "out/{{ country }}/data.csv");
            return std::nullopt;
        }
        plan.by = std::move(*tpl);
    }
    return plan;
}

std::string SplitPlan::numbered(const std::string& path, std::uint64_t part) {
    const std::size_t slash = path.rfind('/');
    const std::size_t name = slash == std::string::npos ? 0 : slash + 1;
    // The first '.' after the name's first character: `data.csv.gz` -> `data` + `.csv.gz`.
    std::size_t dot = path.find('.', name + 1);
    if (dot == std::string::npos) dot = path.size();
    return fmt::format("{}-{:05}{}", path.substr(0, dot), part, path.substr(dot));
}

namespace {

/// One file being written (or a value whose current file is).
struct Target {
    std::string base;                 ///< the rendered path, before any part number
    std::uint64_t part = 0;           ///< 1-based when rolling, else 0
    std::uint64_t records = 0;        ///< routed to the current file
    std::uint64_t metrics_bytes = 0;  ///< bytes its writer wrote to the current file
    std::unique_ptr<Operator> writer; ///< null between files (rolled, not reopened yet)
    std::unique_ptr<StageMetrics> metrics;
    bool open = false;                ///< holds a descriptor (is in the LRU list)
    std::list<Target*>::iterator lru; ///< valid while open
    std::size_t group = 0;            ///< index into the batch's groups
    std::uint64_t group_epoch = 0;
};

/// `max_open` lowered to what the descriptor limit (ulimit -n) leaves when the sink opens:
/// half of the descriptors not in use then (the rest for other sinks, inputs, spill files and
/// sockets), at least one. With the default 128 under `ulimit -n 64` the sink failed with
/// "Too many open files" after a few dozen values.
std::size_t within_descriptor_limit(std::size_t max_open, std::string_view stage) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return max_open;
    std::size_t in_use = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++in_use;
    if (ec) return max_open;
    const std::size_t free = limit.rlim_cur > in_use ? limit.rlim_cur - in_use : 0;
    const std::size_t fits = std::max<std::size_t>(1, free / 2);
    if (fits >= max_open) return max_open;
    spdlog::debug("stage '{}': at most {} files open at once instead of max_open_files = {} "
                  "(ulimit -n {}, {} descriptors in use)",
                  stage, fits, max_open, limit.rlim_cur, in_use);
    return fits;
}

class SplitSinkOperator final : public Operator {
public:
    SplitSinkOperator(const SplitPlan& plan, const OpenContext& ctx, OpenFileWriter open_file)
        : plan_(plan), ctx_(ctx), stage_id_(ctx.stage_id), metrics_(ctx.metrics),
          open_file_(std::move(open_file)),
          input_schemas_(ctx.input_schemas.begin(), ctx.input_schemas.end()),
          input_schemas_fixed_(std::make_unique<bool[]>(ctx.input_schemas_fixed.size())) {
        std::copy(ctx.input_schemas_fixed.begin(), ctx.input_schemas_fixed.end(),
                  input_schemas_fixed_.get());
        // What the context points to lives only as long as open(): the files are opened later.
        ctx_.stage_id = stage_id_;
        ctx_.input_schemas = input_schemas_;
        ctx_.input_schemas_fixed =
            std::span<const bool>(input_schemas_fixed_.get(), ctx.input_schemas_fixed.size());
        ctx_.named_outputs_read = {};
        ctx_.resume.reset();
        plan_.max_open = within_descriptor_limit(plan_.max_open, stage_id_);
    }

    Status push(std::size_t, Batch&& batch, Emitter& em) override {
        const std::size_t rows = batch.rows();
        if (rows == 0) return {};
        // Every row's file first: a row whose value cannot name a file fails the batch
        // before any of it is written (like a format error in one file's writer).
        row_target_.assign(rows, nullptr);
        for (std::size_t r = 0; r < rows; ++r) {
            auto t = target_for(batch, r);
            if (!t) {
                if (metrics_) metrics_->records_failed.fetch_add(rows, std::memory_order_relaxed);
                return fail(Error(t.error()).in_stage(std::string(stage_id_)));
            }
            row_target_[r] = *t;
        }
        ++epoch_;
        groups_.clear();
        for (std::size_t r = 0; r < rows; ++r) {
            Target& t = *row_target_[r];
            if (t.group_epoch != epoch_) {
                t.group_epoch = epoch_;
                t.group = groups_.size();
                groups_.push_back({&t, {}});
            }
            groups_[t.group].rows.push_back(static_cast<std::uint32_t>(r));
            if (plan_.max_records && ++t.records == plan_.max_records) {
                // This file is full: write what it gets of this batch, then the next one.
                CONVEYOR_TRY(write_group(groups_[t.group], batch, em));
                CONVEYOR_TRY(close_file(t, em));
            }
        }
        for (Group& g : groups_)
            if (!g.rows.empty()) CONVEYOR_TRY(write_group(g, batch, em));
        return {};
    }

    /// Takes up the files a checkpoint of the killed run names (see make_split_sink): the
    /// rolled files finished before it (temporary files of the runs in "pids", found by their
    /// names) and the one being written.
    Status restore(std::string_view text) {
        const std::string start_over = " (`conveyor run --fresh` starts the run over)";
        auto bad = [&](const std::string& why) {
            return fail(ErrorKind::Runtime,
                        "cannot resume the split output from its checkpoint: " + why + start_over,
                        plan_.path);
        };
        json::Parser parser;
        Arena arena;
        Result<Value> doc = parser.parse(text, arena);
        if (!doc || doc->kind() != Kind::Object) return bad("its state is not JSON");
        auto number = [&](std::string_view key) -> std::optional<std::uint64_t> {
            const Value* v = doc->find(key);
            if (!v || v->kind() != Kind::Int || v->as_int() < 0) return std::nullopt;
            return static_cast<std::uint64_t>(v->as_int());
        };
        const Value* split = doc->find("split");
        const Value* pids = doc->find("pids");
        const auto files = number("files");
        const auto part = number("part");
        const auto records = number("records");
        const auto bytes = number("bytes");
        if (plan_.by || !split || !split->is_string() || split->as_string() != plan_.path ||
            !pids || pids->kind() != Kind::Array || !files || !part || !records || !bytes)
            return bad("the checkpoint is not this output's");
        for (const Value& pid : pids->as_array())
            if (pid.kind() == Kind::Int) pids_.push_back(pid.as_int());
        const Value* writer = doc->find("writer");
        const bool open = writer && writer->is_string();

        // The finished parts: 1 .. part - 1, and `part` too when no file was open.
        const std::uint64_t finished = open ? *part - 1 : *part;
        const std::filesystem::path dir = std::filesystem::path(plan_.path).parent_path();
        std::map<std::string, std::string> in_dir; // file name -> path, to look up by prefix
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec))
            in_dir.emplace(e.path().filename().string(), e.path().string());
        for (std::uint64_t n = 1; n <= finished; ++n) {
            const std::string target = SplitPlan::numbered(plan_.path, n);
            std::string file;
            for (const std::int64_t pid : pids_) {
                const std::string prefix = OutputFile::temporary_name_prefix(target, pid);
                if (auto it = in_dir.lower_bound(prefix);
                    it != in_dir.end() && it->first.starts_with(prefix))
                    file = it->second;
            }
            if (file.empty())
                return fail(ErrorKind::CantCreate,
                            "the file finished before the interruption is gone, so the run "
                            "cannot carry on from its checkpoint" +
                                start_over,
                            target);
            adopted_.insert(std::filesystem::path(file).filename().string());
            if (ctx_.run) {
                ctx_.run->temp_files().add(file);
                ctx_.run->finished_outputs().add(file, target, false);
            }
        }
        if (open) {
            Result<Value> state = parser.parse(writer->as_string(), arena);
            const Value* file =
                state && state->kind() == Kind::Object ? state->find("file") : nullptr;
            if (!file || !file->is_string()) return bad("its writer's state names no file");
            adopted_.insert(
                std::filesystem::path(std::string(file->as_string())).filename().string());
        }
        auto t = target_named(plan_.path);
        if (!t) return std::move(t).error();
        Target& target = **t;
        single_ = &target;
        target.part = *part;
        files_ = *files;
        if (!open) return {}; // the next record starts the next part
        target.records = *records;
        target.metrics_bytes = *bytes;
        OpenContext c = ctx_;
        c.metrics = target.metrics.get();
        c.resume = std::string(writer->as_string());
        auto w = open_file_(SplitPlan::numbered(target.base, target.part), c);
        if (!w) return std::move(w).error();
        target.writer = std::move(*w);
        return ensure_writer(target);
    }

    /// A split by size or record count (one series of files, no placeholders): the part being
    /// written and its writer's own checkpoint, and the processes whose temporary files hold
    /// the parts finished so far (made durable with `cp`). A split by value takes no
    /// checkpoints (its state would grow with the number of values).
    Result<std::string> checkpoint(const Checkpoint& cp) override {
        std::string out = "{\"split\":";
        json::append_string(out, plan_.path);
        out += fmt::format(",\"files\":{},\"pids\":[", files_);
        for (const std::int64_t pid : pids_)
            out += std::to_string(pid) + ",";
        out += std::to_string(::getpid()) + "]";
        if (Target* t = single_) {
            out += fmt::format(",\"part\":{},\"records\":{},\"bytes\":{}", t->part, t->records,
                               t->metrics_bytes);
            if (t->writer) {
                Result<std::string> w = t->writer->checkpoint(cp);
                absorb(*t);
                if (!w) return std::move(w).error();
                out += ",\"writer\":";
                json::append_string(out, *w);
            }
        } else {
            out += ",\"part\":0,\"records\":0,\"bytes\":0";
        }
        if (cp.durable && ctx_.run) CONVEYOR_TRY(ctx_.run->finished_outputs().make_durable());
        return out + "}";
    }

    Status finish(Emitter& em) override {
        // A split output with no record at all still gets its (empty) first file when its name
        // does not depend on the records.
        if (targets_.empty() && !plan_.by) {
            auto t = target_named(plan_.path);
            if (!t) return std::move(t).error();
            CONVEYOR_TRY(ensure_writer(**t));
        }
        for (auto& [key, t] : targets_)
            if (t.writer) CONVEYOR_TRY(close_file(t, em));
        spdlog::info("stage '{}': {} file{} written{}", stage_id_, files_, files_ == 1 ? "" : "s",
                     plan_.by ? fmt::format(" for {} distinct value{} of {}", targets_.size(),
                                            targets_.size() == 1 ? "" : "s", plan_.path)
                              : std::string());
        return {};
    }

    void abort() noexcept override {
        for (auto& [key, t] : targets_)
            if (t.writer) t.writer->abort();
    }

    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> timer() const override {
        std::optional<std::chrono::steady_clock::time_point> first;
        for (const Target* t : lru_)
            if (auto at = t->writer->timer(); at && (!first || *at < *first)) first = at;
        return first;
    }

    Status on_timer(Emitter& em) override {
        const auto now = std::chrono::steady_clock::now();
        for (Target* t : lru_) {
            if (auto at = t->writer->timer(); at && *at <= now) {
                CONVEYOR_TRY(t->writer->on_timer(em));
                absorb(*t);
            }
        }
        return {};
    }

private:
    struct Group {
        Target* target;
        std::vector<std::uint32_t> rows;
    };

    Result<Target*> target_for(const Batch& batch, std::size_t r) {
        if (!plan_.by) {
            if (!single_) {
                auto t = target_named(plan_.path);
                if (!t) return t;
                single_ = *t;
            }
            return single_;
        }
        if (bound_schema_ != batch.schema_ref().get()) {
            bound_ = net::BoundTemplate(*plan_.by, batch.schema());
            bound_schema_ = batch.schema_ref().get();
            bound_keep_ = batch.schema_ref();
        }
        key_.clear();
        CONVEYOR_TRY(bound_.render(batch.row(r), net::Escape::FileName, key_));
        if (auto it = targets_.find(key_); it != targets_.end()) return &it->second;
        return target_named(key_);
    }

    Result<Target*> target_named(const std::string& base) {
        Target& t = targets_[base];
        t.base = base;
        t.metrics = std::make_unique<StageMetrics>(stage_id_);
        // The directory's stale temporary files (a killed run's) are removed once, when the
        // first file goes there, but those a resumed run took up again.
        std::filesystem::path dir = std::filesystem::path(base).parent_path();
        if (dirs_seen_.insert(dir.string()).second)
            OutputFile::remove_stale_temporaries_in(dir.string(), adopted_);
        return &t;
    }

    /// The current file of `t`, opened (or taken up again) and made the most recently used.
    Status ensure_writer(Target& t) {
        if (!t.writer) {
            const bool rolling = plan_.max_records || plan_.max_bytes;
            if (rolling) ++t.part;
            OpenContext c = ctx_;
            c.metrics = t.metrics.get();
            auto w = open_file_(rolling ? SplitPlan::numbered(t.base, t.part) : t.base, c);
            if (!w) return std::move(w).error();
            t.writer = std::move(*w);
            ++files_;
        }
        if (t.open) {
            lru_.splice(lru_.begin(), lru_, t.lru);
            return {};
        }
        while (lru_.size() >= plan_.max_open) {
            Target* old = lru_.back();
            lru_.pop_back();
            old->open = false;
            CONVEYOR_TRY(old->writer->suspend());
            absorb(*old);
        }
        lru_.push_front(&t);
        t.lru = lru_.begin();
        t.open = true;
        return {};
    }

    Status write_group(Group& g, const Batch& batch, Emitter& em) {
        Target& t = *g.target;
        if (Status opened = ensure_writer(t); !opened) {
            if (metrics_)
                metrics_->records_failed.fetch_add(g.rows.size(), std::memory_order_relaxed);
            g.rows.clear();
            return opened;
        }
        Batch part(batch.schema_ref(), g.rows.size());
        part.share_storage_of(const_cast<Batch&>(batch));
        for (const std::uint32_t r : g.rows)
            part.append_row(batch.row(r));
        g.rows.clear();
        Status s = t.writer->push(0, std::move(part), em);
        absorb(t);
        CONVEYOR_TRY(std::move(s));
        if (plan_.max_bytes && t.metrics_bytes >= plan_.max_bytes) return close_file(t, em);
        return {};
    }

    /// Commits `t`'s current file; the next record for it starts the next one.
    Status close_file(Target& t, Emitter& em) {
        if (!t.writer) return {};
        if (t.open) {
            lru_.erase(t.lru);
            t.open = false;
        }
        Status s = t.writer->finish(em);
        absorb(t);
        t.writer.reset();
        t.records = 0;
        t.metrics_bytes = 0;
        return s;
    }

    /// Moves what `t`'s writer counted into the stage's metrics.
    void absorb(Target& t) {
        const std::uint64_t bytes = t.metrics->bytes_written.exchange(0);
        t.metrics_bytes += bytes;
        if (!metrics_) return;
        metrics_->bytes_written.fetch_add(bytes, std::memory_order_relaxed);
        metrics_->records_failed.fetch_add(t.metrics->records_failed.exchange(0),
                                           std::memory_order_relaxed);
        metrics_->records_filtered.fetch_add(t.metrics->records_filtered.exchange(0),
                                             std::memory_order_relaxed);
    }

    SplitPlan plan_;
    OpenContext ctx_;
    std::string stage_id_;
    StageMetrics* metrics_;
    OpenFileWriter open_file_;
    std::vector<SchemaRef> input_schemas_;
    std::unique_ptr<bool[]> input_schemas_fixed_;
    std::unordered_map<std::string, Target> targets_;
    Target* single_ = nullptr;
    std::list<Target*> lru_; ///< open files, most recently written first
    std::unordered_set<std::string> dirs_seen_;
    std::unordered_set<std::string> adopted_; ///< names of a killed run's files taken up again
    /// Earlier (killed) runs of this output whose temporary files hold finished parts.
    std::vector<std::int64_t> pids_;
    std::vector<Target*> row_target_;
    std::vector<Group> groups_;
    std::uint64_t epoch_ = 0;
    std::uint64_t files_ = 0;
    net::BoundTemplate bound_;
    const Schema* bound_schema_ = nullptr;
    SchemaRef bound_keep_;
    std::string key_;
};

/// A placeholder that no column of a fixed input (a CSV header) gives would fail every record
/// of that input: a configuration error before any is read, with a did-you-mean.
Status check_placeholders(const SplitPlan& plan, const OpenContext& ctx) {
    if (!plan.by) return {};
    for (std::size_t i = 0; i < ctx.input_schemas.size(); ++i) {
        const SchemaRef& in = ctx.input_schemas[i];
        if (!in || i >= ctx.input_schemas_fixed.size() || !ctx.input_schemas_fixed[i]) continue;
        const std::vector<std::string> missing = plan.by->names_missing_from(*in);
        if (missing.empty()) continue;
        const std::string& name = missing.front();
        return fail(ErrorKind::Config,
                    fmt::format("path: {{{{ {} }}}}: field '{}' is not in the input (columns: "
                                "{}){}",
                                name, name, fmt::join(in->names(), ", "),
                                did_you_mean(name, in->names())));
    }
    return {};
}

} // namespace

Result<std::unique_ptr<Operator>> make_split_sink(const SplitPlan& plan, const OpenContext& ctx,
                                                  OpenFileWriter open_file) {
    CONVEYOR_TRY(check_placeholders(plan, ctx));
    auto op = std::make_unique<SplitSinkOperator>(plan, ctx, std::move(open_file));
    if (ctx.resume) CONVEYOR_TRY(op->restore(*ctx.resume));
    return std::unique_ptr<Operator>(std::move(op));
}

Result<OpenedStage> open_split_stage(const SplitPlan& plan, bool append, const OpenContext& ctx,
                                     OpenFileWriter open_file) {
    auto split = make_split_sink(plan, ctx, std::move(open_file));
    if (!split) return std::move(split).error();
    OpenedStage opened(std::move(*split), nullptr);
    opened.checkpoints = !plan.by && !append;
    return opened;
}

} // namespace conveyor
