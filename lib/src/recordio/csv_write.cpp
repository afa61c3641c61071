#include "conveyor/recordio/csv_write.hpp"

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/short_bytes.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/flush_schedule.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/recordio/csv_reader.hpp"
#include "conveyor/recordio/csv_typing.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "conveyor/stage/split_sink.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_set>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace conveyor::recordio::csv {

namespace {

constexpr std::string_view kSinkName = "csv.write";

/// The fields of `schemas` (null ones left out), each once, in input order then field order.
/// A set, not a search of the list so far: a header of 100k columns took minutes that way.
std::vector<std::string> union_of_names(std::span<const SchemaRef> schemas) {
    std::vector<std::string> names;
    std::unordered_set<std::string_view> seen;
    for (const SchemaRef& in : schemas) {
        if (!in) continue;
        for (const std::string& n : in->names())
            if (seen.insert(n).second) names.push_back(n);
    }
    return names;
}

/// The writer's state in a checkpoint (see csv_write.hpp).
struct ResumeState {
    bool header_written = false;
    SchemaRef header; ///< nullptr: not known yet (no input schema, no batch so far)
};

/// One run of csv.write. Records are written as they arrive, whatever input they come from
/// (under `dag`: one input after another in the order listed); nothing is held back. The
/// header is the union of the inputs' fields (in input order, then field order).
class CsvWriteOperator final : public Operator {
public:
    CsvWriteOperator(const CsvWriteConfig& config, OutputFile out, const OpenContext& ctx,
                     SchemaRef existing_header)
        : config_(config), out_(std::move(out)), stage_id_(ctx.stage_id), metrics_(ctx.metrics),
          input_schemas_(ctx.input_schemas.begin(), ctx.input_schemas.end()),
          flush_each_batch_(ctx.mode == ExecutionMode::Streaming || config.writing.append),
          schedule_(FlushSchedule::for_sink(config.writing.flush_interval_ms, config.writing.append,
                                            config.writing.fsync_interval_ms)) {
        file_start_ = out_.initial_size() == 0;
        if (existing_header) {
            // Appending under an existing header: it names the columns (a field it lacks is
            // an error, as for any header), and is not repeated.
            header_ = std::move(existing_header);
            header_written_ = true;
            mark_special_bytes();
            return;
        }
        if (config_.writing.append && out_.initial_size() > 0)
            header_written_ = true; // no header row
        if (!config_.columns.empty())
            header_ = make_schema(config_.columns);
        else if (input_schemas_.size() == 1 && input_schemas_.front() &&
                 input_schemas_.front()->size() > 0)
            header_ = input_schemas_.front();
        else if (std::vector<std::string> names = union_of_names(input_schemas_); !names.empty())
            header_ = make_schema(std::move(names));
        // "user.address.city" in `columns` writes that nested value (unless a field of that
        // very name exists).
        for (const std::string& c : config_.columns) {
            auto path = expr::FieldPath::parse(c);
            column_paths_.push_back(path && path->steps().size() > 1
                                        ? std::optional<expr::FieldPath>(std::move(*path))
                                        : std::nullopt);
        }
        mark_special_bytes();
    }

    /// Carries on after a checkpoint whose output `out_` was adopted from.
    void restore(ResumeState state) {
        header_ = std::move(state.header);
        header_written_ = state.header_written;
    }

