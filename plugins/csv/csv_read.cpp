#include "csv_read.hpp"

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/io/followed_file.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/checkpoint_text.hpp"
#include "conveyor/stage/following_source.hpp"
#include "csv_dialect.hpp"
#include "csv_typing.hpp"

#include <fmt/format.h>
#include <tuple>
#include <unordered_set>

namespace conveyor::plugins::csv {

namespace {

/// csv.read's checkpoint (`conveyor run --resume`), one line of text:
/// `csv1 offset=O line=L records=R columns=C skipped=S first_skipped=F check=H`: byte offset
/// and physical line just after the last record emitted, records emitted, the header's width,
/// rows dropped as ragged so far and the line of the first (0: none; for the warning at the
/// end), and a checksum (hex) of the bytes before the offset (InputFile::checksum_before).
struct CsvPosition {
    static constexpr std::string_view kTag = "csv1";

    std::uint64_t offset = 0;
    std::uint64_t line = 1;
    std::uint64_t records = 0;
    std::uint64_t columns = 0;
    std::uint64_t skipped = 0;
    std::uint64_t first_skipped = 0;
    std::uint64_t check = 0;

    [[nodiscard]] std::string to_text() const {
        return fmt::format("{} offset={} line={} records={} columns={} skipped={} "
                           "first_skipped={} check={:016x}",
                           kTag, offset, line, records, columns, skipped, first_skipped, check);
    }

    /// The position `text` describes; the error says what is wrong with it (no location).
    static Result<CsvPosition> parse(std::string_view text) {
        auto t = CheckpointText::parse(
            text, kTag,
            {"offset", "line", "records", "columns", "skipped", "first_skipped", "check"},
            "a csv.read checkpoint");
        if (!t) return std::move(t).error();
        CsvPosition p;
        for (auto [key, value, base] :
             {std::tuple{"offset", &p.offset, 10}, std::tuple{"line", &p.line, 10},
              std::tuple{"records", &p.records, 10}, std::tuple{"columns", &p.columns, 10},
              std::tuple{"skipped", &p.skipped, 10},
              std::tuple{"first_skipped", &p.first_skipped, 10},
              std::tuple{"check", &p.check, 16}}) {
            Result<std::uint64_t> n = t->number(key, base);
            if (!n) return std::move(n).error();
            *value = *n;
        }
        auto bad = [&t](std::string_view why) { return t->bad(why); };
        if (p.line == 0 || p.line > p.offset + 1) return bad("the line does not fit the offset");
        if (p.first_skipped == 0 ? p.skipped != 0 : p.skipped == 0)
            return bad("skipped and first_skipped do not agree");
        return p;
    }
};

/// One run of csv.read: reads the header at start(), then one batch per next().
class CsvReadOperator final : public SourceOperator {
public:
    CsvReadOperator(const CsvReadConfig& config, InputFile file, const OpenContext& ctx,
                    std::shared_ptr<CsvFollowState> follow = nullptr)
        : reader_(
              std::move(file),
              ReaderConfig{config.delimiter, config.quote, config.infer_types, config.block_size},
              ctx.metrics),
          config_(config), batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          errors_(ctx.errors), streaming_(ctx.mode == ExecutionMode::Streaming),
          follow_(std::move(follow)), metrics_(ctx.metrics) {}

    /// Reads what the schema comes from: the header row, or the first record of a file
    /// without one (kept to be emitted first). Called by open(), or by the first next() when
    /// the input may not have the header yet (a pipe in streaming mode, a followed file).
    Status start();
    [[nodiscard]] const SchemaRef& schema() const noexcept { return schema_; }
    /// After start(): continues after the position a checkpoint() of an earlier run returned
    /// (a regular file only). Fails with a Config error when `text` is not such a position or
    /// does not fit this file (it changed, or has another header).
    Status resume(std::string_view text);

    Result<bool> next(Emitter& out) override;
    Result<std::string> checkpoint(const Checkpoint& cp) override;

private:
    Error ragged_error() const;
    /// Finds the columns of `types` in the schema: a name that is not there is a config error.
    Status resolve_types();
    /// Converts the declared columns of fields_ (new text into `into`'s arena); a field that
    /// is not of its type is a data error naming file:line, the column and the value.
    std::optional<Error> apply_types(Batch& into);
    void end_of_input();
    void emitted_up_to(std::uint64_t offset, std::uint64_t line) noexcept {
        emitted_offset_ = offset;
        emitted_line_ = line;
    }

