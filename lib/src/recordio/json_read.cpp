#include "conveyor/recordio/json_read.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/io/file_glob.hpp"
#include "conveyor/io/followed_file.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/io/record_ranges.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/json_batch_builder.hpp"
#include "conveyor/recordio/json_chunks.hpp"
#include "conveyor/recordio/json_splitter.hpp"
#include "conveyor/stage/checkpoint_text.hpp"
#include "conveyor/stage/chunked_source.hpp"
#include "conveyor/stage/file_sequence.hpp"
#include "conveyor/stage/following_source.hpp"
#include "conveyor/stage/shard_filter.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fmt/format.h>
#include <optional>
#include <tuple>

namespace conveyor::recordio::json {

namespace {

using ArrayState = JsonSplitter::ArrayState;

constexpr std::array<std::pair<ArrayState, std::string_view>, 5> kStateNames{{
    {ArrayState::Start, "start"},
    {ArrayState::FirstElement, "first"},
    {ArrayState::AfterComma, "comma"},
    {ArrayState::AfterElement, "element"},
    {ArrayState::Done, "done"},
}};

/// json.read's checkpoint (`conveyor run --resume`), one line of text:
/// `json1 offset=O line=L column=C state=S records=R check=H`: byte offset, line and byte
/// column just after the last record emitted; S is `line` for JSONL, else where the outer array
/// stands (`start`: before '[', `first`: after it, `comma`: after a ',', `element`: after an
/// element, `done`: after ']'); records emitted; a checksum (hex) of the bytes before the offset
/// (InputFile::checksum_before).
struct JsonPosition {
    static constexpr std::string_view kTag = "json1";

    JsonSplitter::Mark mark;
    bool lines = false; ///< a JSONL position (no array state)
    std::uint64_t records = 0;
    std::uint64_t check = 0;

    [[nodiscard]] std::string to_text() const {
        std::string_view state = "line";
        if (!lines)
            for (const auto& [s, name] : kStateNames)
                if (s == mark.state) state = name;
        return fmt::format("{} offset={} line={} column={} state={} records={} check={:016x}", kTag,
                           mark.offset, mark.line, mark.column, state, records, check);
    }

    /// The position `text` describes; the error says what is wrong with it (no location).
    static Result<JsonPosition> parse(std::string_view text) {
        auto t = CheckpointText::parse(text, kTag,
                                       {"offset", "line", "column", "state", "records", "check"},
                                       "a json.read checkpoint");
        if (!t) return std::move(t).error();
        JsonPosition p;
        for (auto [key, value, base] :
             {std::tuple{"offset", &p.mark.offset, 10}, std::tuple{"line", &p.mark.line, 10},
              std::tuple{"column", &p.mark.column, 10}, std::tuple{"records", &p.records, 10},
              std::tuple{"check", &p.check, 16}}) {
            Result<std::uint64_t> n = t->number(key, base);
            if (!n) return std::move(n).error();
            *value = *n;
        }
        const std::string_view state = t->get("state");
        auto bad = [&t](std::string_view why) { return t->bad(why); };
        p.lines = state == "line";
        bool known = p.lines;
        for (const auto& [s, name] : kStateNames)
            if (name == state) {
                p.mark.state = s;
                known = true;
            }
        if (!known) return bad(fmt::format("unknown state '{}'", state));
        const JsonSplitter::Mark& m = p.mark;
        if (m.line == 0 || m.line > m.offset + 1 || m.column == 0 || m.column > m.offset + 1)
            return bad("the line and column do not fit the offset");
        return p;
    }
};

std::string_view kind_name(Kind k) {
    switch (k) {
    case Kind::Array:
        return "an array";
    case Kind::String:
        return "a string";
    case Kind::Bool:
        return "a boolean";
    case Kind::Null:
        return "null";
    case Kind::Int:
    case Kind::Double:
        return "a number";
    default:
        return "not an object";
    }
}

/// What a JSON line that is (or starts) an array most likely means.
constexpr std::string_view kArrayHint =
    "; the line is a JSON array: for an array of records, use format = \"records\"";

class JsonReadOperator final : public SourceOperator {
public:
    JsonReadOperator(JsonSplitter splitter, JsonFormat format, std::size_t batch_size,
                     StageErrors* errors, StageMetrics* metrics = nullptr, bool positions = false)
        : splitter_(std::move(splitter)), errors_(errors), metrics_(metrics), format_(format),
          batch_size_(std::max<std::size_t>(batch_size, 1)), positions_(positions) {}