    Status push(std::size_t port, Batch&& batch, Emitter& out) override;
    Status finish(Emitter& out) override;
    void abort() noexcept override { out_.abort(); }
    Status suspend() override {
        CONVEYOR_TRY(flush());
        std::string().swap(buf_);
        return out_.suspend();
    }
    /// path = "-" and the reader closed standard output (`| head`).
    [[nodiscard]] bool satisfied() const noexcept override { return out_.reader_gone(); }
    [[nodiscard]] std::optional<FlushSchedule::Clock::time_point> timer() const override {
        if (!flush_each_batch_) return std::nullopt;
        return schedule_.next(out_.buffered() > 0);
    }
    Status on_timer(Emitter& /*out*/) override {
        return conveyor::write_out(schedule_, out_, FlushSchedule::Clock::now());
    }
    /// Files only (OpenedStage::checkpoints). See csv_write.hpp for the text.
    Result<std::string> checkpoint(const Checkpoint& cp) override;

private:
    /// How the columns of one input schema line up with the header.
    struct Mapping {
        SchemaRef schema; // held so that the pointer used as the key stays unique
        bool identity = false;
        std::vector<std::size_t> source; // per header column: index in schema, or npos
        std::vector<std::size_t> extras; // schema fields the header does not have
        // Per header column without a field of its name: where its path (a `columns` entry
        // such as "user.address.city") leads in records of this schema.
        std::vector<expr::ResolvedPath> nested;
    };

    /// The bytes that make a field quoted (needs_quote_, mask_quote_): the delimiter, the
    /// quote, CR and LF; without quoting, those a field cannot hold.
    void mark_special_bytes() {
        quoting_ = config_.quote != kNoQuote;
        mask_quote_ = quoting_ ? config_.quote : config_.delimiter;
        for (const char c : {config_.delimiter, mask_quote_, '\n', '\r'})
            needs_quote_[static_cast<unsigned char>(c)] = true;
    }
    /// Without quoting (quote = ""), the record error for a field holding the delimiter or a
    /// line break (`column`: its header name; empty for the header row itself).
    Error unwritable_error(std::string_view column) const;
    const Mapping& mapping_for(const SchemaRef& schema);
    Status write_batch(const Batch& batch);
    /// Hands the batch's text to the file; in streaming or append mode also writes it out
    /// (whole lines, one write) and syncs when fsync_interval_ms has passed.
    Status end_of_batch();
    void write_header();
    void append_field(const Value& v, bool only_column);
    void append_text(std::string_view s);
    /// Appends a row of the header's shape through one reservation; false (with nothing
    /// appended) when one of its fields needs append_field: a quote to double inside a text,
    /// a list or an object.
    bool append_row_fast(std::span<const Value> row);
    /// Whether `s` holds a byte that makes a field quoted (delimiter, quote, CR, LF).
    [[nodiscard]] bool must_quote(std::string_view s) const noexcept;
    Status flush();
    Error unknown_field_error(std::string_view field) const;