    CsvReader reader_;
    CsvReadConfig config_;
    std::size_t batch_size_;
    StageErrors* errors_;
    bool streaming_;
    std::shared_ptr<CsvFollowState> follow_;
    bool started_ = false;
    SchemaRef schema_;
    std::size_t width_ = 0;
    std::optional<Batch> pending_;
    std::vector<Value> fields_;
    std::vector<std::pair<std::size_t, coltype::ColumnType>> typed_; ///< column, declared type
    std::uint64_t consumed_mark_ = 0;
    std::uint64_t skipped_ = 0;
    std::uint64_t first_skipped_ = 0; ///< line of the first row skipped as ragged
    bool done_ = false;
    // Where the input stands after the records emitted so far (pending_ is not emitted yet):
    // what checkpoint() reports.
    std::uint64_t emitted_offset_ = 0;
    std::uint64_t emitted_line_ = 1;
    std::uint64_t records_ = 0;
    std::uint64_t data_start_ = 0; ///< offset after the header row
    StageMetrics* metrics_ = nullptr;
};

Status CsvReadOperator::start() {
    started_ = true;
    if (config_.columns) {
        schema_ = make_schema(*config_.columns);
        width_ = schema_->size();
        return resolve_types();
    }
    Batch scratch; // owns the first block and any unescaped text until the row is placed
    reader_.attach(&scratch);
    if (config_.headers) reader_.set_infer_types(false);
    auto first = reader_.next_record(fields_);
    reader_.set_infer_types(config_.infer_types);
    reader_.attach(nullptr);
    if (!first) return std::move(first).error();
    if (!*first) { // empty file: no records, no columns
        schema_ = make_schema({});
        done_ = true;
        return {};
    }

    if (config_.headers && follow_ && follow_->header) {
        // A later segment of a followed file: a repeated header is skipped; anything else is
        // the first record, under the header already known.
        schema_ = follow_->header;
        width_ = schema_->size();
        bool same = fields_.size() == width_;
        for (std::size_t i = 0; same && i < width_; ++i)
            same = fields_[i].as_string() == schema_->name(i);
        consumed_mark_ = reader_.bytes_consumed();
        if (same) return {};
        if (config_.infer_types)
            for (Value& v : fields_)
                v = infer_value(v.as_string(), false);
        if (fields_.size() != width_) {
            if (config_.on_ragged == RaggedPolicy::Skip) return {};
            if (config_.on_ragged == RaggedPolicy::Pad && fields_.size() < width_)
                fields_.resize(width_, Value::null());
            else
                return ragged_error();
        }
        pending_.emplace(schema_, batch_size_);
        pending_->share_storage_of(scratch);
        if (auto e = apply_types(*pending_)) return std::move(*e);
        pending_->append_row(fields_);
        return {};
    }

    std::vector<std::string> names;
    names.reserve(fields_.size());
    if (config_.headers) {
        for (const Value& v : fields_)
            names.emplace_back(v.as_string());
        std::vector<std::pair<std::string, std::string>> renamed;
        names = normalise_header(std::move(names), &renamed);
        for (const auto& [from, to] : renamed)
            spdlog::warn("{}: column name '{}' appears more than once in the header; the "
                         "repeat is called '{}'",
                         reader_.where(), from, to);
        consumed_mark_ = reader_.bytes_consumed();
        data_start_ = consumed_mark_;
        emitted_up_to(consumed_mark_, reader_.next_line());
    } else {
        for (std::size_t i = 0; i < fields_.size(); ++i)
            names.push_back(fmt::format("column{}", i + 1));
    }
    schema_ = make_schema(std::move(names));
    width_ = schema_->size();
    if (follow_) follow_->header = schema_;
    CONVEYOR_TRY(resolve_types());
    if (!config_.headers) {
        pending_.emplace(schema_, batch_size_);
        pending_->share_storage_of(scratch);
        if (auto e = apply_types(*pending_)) return std::move(*e);
        pending_->append_row(fields_);
    }
    return {};
}

Result<bool> CsvReadOperator::next(Emitter& out) {
    if (!started_) CONVEYOR_TRY(start());
    if (done_) return false;
    // A graceful stop needs nothing here: the input then reports its end, and the complete
    // records already read still go out.
    Batch batch = pending_ ? std::move(*pending_) : Batch(schema_, batch_size_);
    pending_.reset();
    reader_.attach(&batch);
    while (batch.rows() < batch_size_) {
        // Streaming: records that have arrived go out now rather than when a batch fills.
        const bool may_wait = !streaming_ || batch.empty();
        auto fetched = reader_.fetch_record(fields_, may_wait);
        if (!fetched && errors_ && reader_.unterminated()) {
            // A quote never closed: the rest of the input is one broken record. Under a
            // continuing strategy the records before it still go out and the rest goes to
            // the dead-letter queue as text.
            Status handled =
                errors_->raw_failed(reader_.take_unterminated(), std::move(fetched).error());
            if (!handled) {
                reader_.attach(nullptr);
                return std::move(handled).error();
            }
            done_ = true;
            break;
        }
        if (!fetched) {
            reader_.attach(nullptr);
            // The records before the failure are good: they go on if the run does. A record
            // that fails to parse does not move the reader.
            records_ += batch.rows();
            emitted_up_to(reader_.bytes_consumed(), reader_.next_line());
            if (!batch.empty()) out.emit(std::move(batch));
            return std::move(fetched).error();
        }
        if (*fetched == CsvReader::Fetch::WouldWait) break;
        if (*fetched == CsvReader::Fetch::End) {
            done_ = true;
            break;
        }
        if (fields_.size() != width_) {
            if (config_.on_ragged == RaggedPolicy::Skip) {
                if (skipped_++ == 0) first_skipped_ = reader_.record_line();
                continue;
            }
            if (config_.on_ragged == RaggedPolicy::Pad && fields_.size() < width_) {
                fields_.resize(width_, Value::null());
            } else {
                // The error strategy decides: fail the stage, or leave the row out (into the
                // dead-letter queue, with its text and file:line) and go on.
                Status handled =
                    errors_ ? errors_->raw_failed(reader_.last_record_text(), ragged_error())
                            : Status(ragged_error());
                if (handled) continue;
                reader_.attach(nullptr);
                // The records before this one are good: they go on if the run does.
                records_ += batch.rows();
                emitted_up_to(reader_.record_offset(), reader_.record_line());
                if (!batch.empty()) out.emit(std::move(batch));
                return std::move(handled).error();
            }
        }
        if (!typed_.empty()) {
            if (auto e = apply_types(batch)) {
                // Like a ragged row: the error strategy fails the stage or leaves the record
                // out (dead-lettered with its text).
                Status handled = errors_ ? errors_->raw_failed(reader_.last_record_text(), *e)
                                         : Status(std::move(*e));
                if (handled) continue;
                reader_.attach(nullptr);
                records_ += batch.rows();
                emitted_up_to(reader_.record_offset(), reader_.record_line());
                if (!batch.empty()) out.emit(std::move(batch));
                return std::move(handled).error();
            }
        }
        batch.append_row(fields_);
    }
    reader_.attach(nullptr);
    const std::uint64_t consumed = reader_.bytes_consumed();
    batch.set_payload_bytes(static_cast<std::size_t>(consumed - consumed_mark_));
    consumed_mark_ = consumed;
    records_ += batch.rows();
    emitted_up_to(consumed, reader_.next_line());
    if (!batch.empty()) out.emit(std::move(batch));
    if (done_) end_of_input();
    return !done_;
}

Result<std::string> CsvReadOperator::checkpoint(const Checkpoint& /*cp*/) {
    CsvPosition p;
    p.offset = emitted_offset_;
    p.line = emitted_line_;
    p.records = records_;
    p.columns = width_;
    p.skipped = skipped_;
    p.first_skipped = first_skipped_;
    auto check = reader_.file().checksum_before(p.offset);
    if (!check) return std::move(check).error();
    p.check = *check;
    return p.to_text();
}

Status CsvReadOperator::resume(std::string_view text) {
    const std::string& file = reader_.display_name();
    auto parsed = CsvPosition::parse(text);
    if (!parsed) {
        Error e = std::move(parsed).error();
        e.where = file;
        return e;
    }
    const CsvPosition& p = *parsed;
    auto refuse = [&](const std::string& why) {
        return CheckpointText::refuse(p.to_text(), why, file);
    };
    if (p.columns != width_)
        return refuse(fmt::format("the file now has {} column{}, the interrupted run read {}",
                                  width_, width_ == 1 ? "" : "s", p.columns));
    // (A position inside the header row is never beyond the end of the file.)
    if (p.offset < data_start_)
        return refuse(fmt::format("byte {} is inside the header row, which ends at byte {}",
                                  p.offset, data_start_));
    CONVEYOR_TRY(CheckpointText::verify_file(reader_.file(), p.offset, p.check, p.to_text()));
    const std::uint64_t read_at_open = reader_.file().bytes_read(); // the header's block
    CONVEYOR_TRY(reader_.resume_at(p.offset, p.line));
    // The first record a file without a header row was read for its width is emitted again
    // only if the checkpoint came before it.
    pending_.reset();
    done_ = false;
    records_ = p.records;
    skipped_ = p.skipped;
    first_skipped_ = p.first_skipped;
    consumed_mark_ = p.offset;
    emitted_up_to(p.offset, p.line);
    // Progress goes on from where the interrupted run was: the bytes before the position count
    // as read, the header's block read again does not (unsigned wrap-around keeps the sum).
    if (metrics_) {
        metrics_->bytes_read.fetch_add(p.offset, std::memory_order_relaxed);
        metrics_->bytes_read.fetch_sub(read_at_open, std::memory_order_relaxed);
    }
    return {};
}

Status CsvReadOperator::resolve_types() {
    typed_.clear();
    for (const auto& [name, type] : config_.types) {
        const std::optional<std::size_t> c = schema_->find(name);
        if (!c) {
            std::string known;
            for (const std::string& n : schema_->names())
                known += (known.empty() ? "" : ", ") + n;
            return Error(ErrorKind::Config,
                         fmt::format("types: column '{}' is not in the {} (columns: {}){}", name,
                                     config_.columns ? "names of 'columns'" : "header", known,
                                     did_you_mean(name, schema_->names())),
                         reader_.display_name());
        }
        typed_.emplace_back(*c, type);
    }
    return {};
}

std::optional<Error> CsvReadOperator::apply_types(Batch& into) {
    std::string why;
    for (const auto& [c, type] : typed_) {
        if (c >= fields_.size()) continue; // a short row padded later, or ragged
        std::optional<Value> v = coltype::convert(fields_[c], type, into.arena(), &why);
        if (!v)
            return Error(ErrorKind::Data,
                         fmt::format("column '{}' (types.{} = \"{}\"): {}", schema_->name(c),
                                     schema_->name(c), coltype::to_string(type), why),
                         reader_.where());
        fields_[c] = *v;
    }
    return std::nullopt;
}

Error CsvReadOperator::ragged_error() const {
    const std::size_t n = fields_.size();
    std::string msg = fmt::format("row has {} field{}, expected {}", n, n == 1 ? "" : "s", width_);
    if (config_.columns) msg += " (the names listed in 'columns')";
    if (config_.on_ragged == RaggedPolicy::Pad)
        msg += "; on_ragged = \"pad\" only fills short rows and never drops data, "
               "set on_ragged = \"skip\" to drop rows like this one";
    else if (n < width_)
        msg += "; set on_ragged = \"pad\" to fill missing fields with null, or \"skip\" to "
               "drop such rows";
    else
        msg += "; set on_ragged = \"skip\" to drop such rows";
    return Error(ErrorKind::Data, std::move(msg), reader_.where());
}

void CsvReadOperator::end_of_input() {
    done_ = true;
    if (skipped_ == 0) return;
    spdlog::warn("{}: skipped {} row{} whose field count differs from the {} column{} expected "
                 "(on_ragged = \"skip\"); the first was at {}",
                 reader_.display_name(), skipped_, skipped_ == 1 ? "" : "s", width_,
                 width_ == 1 ? "" : "s",
                 fmt::format("{}:{}", reader_.display_name(), first_skipped_));
    skipped_ = 0;
}

class CsvReadStage final : public Stage {
public:
    explicit CsvReadStage(CsvReadConfig config) : config_(std::move(config)) {}

