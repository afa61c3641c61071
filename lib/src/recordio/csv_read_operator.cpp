#include "conveyor/recordio/csv_read_operator.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/io/record_ranges.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_typing.hpp"
#include "conveyor/stage/checkpoint_text.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <tuple>

namespace conveyor::recordio::csv {

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

/// The record reader's settings for csv.read's `config`.
ReaderConfig reader_config(const CsvReadConfig& config) {
    ReaderConfig r{config.delimiter, config.quote, config.infer_types, config.block_size};
    r.comment = config.comment;
    return r;
}

} // namespace

CsvReadOperator::CsvReadOperator(const CsvReadConfig& config, InputFile file,
                                 const OpenContext& ctx, std::shared_ptr<CsvFollowState> follow)
    : reader_(std::move(file), reader_config(config), ctx.metrics), config_(config),
      batch_size_(std::max<std::size_t>(ctx.batch_size, 1)), errors_(ctx.errors),
      follow_(std::move(follow)), metrics_(ctx.metrics), run_(ctx.run) {}

Status CsvReadOperator::start() {
    started_ = true;
    if (config_.columns) {
        schema_ = make_schema(*config_.columns);
        width_ = schema_->size();
        one_column_blank_lines();
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
        one_column_blank_lines();
        bool same = fields_.size() == width_;
        for (std::size_t i = 0; same && i < width_; ++i)
            same = fields_[i].as_string() == schema_->name(i);
        consumed_mark_ = reader_.bytes_consumed();
        if (same) return {};
        if (config_.infer_types)
            for (Value& v : fields_)
                v = infer_value(v.as_string(), !is_bare_empty(v));
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
        std::vector<bool> unnamed;
        for (const std::string& n : names)
            unnamed.push_back(n.empty());
        std::vector<std::pair<std::string, std::string>> renamed;
        names = normalise_header(std::move(names), &renamed);
        for (const auto& [from, to] : renamed)
            spdlog::warn("{}: column name '{}' appears more than once in the header; the "
                         "repeat is called '{}'",
                         reader_.where(), from, to);
        // Like a repeat, a name the file does not have (which a csv.write after it writes).
        for (std::size_t i = 0; i < unnamed.size(); ++i)
            if (unnamed[i])
                spdlog::warn("{}: column {} has no name in the header; it is called '{}'",
                             reader_.where(), i + 1, names[i]);
        consumed_mark_ = reader_.bytes_consumed();
        data_start_ = consumed_mark_;
        emitted_up_to(consumed_mark_, reader_.next_line());
    } else {
        for (std::size_t i = 0; i < fields_.size(); ++i)
            names.push_back(fmt::format("column{}", i + 1));
    }
    schema_ = make_schema(std::move(names));
    width_ = schema_->size();
    one_column_blank_lines();
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
    if (!started_) {
        // The schema was not known at open (a pipe, a followed file): until a record shows
        // it, the first batch does.
        CONVEYOR_TRY(start());
        show_schema_ = schema_->size() > 0;
    }
    if (done_) return false;
    if (pool_) return next_chunked(out);
    return next_serial(out);
}

Result<bool> CsvReadOperator::next_serial(Emitter& out, bool stretch) {
    // A graceful stop needs nothing here: the input then reports its end, and the complete
    // records already read still go out.
    Batch batch = pending_ ? std::move(*pending_) : Batch(schema_, batch_size_);
    pending_.reset();
    reader_.attach(&batch);
    while (batch.rows() < batch_size_ &&
           reader_.bytes_consumed() - consumed_mark_ < kBatchTargetBytes) {
        // Records that have arrived go out now rather than wait in a part-filled batch for
        // more input (a pipe, a FIFO, a followed file).
        const bool may_wait = batch.empty();
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
            // The limit of a stretch read for a chunked read, or the end of the input.
            (reader_.at_limit() && stretch ? stretch_ended_ : done_) = true;
            break;
        }
        if (reader_.record_has_text_after_quote() && stray_quotes_++ == 0)
            first_stray_quote_ = reader_.record_line();
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
    if (std::exchange(show_schema_, false) || !batch.empty()) {
        if (batch.empty()) batch.set_shows_schema();
        out.emit(std::move(batch));
    }
    if (done_) CONVEYOR_TRY(end_of_input());
    return !done_;
}