    CsvWriteConfig config_;
    OutputFile out_;
    std::string stage_id_;
    StageMetrics* metrics_;
    std::vector<SchemaRef> input_schemas_;
    SchemaRef header_;
    bool header_written_ = false;
    bool flush_each_batch_;
    FlushSchedule schedule_;
    std::vector<Mapping> mappings_;
    std::size_t last_mapping_ = 0;
    /// Per `columns` entry: its path into nested values, when it is one.
    std::vector<std::optional<expr::FieldPath>> column_paths_;
    std::string buf_;
    std::string nested_;
    std::array<bool, 256> needs_quote_{};
    bool quoting_ = true;
    char mask_quote_ = '"';
    /// Without quoting: append_text met a field it cannot write (the batch fails).
    bool unwritable_ = false;
    bool unwritable_start_ = false; ///< ...for how it starts the file, not for what it holds
    std::string unwritable_text_;
    /// Nothing is in the file yet: its first field is quoted when its text would be taken for
    /// a byte-order mark or a compressed format's magic number (taken_for_a_mark_or_magic),
    /// which csv.read drops or refuses the file for.
    bool file_start_ = false;
};

Status CsvWriteOperator::push(std::size_t, Batch&& batch, Emitter&) {
    Status s = write_batch(batch);
    // None of a batch that fails reaches the output (its text is dropped; an appended file is
    // cut back to its last complete record): all its records failed, so that the stage's
    // records in = out + failed (the executor counts in and out).
    if (!s && metrics_) metrics_->records_failed.fetch_add(batch.rows(), std::memory_order_relaxed);
    return s;
}

Status CsvWriteOperator::finish(Emitter&) {
    if (!header_written_ && header_) write_header();
    if (unwritable_) {
        buf_.clear();
        return unwritable_error({});
    }
    CONVEYOR_TRY(flush());
    return out_.commit();
}

Result<std::string> CsvWriteOperator::checkpoint(const Checkpoint& cp) {
    CONVEYOR_TRY(flush());
    auto at = conveyor::checkpoint_out(schedule_, out_, cp.durable, FlushSchedule::Clock::now());
    if (!at) return std::move(at).error();
    std::string state = header_written_ ? "\"header_written\":true" : "\"header_written\":false";
    state += ",\"header\":";
    if (header_) {
        state.push_back('[');
        for (std::size_t c = 0; c < header_->size(); ++c) {
            if (c) state.push_back(',');
            json::append_string(state, header_->name(c));
        }
        state.push_back(']');
    } else {
        state += "null";
    }
    return sink_checkpoint_text(kSinkName, out_.path(), config_.writing.append, *at, state);
}

Status CsvWriteOperator::end_of_batch() {
    CONVEYOR_TRY(flush());
    if (!flush_each_batch_) return {};
    return conveyor::write_out(schedule_, out_, FlushSchedule::Clock::now());
}

const CsvWriteOperator::Mapping& CsvWriteOperator::mapping_for(const SchemaRef& schema) {
    if (last_mapping_ < mappings_.size() && mappings_[last_mapping_].schema == schema)
        return mappings_[last_mapping_];
    for (std::size_t i = 0; i < mappings_.size(); ++i) {
        if (mappings_[i].schema == schema) {
            last_mapping_ = i;
            return mappings_[i];
        }
    }
    Mapping m;
    m.schema = schema;
    m.identity = schema == header_ || *schema == *header_;
    if (!m.identity) {
        m.source.reserve(header_->size());
        for (const std::string& name : header_->names())
            m.source.push_back(schema->find(name).value_or(Batch::npos));
        m.nested.resize(header_->size());
        for (std::size_t c = 0; c < column_paths_.size() && c < header_->size(); ++c)
            if (m.source[c] == Batch::npos && column_paths_[c])
                m.nested[c] = expr::resolve(*column_paths_[c], *schema);
        for (std::size_t i = 0; i < schema->size(); ++i)
            if (!header_->find(schema->name(i))) m.extras.push_back(i);
    }
    last_mapping_ = mappings_.size();
    mappings_.push_back(std::move(m));
    return mappings_.back();
}

Status CsvWriteOperator::write_batch(const Batch& batch) {
    if (!header_) header_ = batch.schema_ref();
    if (!header_written_) write_header();
    if (unwritable_) { // the header's: every batch fails
        buf_.clear();
        return unwritable_error({});
    }
    if (batch.empty()) return {};
    const Mapping& m = mapping_for(batch.schema_ref());
    const std::size_t width = header_->size();
    const char delimiter = config_.delimiter;
    for (std::size_t r = 0; r < batch.rows(); ++r) {
        const std::span<const Value> row = batch.row(r);
        for (const std::size_t x : m.extras) {
            if (!row[x].is_absent() && config_.columns.empty()) {
                buf_.clear();
                return unknown_field_error(batch.schema().name(x));
            }
        }
        if (width == 0) continue;
        if (m.identity && width > 1 && !file_start_ && append_row_fast(row)) continue;
        for (std::size_t c = 0; c < width; ++c) {
            if (c) buf_.push_back(delimiter);
            if (m.identity) {
                append_field(row[c], width == 1);
            } else {
                const std::size_t src = m.source[c];
                if (src != Batch::npos)
                    append_field(row[src], width == 1);
                else if (m.nested[c].found())
                    append_field(expr::lookup(*column_paths_[c], m.nested[c], row), width == 1);
                else
                    append_field(Value::absent(), width == 1);
            }
            if (unwritable_) { // this batch fails; the next one is written if it can be
                buf_.clear();
                unwritable_ = false;
                return unwritable_error(header_->name(c));
            }
            file_start_ = false;
        }
        buf_.push_back('\n');
    }
    return end_of_batch();
}

void CsvWriteOperator::write_header() {
    header_written_ = true;
    if (!config_.headers || header_->size() == 0) return;
    for (std::size_t c = 0; c < header_->size(); ++c) {
        if (c) buf_.push_back(config_.delimiter);
        append_text(header_->name(c));
        file_start_ = false;
    }
    buf_.push_back('\n');
}

// Null and absent are empty fields. A record whose only field is empty would be an empty line,
// which readers skip, so that one is written as "" to keep the record.
void CsvWriteOperator::append_field(const Value& v, bool only_column) {
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        if (only_column && quoting_) {
            buf_.push_back(config_.quote);
            buf_.push_back(config_.quote);
        }
        return;
    case Kind::Bool:
        buf_ += v.as_bool() ? "true" : "false";
        return;
    case Kind::Int: {
        char tmp[24];
        const auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v.as_int());
        buf_.append(tmp, end);
        return;
    }
    case Kind::Double:
        if (v.has_number_text())
            buf_ += v.number_text();
        else if (std::isfinite(v.as_double()))
            json::append_double(buf_, v.as_double());
        else if (only_column)
            append_text({}); // not finite: empty, like null
        return;
    case Kind::String:
        // An unquoted empty field read without inference is written as it was read.
        if (!only_column && is_bare_empty(v)) return;
        append_text(v.as_string());
        return;
    case Kind::Array:
    case Kind::Object:
        nested_.clear();
        json::append_value(nested_, v);
        append_text(nested_);
        return;
    }
}