    /// Reads the first record (open() reports its keys as the initial schema); nullptr for an
    /// input without records. After resume(), the first record after the saved position.
    Result<SchemaRef> prime() {
        Result<std::optional<Value>> first = read_record(true);
        if (!first.ok()) return std::move(first).error();
        // The record stays in the builder until next() emits it.
        if (positions_) emitted_ = *first ? before_ : splitter_.mark();
        if (!*first) return SchemaRef{};
        const bool added = builder_.add(**first);
        (void)added; // the first record of a batch always fits
        return BatchBuilder::keys_of(**first);
    }

    /// Before prime() and resume(): reads only the JSON lines starting in `range` (a shard's
    /// share of the file, partition = "rows").
    [[nodiscard]] InputFile& file() noexcept { return splitter_.file(); }

    Status restrict_to(const RecordRange& range) {
        JsonSplitter::Mark at;
        at.offset = range.begin;
        at.line = range.line;
        CONVEYOR_TRY(splitter_.resume_at(at));
        splitter_.set_limit(range.end);
        emitted_ = before_ = at;
        if (metrics_) metrics_->bytes_read.fetch_add(range.begin, std::memory_order_relaxed);
        return {};
    }

    /// Before prime(): continues after the position a checkpoint() of an earlier run over the
    /// same file returned. Fails with a Config error when `text` is not such a position or does
    /// not fit this file (another format, or the file changed).
    Status resume(std::string_view text) {
        const std::string& file = splitter_.display_name();
        Result<JsonPosition> parsed = JsonPosition::parse(text);
        if (!parsed.ok()) {
            Error e = std::move(parsed).error();
            e.where = file;
            return e;
        }
        const JsonPosition& p = *parsed;
        auto refuse = [&](const std::string& why) {
            return CheckpointText::refuse(p.to_text(), why, file);
        };
        if (p.lines != (format_ == JsonFormat::Jsonl))
            return refuse(p.lines ? "it is a position in JSON lines, but the stage reads an "
                                    "array of records"
                                  : "it is a position in an array of records, but the stage "
                                    "reads JSON lines");
        CONVEYOR_TRY(
            CheckpointText::verify_file(splitter_.file(), p.mark.offset, p.check, p.to_text()));
        CONVEYOR_TRY(splitter_.resume_at(p.mark));
        emitted_ = before_ = p.mark;
        records_ = p.records;
        // Progress goes on from where the interrupted run was.
        if (metrics_) metrics_->bytes_read.fetch_add(p.mark.offset, std::memory_order_relaxed);
        return {};
    }

    Result<std::string> checkpoint(const Checkpoint& /*cp*/) override {
        JsonPosition p;
        p.mark = emitted_;
        p.lines = format_ == JsonFormat::Jsonl;
        p.records = records_;
        Result<std::uint64_t> check = splitter_.file().checksum_before(p.mark.offset);
        if (!check.ok()) return std::move(check).error();
        p.check = *check;
        return p.to_text();
    }

    /// Declared field types (json.read `types`), applied to each record as it is read (so that
    /// record errors and dead letters come in file order, however records fall into batches).
    void set_types(const FieldTypes* types) { types_ = types; }

    /// After prime(), for JSON lines in a regular file: parse the rest in chunks of about
    /// `chunk_size` bytes on `pool` (json_chunks.hpp) when more than one chunk is left.
    void use_workers(WorkPool& pool, std::uint64_t chunk_size, RunContext* run) noexcept {
        pool_ = &pool;
        chunk_size_ = chunk_size;
        run_ = run;
    }

