#include "conveyor/recordio/csv_reader.hpp"

#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_typing.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <mutex>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace conveyor::recordio::csv {

namespace {

// Blocks are over-allocated by this much so the 64-byte scan may read past the valid bytes;
// bits beyond them are masked off.
constexpr std::size_t kPadding = 64;
constexpr std::size_t kNoChunk = static_cast<std::size_t>(-1);
constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

// Bit i is set when p[i] is the delimiter, the quote, CR or LF.
inline std::uint64_t special_mask(const char* p, std::size_t avail, char delimiter,
                                  char quote) noexcept {
    std::uint64_t mask = 0;
#if defined(__SSE2__)
    const __m128i d = _mm_set1_epi8(delimiter);
    const __m128i q = _mm_set1_epi8(quote);
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    for (int i = 0; i < 4; ++i) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
        const __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, d), _mm_cmpeq_epi8(v, q)),
                         _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
        mask |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(hit)))
                << (16 * i);
    }
#else
    for (int i = 0; i < 64; ++i) {
        const char c = p[i];
        if (c == delimiter || c == quote || c == '\n' || c == '\r') mask |= std::uint64_t{1} << i;
    }
#endif
    if (avail < 64) mask &= (std::uint64_t{1} << avail) - 1;
    return mask;
}

} // namespace

/// The reader's blocks, recycled: a block released by the last batch holding it (on whatever
/// thread) comes back here instead of going to malloc, so a long read keeps reusing the same
/// few blocks. Without it, freed blocks and other allocations interleave in the heap and the
/// process grows in steps as it runs; fresh blocks also cost page faults.
class BlockPool : public std::enable_shared_from_this<BlockPool> {
public:
    explicit BlockPool(std::size_t bytes) : bytes_(bytes) {}

    /// A block of `bytes` (+ padding, zeroed); other sizes (a record larger than a block) are
    /// allocated and freed as usual.
    std::shared_ptr<char[]> take(std::size_t bytes) {
        char* raw = nullptr;
        if (bytes == bytes_) {
            std::lock_guard lock(mu_);
            if (!free_.empty()) {
                raw = free_.back().release();
                free_.pop_back();
            }
        }
        if (!raw) {
            raw = new char[bytes + kPadding];
            std::memset(raw + bytes, 0, kPadding);
        }
        return std::shared_ptr<char[]>(
            raw, [pool = shared_from_this(), bytes](char* p) { pool->give_back(p, bytes); });
    }

private:
    static constexpr std::size_t kKept = 16;

    void give_back(char* p, std::size_t bytes) {
        std::unique_ptr<char[]> block(p);
        if (bytes != bytes_) return;
        std::lock_guard lock(mu_);
        if (free_.size() < kKept) free_.push_back(std::move(block));
    }

    std::size_t bytes_;
    std::mutex mu_;
    std::vector<std::unique_ptr<char[]>> free_;
};

std::shared_ptr<BlockPool> make_block_pool(std::size_t block_size) {
    return std::make_shared<BlockPool>(std::max<std::size_t>(block_size, 1));
}

CsvReader::CsvReader(InputFile file, ReaderConfig config, StageMetrics* metrics,
                     std::shared_ptr<BlockPool> pool)
    : file_(std::move(file)), config_(config), metrics_(metrics), pool_(std::move(pool)) {
    if (config_.block_size == 0) config_.block_size = 1;
    if (!pool_) pool_ = make_block_pool(config_.block_size);
    quoting_ = config_.quote != kNoQuote;
    mask_quote_ = quoting_ ? config_.quote : config_.delimiter;
}

void CsvReader::attach(Batch* batch) {
    batch_ = batch;
    if (batch_ && block_) batch_->keep_alive(block_);
}

std::string CsvReader::where() const {
    return fmt::format("{}:{}", display_name(), record_line_);
}

// Inlined into the parse loop: one call per field.
[[gnu::always_inline]] inline std::size_t CsvReader::find_special(std::size_t p) noexcept {
    for (;;) {
        if (p >= end_) return end_;
        if (p < chunk_ || p - chunk_ >= 64) {
            chunk_ = p;
            mask_ = special_mask(data_ + p, end_ - p, config_.delimiter, mask_quote_);
        }
        const std::uint64_t m = mask_ & (~std::uint64_t{0} << (p - chunk_));
        if (m) return chunk_ + static_cast<std::size_t>(__builtin_ctzll(m));
        p = chunk_ + 64;
    }
}