inline bool CsvWriteOperator::must_quote(std::string_view s) const noexcept {
    // The bytes that need quoting are exactly the delimiter, the quote, CR and LF: compared
    // 16 bytes at a time (SSE2), then 8 (one word: a zero byte of x ^ c is a match), then one.
    const char* p = s.data();
    const char* const end = p + s.size();
#if defined(__SSE2__)
    const __m128i d16 = _mm_set1_epi8(config_.delimiter);
    const __m128i q16 = _mm_set1_epi8(mask_quote_);
    const __m128i lf16 = _mm_set1_epi8('\n');
    const __m128i cr16 = _mm_set1_epi8('\r');
    while (end - p >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, d16), _mm_cmpeq_epi8(x, q16)),
                         _mm_or_si128(_mm_cmpeq_epi8(x, lf16), _mm_cmpeq_epi8(x, cr16)));
        if (_mm_movemask_epi8(hit) != 0) return true;
        p += 16;
    }
    if (p < end && short_bytes::loadable16(p)) {
        // The last 1 to 15 bytes in one compare; the bytes past `end` are masked off.
        const __m128i x = short_bytes::load16(p);
        const __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, d16), _mm_cmpeq_epi8(x, q16)),
                         _mm_or_si128(_mm_cmpeq_epi8(x, lf16), _mm_cmpeq_epi8(x, cr16)));
        return (static_cast<unsigned>(_mm_movemask_epi8(hit)) &
                short_bytes::first_bits(static_cast<std::size_t>(end - p))) != 0;
    }
#endif
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    const auto zero_byte = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
    const std::uint64_t d8 = kOnes * static_cast<unsigned char>(config_.delimiter);
    const std::uint64_t q8 = kOnes * static_cast<unsigned char>(mask_quote_);
    while (end - p >= 8) {
        std::uint64_t x = 0;
        std::memcpy(&x, p, 8);
        if (zero_byte(x ^ d8) | zero_byte(x ^ q8) | zero_byte(x ^ (kOnes * '\n')) |
            zero_byte(x ^ (kOnes * '\r')))
            return true;
        p += 8;
    }
    for (; p < end; ++p)
        if (needs_quote_[static_cast<unsigned char>(*p)]) return true;
    return false;
}