    [[nodiscard]] bool can_probe() const override { return !config_.follow && config_.path != "-"; }

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (config_.follow) {
            if (ctx.resume) return cannot_resume(ctx);
            auto followed = FollowedFile::open(config_.path, ctx.run, {});
            if (!followed) return std::move(followed).error();
            auto state = std::make_shared<CsvFollowState>();
            OpenContext source_ctx = ctx; // a source has no inputs: nothing to dangle
            source_ctx.input_schemas = {};
            source_ctx.input_schemas_fixed = {};
            FollowingSource::Factory make = [config = config_, source_ctx, state](InputFile segment,
                                                                                  std::size_t) {
                return Result<std::unique_ptr<SourceOperator>>(
                    make_csv_source(std::move(segment), config, source_ctx, state));
            };
            // The header is read when the file has one: the schema is not known yet.
            return OpenedStage(std::unique_ptr<SourceOperator>(std::make_unique<FollowingSource>(
                                   std::move(followed).value(), std::move(make))),
                               nullptr);
        }
        auto file = InputFile::open(config_.path, ctx.run);
        if (!file) return std::move(file).error();
        if (ctx.metrics) ctx.metrics->bytes_total.store(file->progress_size().value_or(0));
        // Only a regular file can be read again from a position; stdin cannot, even when it
        // is redirected from a file.
        const bool checkpoints = config_.path != "-" && file->seekable();
        if (ctx.resume && !checkpoints) return cannot_resume(ctx, file->compression());
        if (ctx.mode == ExecutionMode::Streaming && !file->size()) {
            // A pipe in streaming mode: do not wait for the header while the run starts.
            return OpenedStage(make_csv_source(std::move(*file), config_, ctx), nullptr);
        }
        auto op = std::make_unique<CsvReadOperator>(config_, std::move(*file), ctx);
        CONVEYOR_TRY(op->start());
        // The header is read as in a fresh run (same schema), then reading goes on after the
        // records the interrupted run had emitted.
        if (ctx.resume) {
            Status resumed = op->resume(*ctx.resume);
            if (!resumed) return std::move(resumed).error().in_stage(ctx.stage_id);
        }
        SchemaRef schema = op->schema();
        // An empty file has no header: no records and no columns to check names against (a
        // cron job's input is sometimes empty; that is not a mistake in the pipeline).
        const bool empty = schema->size() == 0;
        if (empty)
            spdlog::warn("stage '{}': {} is empty (no header, no records)", ctx.stage_id,
                         config_.path);
        OpenedStage opened(std::unique_ptr<SourceOperator>(std::move(op)), std::move(schema));
        // Every record has exactly the header's fields (ragged rows are padded or refused).
        opened.fixed_schema = !empty;
        opened.checkpoints = checkpoints;
        return opened;
    }

private:
    /// Standard input, followed and compressed files take no checkpoints, so there is no
    /// position to resume from (a run that had one would not be resumed with them).
    [[nodiscard]] Failure cannot_resume(const OpenContext& ctx,
                                        Compression compressed = Compression::None) const {
        return fail(
            CheckpointText::not_resumable(config_.follow, config_.path, ctx.stage_id, compressed));
    }