    Result<bool> next(Emitter& out) override {
        if (pool_) return next_chunked(out);
        return next_serial(out);
    }

private:
    Result<bool> next_serial(Emitter& out) {
        const std::uint64_t start = splitter_.offset();
        while (builder_.rows() < batch_size_ && splitter_.offset() - start < kBatchTargetBytes) {
            if (carried_) {
                const bool added = builder_.add(*carried_);
                (void)added; // a fresh batch takes any record
                carried_.reset();
                continue;
            }
            if (finished_) break;
            // Hand on what is complete rather than wait with it for more input (a pipe, a
            // FIFO, a followed file).
            const bool allow_read = builder_.rows() == 0 || !splitter_.file().may_block();
            Result<std::optional<Value>> record = read_record(allow_read);
            if (!record.ok()) {
                // The records before the failure are good: they go on if the run does.
                emitted_ = before_;
                records_ += builder_.rows();
                if (builder_.rows() > 0) out.emit(builder_.build(false));
                return std::move(record).error();
            }
            if (!*record) break;
            if (!builder_.add(**record)) {
                carried_ = **record;
                carried_from_ = before_;
                break;
            }
        }
        // Everything read has gone out but a carried record: the position is before it.
        if (positions_) emitted_ = carried_ ? carried_from_ : splitter_.mark();
        records_ += builder_.rows();
        if (builder_.rows() > 0) out.emit(builder_.build(carried_.has_value()));
        return !finished_ || carried_.has_value();
    }

    /// Starts the chunked read at the primed record (read again by the first chunk), unless
    /// one chunk would hold the rest.
    void start_chunks() {
        const std::uint64_t from = before_.offset;
        const std::uint64_t limit = splitter_.limit();
        const std::uint64_t size = std::min(limit, splitter_.file().size().value_or(0));
        if (finished_ || carried_ || builder_.rows() != 1 || size <= from ||
            size - from <= chunk_size_)
            return;
        builder_.build(false); // the primed record: dropped
        // Progress counts the chunks' bytes as their records go out.
        if (metrics_)
            metrics_->bytes_read.fetch_sub(splitter_.read_end() - from, std::memory_order_relaxed);
        consumed_mark_ = from;
        ChunkSetup setup;
        setup.batch_size = batch_size_;
        setup.block_size = splitter_.block_size();
        if (types_) setup.types = *types_;
        chunks_ = std::make_unique<ChunkedSource<ChunkBatch>>(
            [setup = std::make_shared<const ChunkSetup>(std::move(setup))](
                InputFile in, std::uint64_t start, bool exact, std::optional<std::uint64_t> until) {
                return parse_chunk(*setup, std::move(in), start, exact, until);
            },
            splitter_.file(), *pool_, chunk_size_, from, before_.line,
            limit == UINT64_MAX ? std::nullopt : std::optional<std::uint64_t>(limit), run_,
            metrics_);
    }

    /// next() of a chunked read: the chunks' batches in file order, and the serial reader for
    /// the stretches that need it (a line that does not parse, from its start to the chunk's
    /// end).
    Result<bool> next_chunked(Emitter& out) {
        if (!chunks_) {
            start_chunks();
            if (!chunks_) {
                pool_ = nullptr; // too little left to split
                return next_serial(out);
            }
        }
        return chunks_->next(out, ChunkHooks{*this});
    }

    /// What ChunkedSource asks of json.read (stage/chunked_source.hpp).
    struct ChunkHooks {
        JsonReadOperator& op;