void CsvReadOperator::start_chunks() {
    const std::uint64_t from = reader_.bytes_consumed();
    const std::uint64_t size = share_end_.value_or(reader_.file().size().value_or(0));
    if (size <= from || size - from <= chunk_size_) return; // one chunk: the serial reader
    auto setup = std::make_shared<ChunkSetup>();
    setup->reader = reader_config(config_);
    setup->reader.blank_lines_are_records = width_ == 1;
    // A chunk whose guessed start fell inside a quoted field may take the rest of the file for
    // one record: it gives up after this much and the serial reader (with the real limit)
    // takes over. A chunk that started right gives up only on a record this large.
    setup->reader.max_record_bytes =
        static_cast<std::size_t>(std::max<std::uint64_t>(chunk_size_, std::uint64_t{1} << 20));
    setup->schema = schema_;
    setup->on_ragged = config_.on_ragged;
    setup->typed = typed_;
    setup->batch_size = batch_size_;
    setup->blocks = make_block_pool(config_.block_size);
    // Progress counts the chunks' bytes as their records go out: what the serial reader read
    // ahead of its position is read again by them.
    if (metrics_) metrics_->bytes_read.fetch_sub(reader_.buffered(), std::memory_order_relaxed);
    chunks_ = std::make_unique<ChunkedSource<ChunkBatch>>(
        [setup = std::shared_ptr<const ChunkSetup>(std::move(setup))](
            InputFile in, std::uint64_t start, bool exact, std::optional<std::uint64_t> limit) {
            return parse_chunk(*setup, std::move(in), start, exact, limit);
        },
        reader_.file(), *pool_, chunk_size_, from, reader_.next_line(), share_end_, run_, metrics_);
}

/// What ChunkedSource asks of csv.read (stage/chunked_source.hpp).
struct CsvReadOperator::ChunkHooks {
    CsvReadOperator& op;

    void emit(ChunkBatch&& b, Emitter& out) const {
        op.records_ += b.batch.rows();
        if (b.skipped != 0) {
            if (op.skipped_ == 0) op.first_skipped_ = b.first_skipped;
            op.skipped_ += b.skipped;
        }
        if (b.stray_quotes != 0) {
            if (op.stray_quotes_ == 0) op.first_stray_quote_ = b.first_stray_quote;
            op.stray_quotes_ += b.stray_quotes;
        }
        op.consumed_mark_ = b.end_offset;
        op.emitted_up_to(b.end_offset, b.end_line);
        if (op.metrics_)
            op.metrics_->bytes_read.fetch_add(b.batch.payload_bytes(), std::memory_order_relaxed);
        if (!b.batch.empty()) out.emit(std::move(b.batch));
    }
    Status seek_serial(std::uint64_t offset, std::uint64_t line,
                       std::optional<std::uint64_t> limit) const {
        CONVEYOR_TRY(op.reader_.resume_at(offset, line));
        op.reader_.set_limit(limit.value_or(std::numeric_limits<std::uint64_t>::max()));
        op.consumed_mark_ = offset;
        return {};
    }
    Result<StretchRead> read_serial(Emitter& out) const {
        Result<bool> more = op.next_serial(out, true);
        if (!more) return std::move(more).error();
        if (!*more) return StretchRead::InputEnded;
        if (!op.stretch_ended_) return StretchRead::More;
        op.stretch_ended_ = false;
        return StretchRead::Ended;
    }
    /// What the reader read past this point (to find it) is read again by the chunks: it
    /// comes off bytes_read, so that a file is counted once however many stretches it had.
    StretchEnd stretch_ended() const {
        return {op.reader_.bytes_consumed(), op.reader_.next_line(), op.reader_.buffered()};
    }
    Status finish() const {
        op.done_ = true;
        return op.end_of_input();
    }
};

Result<bool> CsvReadOperator::next_chunked(Emitter& out) {
    if (!chunks_) {
        start_chunks();
        if (!chunks_) {
            pool_ = nullptr; // too little left to split
            return next_serial(out);
        }
        if (pending_) { // the first record of a file without a header row goes first
            Batch first = std::move(*pending_);
            pending_.reset();
            const std::uint64_t consumed = reader_.bytes_consumed();
            first.set_payload_bytes(static_cast<std::size_t>(consumed - consumed_mark_));
            consumed_mark_ = consumed;
            records_ += first.rows();
            emitted_up_to(consumed, reader_.next_line());
            out.emit(std::move(first));
            return true;
        }
    }
    return chunks_->next(out, ChunkHooks{*this});
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
    resumed_at_ = p.offset;
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
        std::optional<Value> v = coltype::convert_text_field(fields_[c], type, into.arena(), &why);
        if (!v)
            return Error(ErrorKind::Data,
                         fmt::format("column '{}' (types.{} = \"{}\"): {}", schema_->name(c),
                                     schema_->name(c), coltype::to_string(type), why),
                         reader_.where());
        fields_[c] = *v;
    }
    return std::nullopt;
}

