#include "conveyor/stage/file_sequence.hpp"

#include "conveyor/core/fnv1a.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/io/file_glob.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/checkpoint_text.hpp"

#include <fmt/format.h>
#include <utility>
#include <vector>

namespace conveyor {

namespace {

/// Checkpoint values hold no spaces: bytes outside printable ASCII, `%`, `=` and spaces
/// become %XX.
std::string encode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b >= 0x7f || c == '%' || c == '=')
            out += fmt::format("%{:02X}", b);
        else
            out += c;
    }
    return out;
}

std::optional<std::string> decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        unsigned value = 0;
        for (std::size_t k = 1; k <= 2; ++k) {
            if (i + k >= text.size()) return std::nullopt;
            const char h = text[i + k];
            value *= 16;
            if (h >= '0' && h <= '9')
                value += static_cast<unsigned>(h - '0');
            else if (h >= 'A' && h <= 'F')
                value += static_cast<unsigned>(h - 'A' + 10);
            else
                return std::nullopt;
        }
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

/// FNV-1a of the names of files[0, end): a resumed run checks that the files before the one it
/// continues in are the ones the interrupted run had read.
std::uint64_t names_checksum(const std::vector<MatchedFile>& files, std::size_t end) {
    std::uint64_t h = kFnv1aBasis;
    for (std::size_t i = 0; i < end; ++i)
        h = fnv1a(std::string_view("\0", 1), fnv1a(files[i].path, h)); // each name, then a zero
    return h;
}

/// The position of a sequence: which file, and where in it (its own stage's position).
struct SequencePosition {
    static constexpr std::string_view kTag = "files1";

    std::uint64_t file = 0;
    std::uint64_t before = 0;
    std::string name;
    std::string inner;

    [[nodiscard]] std::string to_text() const {
        return fmt::format("{} file={} before={:016x} name={} inner={}", kTag, file, before,
                           encode(name), encode(inner));
    }

    static Result<SequencePosition> parse(std::string_view text) {
        auto t = CheckpointText::parse(text, kTag, {"file", "before", "name", "inner"},
                                       "a position in the files of a glob");
        if (!t) return std::move(t).error();
        SequencePosition p;
        Result<std::uint64_t> file = t->number("file");
        if (!file) return std::move(file).error();
        Result<std::uint64_t> before = t->number("before", 16);
        if (!before) return std::move(before).error();
        p.file = *file;
        p.before = *before;
        std::optional<std::string> name = decode(t->get("name"));
        std::optional<std::string> inner = decode(t->get("inner"));
        if (!name || !inner) return t->bad("a name or position is not percent-encoded");
        p.name = std::move(*name);
        p.inner = std::move(*inner);
        return p;
    }
};

class FileSequenceSource final : public SourceOperator {
public:
    FileSequenceSource(std::string pattern, std::vector<MatchedFile> files, const OpenContext& ctx,
                       FileStageFactory make, std::uint64_t total_bytes)
        : pattern_(std::move(pattern)), files_(std::move(files)), ctx_(ctx), make_(std::move(make)),
          total_bytes_(total_bytes) {
        ctx_.resume.reset();
    }

    ~FileSequenceSource() override {
        inner_.reset(); // before the stage it came from
    }

    /// Opens file `index` (continuing at `resume`, that file's own position), then skips files
    /// without records while more follow, so that the initial schema is a real one.
    Status start(std::size_t index, std::optional<std::string> resume) {
        if (files_.empty()) return {};
        CONVEYOR_TRY(open_at(index, std::move(resume)));
        while (!has_schema() && index_ + 1 < files_.size())
            CONVEYOR_TRY(open_at(index_ + 1, std::nullopt));
        return {};
    }

    [[nodiscard]] const SchemaRef& schema() const noexcept { return schema_; }
    [[nodiscard]] bool fixed() const noexcept { return fixed_; }
    /// Whether the files opened so far take checkpoints (the first one says for all).
    [[nodiscard]] bool checkpoints() const noexcept { return checkpoints_; }