        void emit(ChunkBatch&& b, Emitter& out) const {
            op.records_ += b.batch.rows();
            op.emitted_ =
                JsonSplitter::Mark{b.end_offset, b.end_line, b.end_column, ArrayState::Start};
            if (op.metrics_)
                op.metrics_->bytes_read.fetch_add(b.end_offset - op.consumed_mark_,
                                                  std::memory_order_relaxed);
            op.consumed_mark_ = b.end_offset;
            out.emit(std::move(b.batch));
        }
        Status seek_serial(std::uint64_t offset, std::uint64_t line,
                           std::optional<std::uint64_t> limit) const {
            JsonSplitter::Mark at;
            at.offset = offset;
            at.line = line;
            CONVEYOR_TRY(op.splitter_.resume_at(at));
            op.splitter_.set_limit(limit.value_or(UINT64_MAX));
            return {};
        }
        /// The serial reader ends its input at the stretch's limit.
        Result<StretchRead> read_serial(Emitter& out) const {
            Result<bool> more = op.next_serial(out);
            if (!more) return std::move(more).error();
            return *more ? StretchRead::More : StretchRead::Ended;
        }
        StretchEnd stretch_ended() const {
            op.finished_ = false;
            const JsonSplitter::Mark at = op.splitter_.mark();
            op.consumed_mark_ = at.offset;
            return {at.offset, at.line, op.splitter_.read_end() - at.offset};
        }
        Status finish() const {
            op.finished_ = true;
            return {};
        }
    };

    const FieldTypes* types_ = nullptr;

    /// The next record parsed into the batch arena; nullopt at the end (finished_ set) or when
    /// reading was not allowed and nothing is buffered.
    Result<std::optional<Value>> read_record(bool allow_read) {
        for (;;) {
            // Where this record starts, should it not be emitted in the same next() (the
            // first record read by prime(), a carried one, one that fails).
            if (positions_) before_ = splitter_.mark();
            std::string_view text;
            Result<JsonSplitter::Status> st = splitter_.next(text, allow_read);
            if (!st.ok()) return std::move(st).error();
            if (*st == JsonSplitter::Status::End) finished_ = true;
            if (*st != JsonSplitter::Status::Record) return std::optional<Value>{};

            conveyor::json::ParseError pe;
            Result<Value> v = parser_.parse_padded(text, builder_.arena(), &pe);
            std::optional<Error> bad;
            if (!v.ok()) {
                bad = located(text, pe).error;
            } else if (v->kind() != Kind::Object) {
                const JsonSplitter::Position at = splitter_.locate(text.data());
                bad = Error(ErrorKind::Data,
                            std::string("expected a JSON object on each line, found ") +
                                std::string(kind_name(v->kind())) +
                                std::string(v->kind() == Kind::Array ? kArrayHint : ""),
                            splitter_.display_name() + ":" + std::to_string(at.line));
            }
            if (!bad) {
                // Declared types: a field that is not of its type makes the record a record
                // error, as one that does not parse.
                std::optional<std::string> wrong;
                if (types_ && !types_->empty())
                    wrong = convert_fields(*v, *types_, builder_.arena());
                if (!wrong) return std::optional<Value>{*v};
                Error e(ErrorKind::Data, std::move(*wrong), splitter_.display_name());
                if (!errors_) return e;
                Status handled = record_failed(*v, std::move(e));
                if (!handled) return std::move(handled).error();
                continue;
            }
            // The error strategy decides: fail the stage, or leave the record out (into the
            // dead-letter queue with its text and position) and go on.
            if (!errors_) return *bad;
            Status handled = errors_->raw_failed(text, std::move(*bad));
            if (!handled) return std::move(handled).error();
        }
    }

    /// A record error for `object` (its fields, the last of duplicate keys, in its order).
    Status record_failed(const Value& object, Error e) {
        const SchemaRef schema = BatchBuilder::keys_of(object);
        std::vector<Value> row(schema->size(), Value::absent());
        for (const Member& m : object.as_object())
            row[*schema->find(m.key)] = m.value;
        return errors_->record_failed(*schema, row, std::move(e));
    }