// In a file of one column a blank line is a record whose one field is empty (Miller and DuckDB
// read it so, and csv.write writes such a record so when its value is the bare empty
// string); skipping it would lose the record.
void CsvReadOperator::one_column_blank_lines() {
    reader_.set_blank_lines_are_records(width_ == 1);
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

Status CsvReadOperator::read_share(ShardId shard) {
    const std::uint64_t data_line = config_.headers ? reader_.next_line() : 1;
    Result<RecordRange> range =
        record_range(reader_.file(), data_start_, data_line, shard, config_.quote);
    if (!range) return std::move(range).error();
    share_end_ = range->end;
    if (resumed_at_) {
        // A resumed shard goes on from its checkpoint, which lies in its own range (the
        // journal is the shard's), up to the range's end.
        if (*resumed_at_ < range->begin || *resumed_at_ > range->end)
            return Error(ErrorKind::Config,
                         fmt::format("cannot resume: the checkpoint's byte {} is outside shard "
                                     "{}/{}'s bytes {}..{} (`conveyor run --fresh` starts over)",
                                     *resumed_at_, shard.index, shard.count, range->begin,
                                     range->end),
                         reader_.display_name());
        if (*resumed_at_ == range->end) done_ = true;
        reader_.set_limit(range->end);
        if (metrics_) metrics_->bytes_total.store(range->end - range->begin);
        return {};
    }
    // A file without a header row had its first record read for its width: it is shard 0's
    // (when that shard has any records) and the reader stands after it.
    const bool first_read = !config_.headers && !config_.columns;
    if (range->begin == range->end) {
        pending_.reset();
        done_ = true;
        emitted_up_to(range->begin, range->line);
        return {};
    }
    if (!(first_read && range->begin == 0)) {
        pending_.reset();
        CONVEYOR_TRY(reader_.resume_at(range->begin, range->line));
        consumed_mark_ = range->begin;
        emitted_up_to(range->begin, range->line);
    }
    reader_.set_limit(range->end);
    if (metrics_) metrics_->bytes_total.store(range->end - range->begin);
    return {};
}

void CsvReadOperator::warn_stray_quotes() {
    if (stray_quotes_ == 0) return;
    spdlog::warn("{}: {} record{} a quoted field with text after its closing quote, the first "
                 "at {}:{}: such a field is read without its quotes (\"a\" b as a b), and a "
                 "quote that starts a field opens a quoted field, which runs on to the next "
                 "quote, over line breaks and the records on those lines; if the file does not "
                 "quote its fields that way (a tab-separated export whose text holds quotes as "
                 "they are), read it with quote = \"\"",
                 reader_.display_name(), stray_quotes_, stray_quotes_ == 1 ? " has" : "s have",
                 reader_.display_name(), first_stray_quote_);
    stray_quotes_ = 0;
}

Status CsvReadOperator::end_of_input() {
    done_ = true;
    // (A stop request ends the input early: no range is complete then.)
    if (share_end_ && emitted_offset_ != *share_end_ && !(run_ && run_->stop_requested())) {
        const std::uint64_t end = *share_end_;
        share_end_.reset(); // reported once
        return Error(ErrorKind::Data,
                     fmt::format("partition = \"rows\": this shard's records end at byte {}, "
                                 "not at byte {} where the next shard's start (the quoting is "
                                 "not RFC 4180's, e.g. a quote inside an unquoted field): use "
                                 "partition = \"hash\" for this file",
                                 emitted_offset_, end),
                     reader_.display_name());
    }
    warn_stray_quotes();
    if (skipped_ == 0) return {};
    spdlog::warn("{}: skipped {} row{} whose field count differs from the {} column{} expected "
                 "(on_ragged = \"skip\"); the first was at {}",
                 reader_.display_name(), skipped_, skipped_ == 1 ? "" : "s", width_,
                 width_ == 1 ? "" : "s",
                 fmt::format("{}:{}", reader_.display_name(), first_skipped_));
    skipped_ = 0;
    return {};
}

} // namespace conveyor::recordio::csv