// The end of an unquoted field: the next delimiter or line break. Quotes in it are literal.
[[gnu::always_inline]] inline std::size_t CsvReader::find_unquoted_end(std::size_t p) noexcept {
    for (;;) {
        const std::size_t s = find_special(p);
        if (s >= end_ || !quoting_ || data_[s] != config_.quote) return s;
        p = s + 1;
    }
}

[[gnu::always_inline]] inline Value CsvReader::make_value(std::string_view text,
                                                          bool quoted) noexcept {
    if (config_.infer_types) return infer_value(text, quoted);
    if (text.empty() && !quoted) return bare_empty(); // written back as it was: no quotes
    return Value::string(text);
}

// Copies a quoted field's content into the batch arena with doubled quotes made single, then
// any text that followed the closing quote, literally.
std::string_view CsvReader::unescape(std::string_view quoted_text, std::string_view literal_tail) {
    Arena& arena = batch_->arena();
    const std::size_t cap = quoted_text.size() + literal_tail.size();
    if (cap == 0) return {};
    char* out = arena.allocate_array<char>(cap);
    char* w = out;
    const char q = config_.quote;
    const char* p = quoted_text.data();
    const char* const end = p + quoted_text.size();
    while (p < end) {
        const char* hit =
            static_cast<const char*>(std::memchr(p, q, static_cast<std::size_t>(end - p)));
        if (!hit) hit = end;
        std::memcpy(w, p, static_cast<std::size_t>(hit - p));
        w += hit - p;
        if (hit == end) break;
        *w++ = q;
        p = hit + 2; // the pair stands for one quote (inside a closed field quotes come in pairs)
    }
    // An empty tail may have a null data(): memcpy must not see it (UBSan reports it).
    if (!literal_tail.empty()) std::memcpy(w, literal_tail.data(), literal_tail.size());
    w += literal_tail.size();
    return {out, static_cast<std::size_t>(w - out)};
}

Result<bool> CsvReader::next_record(std::vector<Value>& fields) {
    auto r = fetch_record(fields, true);
    if (!r) return std::move(r).error();
    return *r == Fetch::Record;
}

Result<CsvReader::Fetch> CsvReader::fetch_record(std::vector<Value>& fields, bool may_wait) {
    for (;;) {
        switch (parse_record(fields)) {
        case Step::Record:
            return Fetch::Record;
        case Step::End:
            return Fetch::End;
        case Step::Error:
            return error_;
        case Step::NeedMore:
            // After a stop the complete records already read were passed on; an incomplete
            // one at the end of what was read is not a record.
            if (interrupted_) return Fetch::End;
            if (!may_wait && block_ && file_.may_block()) return Fetch::WouldWait;
            CONVEYOR_TRY(refill());
            break;
        }
    }
}