bool CsvWriteOperator::append_row_fast(std::span<const Value> row) {
    // The most bytes each field can take: text as it is or quoted, numbers as their text or
    // as json::write_double writes them, the rest (lists, objects) through append_field.
    std::size_t bound = row.size() + 1;
    for (const Value& v : row) {
        switch (v.kind()) {
        case Kind::Absent:
        case Kind::Null:
        case Kind::Bool:
            bound += 5;
            break;
        case Kind::Int:
            bound += 20;
            break;
        case Kind::Double:
            bound += v.has_number_text() ? v.number_text().size() : json::kMaxDoubleText;
            break;
        case Kind::String:
            bound += v.as_string().size() + 2;
            break;
        default:
            return false;
        }
    }
    const char quote = config_.quote;
    const std::size_t start = buf_.size();
    buf_.resize(start + bound + 16); // and the 16 bytes a short copy may store past its end
    char* p = buf_.data() + start;
    for (std::size_t c = 0; c < row.size(); ++c) {
        if (c) *p++ = config_.delimiter;
        const Value& v = row[c];
        switch (v.kind()) {
        case Kind::Absent:
        case Kind::Null:
            break; // an empty field (the row has other fields: it is not an empty line)
        case Kind::Bool:
            if (v.as_bool()) {
                std::memcpy(p, "true", 4);
                p += 4;
            } else {
                std::memcpy(p, "false", 5);
                p += 5;
            }
            break;
        case Kind::Int:
            p = std::to_chars(p, p + 20, v.as_int()).ptr;
            break;
        case Kind::Double: {
            if (v.has_number_text()) {
                const std::string_view t = v.number_text();
                short_bytes::copy(p, t.data(), t.size());
                p += t.size();
                break;
            }
            const double d = v.as_double();
            if (std::isfinite(d)) p = json::write_double(p, d); // else empty, like null
            break;
        }
        case Kind::String: {
            const std::string_view t = v.as_string();
            bool quoted = (t.empty() && !is_bare_empty(v)) || must_quote(t);
            if (quoted && !quoting_) {
                if (!t.empty()) {
                    buf_.resize(start); // append_text reports it
                    return false;
                }
                quoted = false; // without quotes an empty string is an empty field
            }
            if (quoted && !t.empty() && std::memchr(t.data(), quote, t.size()) != nullptr) {
                buf_.resize(start); // a quote to double: append_field's way
                return false;
            }
            if (quoted) *p++ = quote;
            short_bytes::copy(p, t.data(), t.size());
            p += t.size();
            if (quoted) *p++ = quote;
            break;
        }
        default:
            break; // not reached: the bound loop returned
        }
    }
    *p++ = '\n';
    buf_.resize(static_cast<std::size_t>(p - buf_.data()));
    return true;
}

// Quotes a field only when it must be (delimiter, quote, CR or LF inside). The empty string is
// written as "" so that it reads back as an empty string rather than as null.
void CsvWriteOperator::append_text(std::string_view s) {
    if (!quoting_) {
        // Written as it is; a field that holds the delimiter or a line break cannot be, nor
        // a first field that csv.read would take for a byte-order mark or a magic number.
        if (!unwritable_ && (must_quote(s) || (file_start_ && taken_for_a_mark_or_magic(s)))) {
            unwritable_ = true;
            unwritable_text_ = s;
            unwritable_start_ = !must_quote(s);
        }
        buf_.append(s);
        return;
    }
    const char quote = config_.quote;
    if (s.empty()) {
        buf_.push_back(quote);
        buf_.push_back(quote);
        return;
    }
    if (!must_quote(s) && !(file_start_ && taken_for_a_mark_or_magic(s))) {
        buf_.append(s);
        return;
    }
    buf_.push_back(quote);
    const char* p = s.data();
    const char* const end = p + s.size();
    while (p < end) {
        const void* hit = std::memchr(p, quote, static_cast<std::size_t>(end - p));
        const char* stop = hit ? static_cast<const char*>(hit) + 1 : end;
        buf_.append(p, stop);
        if (hit) buf_.push_back(quote); // doubled
        p = stop;
    }
    buf_.push_back(quote);
}