    /// A record's parse error in the file's terms.
    Failure located(std::string_view text, const conveyor::json::ParseError& pe) {
        const JsonSplitter::Position start = splitter_.locate(text.data());
        if (format_ == JsonFormat::Jsonl) {
            // "events.jsonl:17: <what> (column C)"
            std::string message = pe.message + " (column " + std::to_string(pe.column) + ")";
            // A short line that ends inside its object: most likely an object over several
            // lines (what `jq .` prints), which JSON Lines cannot hold. (A long one is more
            // likely a file cut short.)
            // One that opens an array is most likely a JSON array of records (what `jq -c
            // '[...]'` or a .json writer prints) under a .jsonl name.
            const std::size_t first = text.find_first_not_of(" \t\r\n");
            if (first != std::string_view::npos && text[first] == '[')
                message += kArrayHint;
            else if (pe.message.starts_with("unexpected end of input") && text.size() < 200)
                message += "; for objects over several lines, as jq prints them, use format = "
                           "\"objects\"";
            return fail(ErrorKind::Data, std::move(message),
                        splitter_.display_name() + ":" + std::to_string(start.line));
        }
        const std::uint64_t line = start.line + pe.line - 1;
        const std::uint64_t column = pe.line == 1 ? start.column + pe.column - 1 : pe.column;
        return fail(ErrorKind::Data, pe.message,
                    splitter_.display_name() + ":" + std::to_string(line) + ":" +
                        std::to_string(column));
    }

    JsonSplitter splitter_;
    StageErrors* errors_ = nullptr;
    StageMetrics* metrics_ = nullptr;
    JsonFormat format_;
    std::size_t batch_size_;
    conveyor::json::Parser parser_;
    BatchBuilder builder_;
    std::optional<Value> carried_; ///< the record that starts the next batch
    bool finished_ = false;

    // Checkpoints (regular files only: positions_): where the splitter stood before the record
    // read last, before the carried record, and after the records emitted so far.
    bool positions_ = false;
    JsonSplitter::Mark before_;
    JsonSplitter::Mark carried_from_;
    JsonSplitter::Mark emitted_;
    std::uint64_t records_ = 0;

    // A chunked read (use_workers).
    WorkPool* pool_ = nullptr;
    RunContext* run_ = nullptr;
    std::uint64_t chunk_size_ = 0;
    std::unique_ptr<ChunkedSource<ChunkBatch>> chunks_;
    std::uint64_t consumed_mark_ = 0; ///< progress counted up to here
};

class JsonReadStage final : public Stage {
public:
    explicit JsonReadStage(JsonReadConfig config) : config_(std::move(config)) {}