    Result<bool> next(Emitter& out) override {
        if (!inner_) return false; // no files
        Result<bool> more = inner_->next(out);
        if (!more || *more) return more;
        // The last file stays open: its position is the sequence's at the end. A stop ends the
        // input where it is, as in one file: the next file is not opened.
        if (index_ + 1 >= files_.size() || (ctx_.run && ctx_.run->stop_requested())) return false;
        CONVEYOR_TRY(open_at(index_ + 1, std::nullopt));
        return true;
    }

    void abort() noexcept override {
        if (inner_) inner_->abort();
    }

    Result<std::string> checkpoint(const Checkpoint& cp) override {
        SequencePosition p;
        p.file = index_;
        p.before = names_checksum(files_, index_);
        if (inner_) {
            p.name = files_[index_].path;
            Result<std::string> inner = inner_->checkpoint(cp);
            if (!inner) return std::move(inner).error();
            p.inner = std::move(*inner);
        }
        return p.to_text();
    }

    /// The file and its position where a checkpoint of an earlier run over the same files
    /// says to continue; a Config error (the run starts over) when the files changed.
    Result<std::pair<std::size_t, std::string>> resume_point(std::string_view text) const {
        Result<SequencePosition> parsed = SequencePosition::parse(text);
        if (!parsed) {
            Error e = std::move(parsed).error();
            e.where = pattern_;
            return e;
        }
        const SequencePosition& p = *parsed;
        auto refuse = [&](const std::string& why) {
            return fail(CheckpointText::refuse(p.to_text(), why, pattern_));
        };
        if (files_.empty()) {
            if (p.file != 0 || !p.name.empty())
                return refuse("it names a file, and this shard has no files of the pattern now");
            return std::pair<std::size_t, std::string>{0, ""};
        }
        if (p.file >= files_.size() || files_[p.file].path != p.name ||
            names_checksum(files_, p.file) != p.before)
            return refuse(fmt::format("the files it matches changed: the interrupted run was "
                                      "reading {}, file {} of the list",
                                      p.name, p.file + 1));
        // Progress goes on from the files read before this one.
        if (ctx_.metrics) {
            std::uint64_t before = 0;
            for (std::size_t i = 0; i < p.file; ++i)
                before += files_[i].size;
            ctx_.metrics->bytes_read.fetch_add(before, std::memory_order_relaxed);
        }
        return std::pair<std::size_t, std::string>{static_cast<std::size_t>(p.file), p.inner};
    }

private:
    [[nodiscard]] bool has_schema() const noexcept { return schema_ && schema_->size() > 0; }

    Status open_at(std::size_t index, std::optional<std::string> resume) {
        const std::string& path = files_[index].path;
        OpenContext ctx = ctx_;
        ctx.resume = std::move(resume);
        std::unique_ptr<Stage> stage = make_(path);
        Result<OpenedStage> opened = stage->open(ctx);
        if (!opened) return std::move(opened).error();
        auto* source = std::get_if<std::unique_ptr<SourceOperator>>(&opened->op);
        if (!source || !*source)
            return Error(ErrorKind::Internal, "a file of a glob did not open as a source", path);
        if (opened->fixed_schema) CONVEYOR_TRY(check_columns(path, opened->initial_schema));
        if (!first_) {
            first_ = true;
            checkpoints_ = checkpoints_ && opened->checkpoints;
        }
        if (!has_schema()) {
            schema_ = opened->initial_schema;
            fixed_ = opened->fixed_schema;
        }
        inner_.reset();
        stage_ = std::move(stage);
        inner_ = std::move(*source);
        index_ = index;
        // The file's own open counted its size as the whole.
        if (ctx_.metrics) ctx_.metrics->bytes_total.store(total_bytes_);
        return {};
    }