Status CsvWriteOperator::flush() {
    if (buf_.empty()) return {};
    const std::size_t n = buf_.size();
    CONVEYOR_TRY(out_.write_and_clear(buf_));
    if (metrics_) metrics_->bytes_written.fetch_add(n, std::memory_order_relaxed);
    return {};
}

Error CsvWriteOperator::unknown_field_error(std::string_view field) const {
    constexpr std::size_t kShown = 12;
    std::string columns;
    for (std::size_t i = 0; i < header_->size() && i < kShown; ++i) {
        if (i) columns += ", ";
        columns += header_->name(i);
    }
    if (header_->size() > kShown) columns += fmt::format(", ... ({} in all)", header_->size());
    return Error(ErrorKind::Data,
                 fmt::format("record has field '{}' that is not in the CSV header (columns: {}); "
                             "list the columns to write with 'columns = [...]', choose them "
                             "with select.apply before this stage, or give every record every "
                             "field with unsparsify.apply before it",
                             field, columns),
                 out_.is_stdout() ? std::string("<stdout>") : out_.path(), stage_id_);
}

Error CsvWriteOperator::unwritable_error(std::string_view column) const {
    constexpr std::size_t kShown = 60;
    std::string text = unwritable_text_.substr(0, kShown);
    if (unwritable_text_.size() > kShown) text += "...";
    std::string shown;
    json::append_string(shown, text);
    return Error(ErrorKind::Data,
                 fmt::format("{} {} {}, which a file without quoting (quote = \"\") cannot "
                             "hold; replace them before this stage (map.apply with replace()) "
                             "or let csv.write quote the field",
                             column.empty() ? std::string("the header name")
                                            : "a value of column '" + std::string(column) + "'",
                             shown,
                             unwritable_start_
                                 ? std::string("starts the file as a byte-order mark or a "
                                               "compressed file does (csv.read would drop it or "
                                               "refuse the file)")
                                 : "holds " +
                                       describe_byte_string(std::string(1, config_.delimiter)) +
                                       " or a line break"),
                 out_.is_stdout() ? std::string("<stdout>") : out_.path(), stage_id_);
}

Result<ResumeState> read_resume_state(const SinkResume& resume, const CsvWriteConfig& config) {
    ResumeState state;
    auto written = resume.get_bool("header_written");
    if (!written) return std::move(written).error();
    state.header_written = *written;
    auto header = resume.get_string_list("header");
    if (!header) return std::move(header).error();
    if (*header) {
        if (!config.columns.empty() && **header != config.columns)
            return resume.error(fmt::format("the checkpoint's columns ({}) differ from 'columns' "
                                            "({})",
                                            fmt::join(**header, ","),
                                            fmt::join(config.columns, ",")));
        state.header = make_schema(std::move(**header));
    }
    return state;
}

/// A name in `columns` that no input gives, when every input has a fixed header (CSV): a
/// misspelt column would otherwise be written empty on every row without a word.
Status check_columns(const std::vector<std::string>& columns, const OpenContext& ctx) {
    if (ctx.input_schemas.empty()) return {};
    for (std::size_t i = 0; i < ctx.input_schemas.size(); ++i) {
        const SchemaRef& in = ctx.input_schemas[i];
        if (!in || i >= ctx.input_schemas_fixed.size() || !ctx.input_schemas_fixed[i]) return {};
    }
    const std::vector<std::string> names = union_of_names(ctx.input_schemas);
    for (const std::string& c : columns) {
        bool found = false;
        for (const SchemaRef& in : ctx.input_schemas) {
            if (in->find(c)) found = true;
            auto path = expr::FieldPath::parse(c);
            if (path && path->steps().size() > 1 && expr::resolve(*path, *in).found()) found = true;
        }
        if (!found)
            return fail(ErrorKind::Config,
                        fmt::format("columns: field '{}' is not in the input (columns: {}){}; an "
                                    "empty column of that name is made with map.apply ({} = "
                                    "\"null\")",
                                    c, fmt::join(names, ", "), did_you_mean(c, names), c));
    }
    return {};
}