    CsvReadConfig config_;
};

const OptionTable<CsvReadOptions>& csv_read_options() {
    static const auto table =
        OptionTable<CsvReadOptions>()
            .add("path", &CsvReadOptions::path,
                 {.description = "File to read; \"-\" reads standard input. Relative paths are "
                                 "relative to the current directory.",
                  .required = true})
            .embed(&CsvReadOptions::format,
                   csv_format_options("The first row holds the field names. Without it, fields "
                                      "are called column1, column2, ... unless 'columns' names "
                                      "them."))
            .add("types", &CsvReadOptions::types,
                 {.description = "Column = type, overriding infer_types for those columns: "
                                 "string (keeps the text as written: zip codes, ids), int, "
                                 "float, bool (true/false, 1/0, yes/no), timestamp (ISO 8601 "
                                 "or epoch seconds, written back as UTC ISO 8601). A field "
                                 "that is not of its type is a record error naming file:line; "
                                 "empty fields stay null.",
                  .example = "{ zip = \"string\", qty = \"int\", when = \"timestamp\" }"})
            .add("follow", &CsvReadOptions::follow,
                 {.description = "Keep reading what is appended to the file, like `tail -F`, "
                                 "until the run is stopped (SIGINT/SIGTERM); a file rotated by "
                                 "rename or truncated is read again from its beginning (a "
                                 "repeated header is skipped). Needs execution_mode = "
                                 "\"streaming\"; file.watch does the same with more choices."});
    return table;
}

std::unique_ptr<Stage> build_csv_read(BuildContext& ctx, const CsvReadOptions& o) {
    CsvReadConfig config;
    config.path = o.path;
    if (config.path.empty())
        ctx.error("path", "path must name a CSV file (or \"-\" for standard input)");
    config.headers = o.format.headers;
    if (const auto dialect = dialect_from_options(ctx, o.format)) {
        config.delimiter = dialect->delimiter;
        config.quote = dialect->quote;
    }
    config.infer_types = o.format.infer_types;
    config.on_ragged = o.format.on_ragged;

    if (o.format.columns) {
        const std::vector<std::string>& columns = *o.format.columns;
        if (config.headers) {
            ctx.error("columns", "'columns' names the fields of a file without a header row; "
                                 "set headers = false as well (with a header row, the header "
                                 "names the fields)");
        } else if (columns.empty()) {
            ctx.error("columns", "'columns' must list at least one name");
        } else {
            std::unordered_set<std::string_view> seen;
            for (const std::string& c : columns) {
                if (c.empty())
                    ctx.error("columns", "'columns' contains an empty name");
                else if (!seen.insert(c).second)
                    ctx.error("columns", fmt::format("'columns' lists '{}' twice", c));
            }
        }
        config.columns = columns;
    }
    for (const auto& [column, type] : o.types) {
        if (auto t = coltype::parse(type)) {
            config.types.emplace_back(column, *t);
            continue;
        }
        ctx.error("types", fmt::format("types.{}: unknown type '{}'{} (types: string, int, "
                                       "float, bool, timestamp)",
                                       column, type, did_you_mean(type, coltype::names())));
    }
    config.follow = o.follow;
    if (config.follow) {
        if (config.path == "-")
            ctx.error("follow", "follow = true reads a file as it grows; standard input is "
                                "read as it comes anyway (leave follow out, or use stdin.read)");
        else if (ctx.global().execution_mode != ExecutionMode::Streaming)
            ctx.error("follow", "follow = true never reaches the end of the file, so it needs "
                                "[global] execution_mode = \"streaming\"");
    }
    if (ctx.failed()) return nullptr;
    return make_csv_read_stage(std::move(config));
}

} // namespace