// Parses one record starting at pos_. Only a complete record moves pos_/line_ forward (blank
// lines before it are consumed either way); NeedMore leaves the record to be parsed again once
// more input is in the block.
CsvReader::Step CsvReader::parse_record(std::vector<Value>& fields) {
    assert(batch_ && "attach() a batch before reading");
    fields.clear();
    stray_ = false;
    if (!bom_checked_) {
        if (end_ - pos_ < 3 && !eof_) return Step::NeedMore;
        if (end_ - pos_ >= 3 && std::memcmp(data_ + pos_, "\xEF\xBB\xBF", 3) == 0) pos_ += 3;
        bom_checked_ = true;
    }

    const char* const d = data_;
    const std::size_t end = end_;
    const char delimiter = config_.delimiter;
    const char quote = config_.quote;

    std::size_t p = pos_;
    std::uint64_t line = line_;
    for (;;) { // blank lines
        if (p >= end) {
            pos_ = p;
            line_ = line;
            return eof_ ? Step::End : Step::NeedMore;
        }
        if (config_.blank_lines_are_records && (d[p] == '\n' || d[p] == '\r')) {
            pos_ = p;
            line_ = line;
            return blank_record(fields);
        }
        if (d[p] == '\n') {
            ++p;
            ++line;
        } else if (d[p] == '\r') {
            if (p + 1 >= end && !eof_) break; // cannot tell CRLF from a lone CR yet
            p += (p + 1 < end && d[p + 1] == '\n') ? 2 : 1;
            ++line;
        } else if (config_.comment != 0 && d[p] == config_.comment) {
            // A comment line: skipped with its line break, quotes and delimiters in it
            // included.
            std::size_t q = p;
            while (q < end && d[q] != '\n' && d[q] != '\r')
                ++q;
            if ((q >= end || (d[q] == '\r' && q + 1 >= end)) && !eof_) {
                pos_ = p;
                line_ = line;
                return Step::NeedMore;
            }
            // Its line break goes with it: where blank lines are records, it is not one.
            if (q < end) {
                q += d[q] == '\r' && q + 1 < end && d[q + 1] == '\n' ? 2 : 1;
                ++line;
            }
            p = q;
        } else {
            break;
        }
    }
    pos_ = p;
    line_ = line;
    if (p >= end || d[p] == '\r') return Step::NeedMore; // the CR at the end of the block
    if (block_offset_ + p >= limit_) {
        at_limit_ = true;
        return Step::End;
    }

    for (;;) {
        if (quoting_ && p < end && d[p] == quote) {
            const std::uint64_t open_line = line;
            const std::size_t content = p + 1;
            std::size_t q = content;
            bool doubled = false;
            std::size_t close;
            for (;;) {
                const std::size_t s = find_special(q);
                if (s >= end) {
                    if (!eof_) return Step::NeedMore;
                    error_ = Error(ErrorKind::Data,
                                   "quoted field is never closed: the quote that opens it has no "
                                   "closing quote before the end of the input (if the "
                                   "file's fields are not quoted and a quote is text in "
                                   "them, read it with quote = \"\")",
                                   fmt::format("{}:{}", display_name(), open_line));
                    unterminated_ = true;
                    record_line_ = open_line;
                    return Step::Error;
                }
                const char c = d[s];
                if (c == quote) {
                    if (s + 1 < end) {
                        if (d[s + 1] == quote) {
                            doubled = true;
                            q = s + 2;
                            continue;
                        }
                    } else if (!eof_) {
                        return Step::NeedMore; // a doubled quote may continue in the next read
                    }
                    close = s;
                    break;
                }
                if (c == '\n') {
                    ++line;
                } else if (c == '\r') {
                    if (s + 1 >= end) {
                        if (!eof_) return Step::NeedMore;
                        ++line;
                    } else if (d[s + 1] != '\n') {
                        ++line;
                    }
                }
                q = s + 1;
            }
            std::string_view text(d + content, close - content);
            p = close + 1;
            if (p < end && d[p] != delimiter && d[p] != '\n' && d[p] != '\r') {
                // `"abc"def`: like most readers, keep what follows the closing quote literally.
                const std::size_t e = find_unquoted_end(p);
                if (e >= end && !eof_) return Step::NeedMore;
                text = unescape(text, std::string_view(d + p, e - p));
                p = e;
                stray_ = true;
            } else if (doubled) {
                text = unescape(text, {});
            }
            fields.push_back(make_value(text, true));
        } else {
            const std::size_t e = find_unquoted_end(p);
            if (e >= end && !eof_) return Step::NeedMore;
            fields.push_back(make_value(std::string_view(d + p, e - p), false));
            p = e;
        }

        if (p >= end) { // the last line has no line break (only reached at end of input)
            record_line_ = line_;
            record_start_ = pos_;
            pos_ = p;
            line_ = line + 1;
            return Step::Record;
        }
        const char c = d[p];
        if (c == delimiter) {
            ++p;
            continue;
        }
        if (c == '\r') {
            if (p + 1 >= end) {
                if (!eof_) return Step::NeedMore;
                ++p;
            } else {
                p += d[p + 1] == '\n' ? 2 : 1;
            }
        } else { // '\n'
            ++p;
        }
        record_line_ = line_;
        record_start_ = pos_;
        pos_ = p;
        line_ = line + 1;
        return Step::Record;
    }
}