class CsvWriteStage final : public Stage {
public:
    explicit CsvWriteStage(CsvWriteConfig config) : config_(std::move(config)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (!config_.split_member) CONVEYOR_TRY(check_columns(config_.columns, ctx));
        if (config_.split) // one writer per file, each this stage aimed at that file
            return open_split_stage(*config_.split, config_.writing.append, ctx,
                                    split_file_writer<CsvWriteStage>(config_));
        const bool to_file = config_.path != "-";
        if (ctx.resume && !to_file)
            return fail(ErrorKind::Runtime, "standard output cannot be resumed from a checkpoint",
                        "<stdout>");
        // Everything in the text is checked before the output is adopted: a failure after that
        // would delete it.
        std::optional<SinkResume> resume;
        ResumeState state;
        if (ctx.resume) {
            auto parsed =
                SinkResume::parse(kSinkName, *ctx.resume, config_.path, config_.writing.append);
            if (!parsed) return std::move(parsed).error();
            auto read = read_resume_state(*parsed, config_);
            if (!read) return std::move(read).error();
            state = std::move(*read);
            resume = std::move(*parsed);
        }
        auto out = open_sink_output(config_.path, config_.writing, resume ? &*resume : nullptr,
                                    ctx.run, !config_.split_member);
        if (!out) return std::move(out).error();
        const bool special = out->is_special();
        SchemaRef existing;
        // Resuming, the checkpoint says what the header is, whatever the file holds now.
        if (!resume && config_.writing.append && config_.headers && out->initial_size() > 0) {
            auto header = read_existing_header();
            if (!header) return std::move(header).error();
            existing = std::move(header).value();
            if (existing && !config_.columns.empty() && existing->names() != config_.columns)
                return fail(ErrorKind::Config,
                            fmt::format("append = true: the file's header ({}) differs from "
                                        "'columns' ({})",
                                        fmt::join(existing->names(), ","),
                                        fmt::join(config_.columns, ",")),
                            config_.path);
        }
        auto op =
            std::make_unique<CsvWriteOperator>(config_, std::move(*out), ctx, std::move(existing));
        if (resume) op->restore(std::move(state));
        OpenedStage opened(std::unique_ptr<Operator>(std::move(op)), nullptr);
        // A device or FIFO is written directly: nothing a resumed run could take up again.
        opened.checkpoints = to_file && !special;
        return opened;
    }

private:
    /// The header row of the file being appended to (nullptr when it has none).
    Result<SchemaRef> read_existing_header() const {
        auto in = InputFile::open(config_.path, nullptr);
        if (!in) return std::move(in).error();
        CsvReader reader(std::move(*in), ReaderConfig{config_.delimiter, config_.quote, false});
        Batch scratch;
        reader.attach(&scratch);
        std::vector<Value> fields;
        auto got = reader.next_record(fields);
        reader.attach(nullptr);
        if (!got) return std::move(got).error();
        if (!*got) return SchemaRef{};
        std::vector<std::string> names;
        for (const Value& v : fields)
            names.emplace_back(v.as_string());
        return make_schema(std::move(names));
    }

    CsvWriteConfig config_;
};

} // namespace

std::unique_ptr<Stage> make_csv_write_stage(CsvWriteConfig config) {
    return std::make_unique<CsvWriteStage>(std::move(config));
}

} // namespace conveyor::recordio::csv