std::vector<std::string>
normalise_header(std::vector<std::string> names,
                 std::vector<std::pair<std::string, std::string>>* renamed) {
    // Every name the user wrote is reserved first, so neither a repeat's suffix nor an empty
    // cell's generated name can take a name that some column of the file has.
    std::unordered_set<std::string> taken;
    for (const std::string& name : names)
        if (!name.empty()) taken.insert(name);
    // `base_k` for the first k = 2, 3, ... that is free; taking it reserves it.
    auto next_free = [&taken](const std::string& base) {
        for (std::size_t k = 2;; ++k) {
            std::string candidate = fmt::format("{}_{}", base, k);
            if (taken.insert(candidate).second) return candidate;
        }
    };
    // Repeats of a written name, left to right: the first keeps it, later ones get a suffix.
    std::unordered_set<std::string> seen;
    for (std::string& name : names) {
        if (name.empty() || seen.insert(name).second) continue;
        std::string candidate = next_free(name);
        if (renamed) renamed->emplace_back(name, candidate);
        name = std::move(candidate);
    }
    // Empty cells last: `columnN` for position N, or `columnN_2`, ... when that is taken.
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!names[i].empty()) continue;
        std::string generated = fmt::format("column{}", i + 1);
        names[i] = taken.insert(generated).second ? std::move(generated) : next_free(generated);
    }
    return names;
}