// A blank line at pos_ as a record of one empty field (one-column files): unquoted, so null
// with type inference, written back as an empty field without.
CsvReader::Step CsvReader::blank_record(std::vector<Value>& fields) {
    const std::size_t p = pos_;
    std::size_t next = p + 1;
    if (data_[p] == '\r') {
        if (p + 1 >= end_ && !eof_) return Step::NeedMore; // cannot tell CRLF from a lone CR yet
        if (p + 1 < end_ && data_[p + 1] == '\n') next = p + 2;
    }
    if (block_offset_ + p >= limit_) {
        at_limit_ = true;
        return Step::End;
    }
    fields.push_back(make_value(std::string_view(data_ + p, 0), false));
    record_line_ = line_;
    record_start_ = p;
    pos_ = next;
    ++line_;
    return Step::Record;
}

Status CsvReader::resume_at(std::uint64_t offset, std::uint64_t line) {
    CONVEYOR_TRY(file_.seek(offset));
    block_.reset();
    data_ = nullptr;
    capacity_ = end_ = pos_ = record_start_ = 0;
    block_offset_ = offset;
    line_ = line;
    record_line_ = 0;
    eof_ = interrupted_ = unterminated_ = at_limit_ = false;
    // Only the start of the file can hold a byte order mark.
    bom_checked_ = offset != 0;
    chunk_ = kNoChunk;
    return {};
}

std::string_view CsvReader::take_unterminated() noexcept {
    if (!unterminated_) return {};
    unterminated_ = false;
    std::size_t e = end_;
    while (e > pos_ && (data_[e - 1] == '\n' || data_[e - 1] == '\r'))
        --e;
    const std::string_view tail(data_ + pos_, e - pos_);
    pos_ = end_;
    return tail;
}

std::string_view CsvReader::last_record_text() const noexcept {
    std::size_t e = pos_;
    while (e > record_start_ && (data_[e - 1] == '\n' || data_[e - 1] == '\r'))
        --e;
    return {data_ + record_start_, e - record_start_};
}

// Makes room for more input after the unparsed tail [pos_, end_) and reads once. Appends in
// place while the block has room (values already handed out stay valid); otherwise moves the
// tail to the front of the block if nobody else holds it, or to a new block.
Status CsvReader::refill() {
    const std::size_t tail = end_ - pos_;
    if (tail > config_.max_record_bytes) {
        return fail(ErrorKind::Data,
                    fmt::format("record is larger than {} bytes; is a quote left open? (a quoted "
                                "field runs until its closing quote, across lines)",
                                config_.max_record_bytes),
                    fmt::format("{}:{}", display_name(), line_));
    }
    const std::size_t min_read = std::max<std::size_t>(config_.block_size / 8, 1);
    if (!block_ || capacity_ - end_ < min_read) {
        std::size_t want = config_.block_size;
        while (want < tail + min_read)
            want *= 2; // one record larger than a block
        if (block_ && block_.use_count() == 1 && capacity_ >= tail + min_read) {
            // No batch holds the block any more. The fence pairs with the release in the last
            // holder's reference drop, so its reads happen before these writes.
            std::atomic_thread_fence(std::memory_order_acquire);
            std::memmove(data_, data_ + pos_, tail);
        } else {
            auto fresh = pool_->take(want);
            if (tail) std::memcpy(fresh.get(), data_ + pos_, tail);
            block_ = std::move(fresh);
            data_ = block_.get();
            capacity_ = want;
            if (batch_) batch_->keep_alive(block_);
        }
        block_offset_ += pos_;
        pos_ = 0;
        end_ = tail;
    }
    chunk_ = kNoChunk; // the cached mask may cover bytes that were not valid yet

    std::size_t room = capacity_ - end_;
    if (const std::uint64_t at = block_offset_ + end_; limit_ != kNoLimit) {
        // Up to the limit; past it only as much as a record crossing it needs, in reads that
        // grow with the unparsed tail: each NeedMore parses the record again from its start,
        // so reads of a fixed size made a 50 MB field cost seconds (quadratic).
        const std::size_t past = std::max(min_read, tail);
        room = static_cast<std::size_t>(
            std::min<std::uint64_t>(room, at < limit_ ? limit_ - at : past));
    }
    auto n = file_.read(std::span<char>(data_ + end_, room));
    if (!n) return std::move(n).error();
    if (*n == 0) {
        if (file_.interrupted())
            interrupted_ = true;
        else
            eof_ = true;
        return {};
    }
    end_ += *n;
    if (metrics_) metrics_->bytes_read.fetch_add(*n, std::memory_order_relaxed);
    return {};
}

} // namespace conveyor::recordio::csv