    [[nodiscard]] bool can_probe() const override { return !config_.follow && config_.path != "-"; }

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (config_.follow) {
            if (ctx.resume) return cannot_resume(ctx);
            auto followed = FollowedFile::open(config_.path, ctx.run, {});
            if (!followed) return std::move(followed).error();
            OpenContext source_ctx = ctx; // a source has no inputs: nothing to dangle
            source_ctx.input_schemas = {};
            source_ctx.input_schemas_fixed = {};
            FollowingSource::Factory make = [format = config_.format, source_ctx,
                                             block = config_.block_size](InputFile segment,
                                                                         std::size_t) {
                return Result<std::unique_ptr<SourceOperator>>(
                    make_json_source(std::move(segment), format, source_ctx, block));
            };
            return OpenedStage(std::unique_ptr<SourceOperator>(std::make_unique<FollowingSource>(
                                   std::move(followed).value(), std::move(make))),
                               nullptr);
        }
        if (is_glob(config_.path) || partition(Partition::Files)) return open_files(ctx);
        Result<InputFile> file = InputFile::open(config_.path, ctx.run);
        if (!file.ok()) return std::move(file).error();
        if (ctx.metrics) ctx.metrics->bytes_total.store(file->progress_size().value_or(0));
        // Only a regular file can be read again from a position; stdin cannot, even when it
        // is redirected from a file.
        const bool checkpoints = config_.path != "-" && file->seekable();
        if (ctx.resume && !checkpoints) return cannot_resume(ctx, file->compression());
        const bool rows = config_.shard && config_.shard->partition == Partition::Rows;
        if (rows) CONVEYOR_TRY(check_rows_partitionable(*file));
        if (ctx.mode == ExecutionMode::Streaming && !file->size()) {
            // A pipe in streaming mode: do not wait for the first record while the run starts.
            return OpenedStage(
                make_json_source(std::move(*file), config_.format, ctx, config_.block_size),
                nullptr);
        }
        auto op = std::make_unique<JsonReadOperator>(
            JsonSplitter(std::move(*file), config_.format, config_.block_size, ctx.metrics),
            config_.format, ctx.batch_size, ctx.errors, ctx.metrics, checkpoints);
        op->set_types(&config_.column_types);
        // JSON lines in a regular file are parsed in chunks on the run's workers when it has
        // more than one.
        if (checkpoints && config_.format == JsonFormat::Jsonl && ctx.run && ctx.run->work_pool &&
            ctx.run->work_pool->size() > 1)
            op->use_workers(*ctx.run->work_pool, config_.chunk_size, ctx.run);
        if (rows) { // JSON lines (the factory allows "rows" for them only)
            Result<RecordRange> range = record_range(op->file(), 0, 1, config_.shard->shard, '\0');
            if (!range.ok()) return std::move(range).error().in_stage(ctx.stage_id);
            if (Status st = op->restrict_to(*range); !st.ok())
                return std::move(st).error().in_stage(ctx.stage_id);
        }
        if (ctx.resume) {
            // The initial schema is that of the first record after the saved position.
            Status resumed = op->resume(*ctx.resume);
            if (!resumed.ok()) return std::move(resumed).error().in_stage(ctx.stage_id);
        }
        Result<SchemaRef> schema = op->prime();
        if (!schema.ok()) return std::move(schema).error();
        std::unique_ptr<SourceOperator> source = std::move(op);
        if (config_.shard && config_.shard->partition == Partition::Hash)
            source =
                keep_shard_records(std::move(source), config_.shard->key, config_.shard->shard);
        OpenedStage opened(std::move(source), std::move(*schema));
        opened.checkpoints = checkpoints;
        return opened;
    }

private:
    [[nodiscard]] bool partition(Partition p) const noexcept {
        return config_.shard && config_.shard->partition == p;
    }

    /// A glob (or partition = "files"): each file is read by a json.read of that file alone,
    /// one after the other (its own compression, error locations and checkpoint positions).
    Result<OpenedStage> open_files(const OpenContext& ctx) const {
        return open_sharded_files(config_.path, config_.shard, ctx,
                                  [config = config_](const std::string& p) {
                                      JsonReadConfig one = config;
                                      one.path = p;
                                      one.shard.reset();
                                      return make_json_read(std::move(one));
                                  });
    }

    /// Standard input, followed and compressed files take no checkpoints, so there is no
    /// position to resume from (a run that had one would not be resumed with them).
    [[nodiscard]] Failure cannot_resume(const OpenContext& ctx,
                                        Compression compressed = Compression::None) const {
        return fail(
            CheckpointText::not_resumable(config_.follow, config_.path, ctx.stage_id, compressed));
    }

    JsonReadConfig config_;
};

} // namespace

JsonFormat default_format_for(std::string_view path) {
    // The format's extension comes before a compression's: data.jsonl.gz is JSON lines.
    for (const std::string_view ext : {".gz", ".gzip", ".zst", ".zstd"})
        if (iends_with(path, ext)) {
            path.remove_suffix(ext.size());
            break;
        }
    return iends_with(path, ".jsonl") || iends_with(path, ".ndjson") ? JsonFormat::Jsonl
                                                                     : JsonFormat::Records;
}

std::unique_ptr<SourceOperator> make_json_source(InputFile file, JsonFormat format,
                                                 const OpenContext& ctx, std::size_t block_size) {
    return std::make_unique<JsonReadOperator>(
        JsonSplitter(std::move(file), format, block_size, ctx.metrics), format, ctx.batch_size,
        ctx.errors);
}

std::unique_ptr<Stage> make_json_read(JsonReadConfig config) {
    return std::make_unique<JsonReadStage>(std::move(config));
}

} // namespace conveyor::recordio::json