    /// A file with a fixed schema (a CSV header) must give the columns of the first such file.
    Status check_columns(const std::string& path, const SchemaRef& schema) {
        if (!columns_) {
            columns_ = schema;
            columns_from_ = path;
            return {};
        }
        const std::vector<std::string>& want = columns_->names();
        const std::vector<std::string>& have = schema->names();
        if (want == have) return {};
        std::string what;
        if (want.size() != have.size()) {
            what = fmt::format("it has {} column{}, {} has {}", have.size(),
                               have.size() == 1 ? "" : "s", columns_from_, want.size());
        } else {
            for (std::size_t i = 0; i < want.size(); ++i)
                if (want[i] != have[i]) {
                    what = fmt::format("column {} is '{}', in {} it is '{}'", i + 1, have[i],
                                       columns_from_, want[i]);
                    break;
                }
        }
        return Error(ErrorKind::Data,
                     fmt::format("the header does not give the columns of the files before it "
                                 "({}: {}); every file of {} must have the same columns ({})",
                                 columns_from_, fmt::join(want, ", "), pattern_, what),
                     path);
    }

    std::string pattern_;
    std::vector<MatchedFile> files_;
    OpenContext ctx_;
    FileStageFactory make_;
    std::uint64_t total_bytes_ = 0;
    std::unique_ptr<Stage> stage_;
    std::unique_ptr<SourceOperator> inner_;
    std::size_t index_ = 0;
    SchemaRef schema_;
    bool fixed_ = false;
    bool first_ = false;
    bool checkpoints_ = true;
    SchemaRef columns_; ///< the first fixed schema, and the file it came from
    std::string columns_from_;
};

} // namespace

Result<OpenedStage> open_file_sequence(const std::string& path, std::optional<ShardId> files_of,
                                       const OpenContext& ctx, const FileStageFactory& make) {
    std::vector<MatchedFile> files;
    if (is_glob(path)) {
        Result<std::vector<MatchedFile>> matched = expand_glob(path);
        if (!matched) return std::move(matched).error();
        files = std::move(*matched);
    } else {
        // One file: missing or unreadable, it fails as it always did.
        Result<InputFile> one = InputFile::open(path, ctx.run);
        if (!one) return std::move(one).error();
        files.push_back({path, one->size().value_or(0)});
    }
    if (files_of) {
        std::vector<MatchedFile> mine;
        for (const std::size_t i : files_of_shard(files, *files_of))
            mine.push_back(std::move(files[i]));
        files = std::move(mine);
    }
    // A checkpoint needs every file readable again from a position: one compressed file (or
    // anything else that is not) turns them off for the whole sequence.
    bool seekable = true;
    std::uint64_t total = 0;
    std::optional<std::pair<std::string, Compression>> unseekable;
    for (const MatchedFile& f : files) {
        Result<InputFile> probe = InputFile::open(f.path, ctx.run);
        if (!probe) return std::move(probe).error();
        total += probe->progress_size().value_or(0);
        if (!probe->seekable() && !unseekable) {
            seekable = false;
            unseekable.emplace(f.path, probe->compression());
        }
    }
    if (ctx.metrics) ctx.metrics->bytes_total.store(total);
    if (ctx.resume && unseekable)
        return fail(CheckpointText::not_resumable(false, unseekable->first, ctx.stage_id,
                                                  unseekable->second));

    auto source = std::make_unique<FileSequenceSource>(path, std::move(files), ctx, make, total);
    std::size_t first = 0;
    std::optional<std::string> inner;
    if (ctx.resume) {
        auto at = source->resume_point(*ctx.resume);
        if (!at) return std::move(at).error().in_stage(ctx.stage_id);
        first = at->first;
        if (!at->second.empty()) inner = std::move(at->second);
    }
    CONVEYOR_TRY(source->start(first, std::move(inner)));
    SchemaRef schema = source->schema();
    const bool fixed = source->fixed();
    const bool checkpoints = seekable && source->checkpoints();
    OpenedStage opened(std::unique_ptr<SourceOperator>(std::move(source)), std::move(schema));
    opened.fixed_schema = fixed;
    opened.checkpoints = checkpoints;
    return opened;
}

} // namespace conveyor