std::unique_ptr<SourceOperator> make_csv_source(InputFile file, const CsvReadConfig& config,
                                                const OpenContext& ctx,
                                                std::shared_ptr<CsvFollowState> follow) {
    return std::make_unique<CsvReadOperator>(config, std::move(file), ctx, std::move(follow));
}

std::unique_ptr<Stage> make_csv_read_stage(CsvReadConfig config) {
    return std::make_unique<CsvReadStage>(std::move(config));
}

FunctionDescriptor csv_read_descriptor() {
    FunctionDescriptor fn;
    fn.name = "csv.read";
    fn.role = StageRole::Source;
    fn.min_inputs = 0;
    fn.max_inputs = 0;
    fn.summary = "Read records from a CSV file (or standard input)";
    fn.description =
        "Reads an RFC 4180 CSV file: quoted fields may contain the delimiter, doubled quotes "
        "and line breaks; lines may end with LF, CRLF or CR; a UTF-8 byte order mark and blank "
        "lines are skipped. The first row names the fields (repeated names get a suffix such "
        "as a_2, an empty one becomes columnN for its position N, or columnN_2 when the header "
        "already has columnN). With infer_types, integers become integers, "
        "decimals become numbers that keep their spelling, empty fields become null and "
        "everything else (including 007, +1 and quoted \"\") stays a string. Errors name the "
        "file and the line where the record starts.";

    fn.options = csv_read_options().specs();
    fn.factory = bind_options(csv_read_options(), build_csv_read);
    return fn;
}

} // namespace conveyor::plugins::csv
