#include "conveyor/recordio/json_splitter.hpp"

#include "conveyor/obs/metrics.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace conveyor::recordio::json {

namespace {

constexpr std::size_t kMaxDepth = 1024;

/// With a limit, bytes read past it for the record that crosses it (more follow as needed).
constexpr std::uint64_t kPastLimit = 16 * 1024;

bool is_ws(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_blank(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return is_ws(c); });
}

/// Index of the first '"' or '\\' in b[i, n), or n.
std::size_t find_quote_or_backslash(const char* b, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    while (i + 16 <= n) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
        const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash))));
        if (mask) return i + static_cast<std::size_t>(__builtin_ctz(mask));
        i += 16;
    }
#endif
    while (i < n && b[i] != '"' && b[i] != '\\')
        ++i;
    return i;
}

/// "a space", "'x'", "byte 0xFF": a character named for an error message.
std::string describe(char ch) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ') return "a space";
    if (c > 0x20 && c < 0x7F) return std::string("'") + ch + "'";
    static constexpr char kHex[] = "0123456789ABCDEF";
    return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 0xF];
}

/// What a value starting with `c` is, for "is not a JSON object (found ...)".
std::string value_kind(char c) {
    switch (c) {
    case '[':
        return "an array";
    case '"':
        return "a string";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return "a number";
        return describe(c);
    }
}

} // namespace

JsonSplitter::JsonSplitter(InputFile file, JsonFormat format, std::size_t block_size,
                           StageMetrics* metrics)
    : file_(std::move(file)), format_(format), block_size_(std::max<std::size_t>(block_size, 1)),
      metrics_(metrics) {
    cap_ = 2 * block_size_;
    buf_ = new_buffer(cap_);
}

std::shared_ptr<char[]> JsonSplitter::new_buffer(std::size_t cap) {
    return std::shared_ptr<char[]>(new char[cap + kPadding]);
}

bool JsonSplitter::buffer_is_held() const noexcept {
    if (buf_.use_count() > 1) return true;
    // The last holder let go: its reads of the bytes happen before our writes over them.
    std::atomic_thread_fence(std::memory_order_acquire);
    return false;
}

Result<bool> JsonSplitter::fill() {
    if (eof_) return false;
    if (begin_ > 0) {
        // Consumed bytes leave the buffer: count their lines first.
        count_lines_to(base_ + begin_);
        if (buffer_is_held()) {
            // Batches hold records parsed where they are: the rest goes to a buffer of its own.
            auto fresh = new_buffer(cap_);
            std::memcpy(fresh.get(), buf_.get() + begin_, end_ - begin_);
            buf_ = std::move(fresh);
        } else {
            std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
        }
        end_ -= begin_;
        base_ += begin_;
        begin_ = 0;
    }
    if (cap_ - end_ < block_size_) {
        // One record larger than the buffer: grow it.
        const std::size_t cap = std::max(2 * cap_, end_ + block_size_);
        auto bigger = new_buffer(cap);
        std::memcpy(bigger.get(), buf_.get(), end_);
        buf_ = std::move(bigger);
        cap_ = cap;
    }
    // With a limit, read little past it: the records there are the next shard's, and a
    // chunk read a whole block beyond its end (twice its bytes) before this.
    std::size_t want = cap_ - end_;
    if (const std::uint64_t at = base_ + end_; limit_ != UINT64_MAX && at < limit_)
        want = static_cast<std::size_t>(std::min<std::uint64_t>(want, limit_ - at + kPastLimit));
    Result<std::size_t> n = file_.read({buf_.get() + end_, want});
    if (!n.ok()) return std::move(n).error();
    if (*n == 0) {
        eof_ = true;
        return false;
    }
    end_ += *n;
    if (metrics_) metrics_->bytes_read.fetch_add(*n, std::memory_order_relaxed);
    return true;
}

void JsonSplitter::count_lines_to(std::uint64_t abs) {
    if (abs <= counted_) return;
    if (counted_ == known_from_ && abs >= known_to_) {
        ++line_;
        counted_ = line_start_ = known_to_;
        if (abs == counted_) return;
    }
    const char* p = buf_.get() + (counted_ - base_);
    const char* const e = buf_.get() + (abs - base_);
    while (p < e) {
        const void* q = std::memchr(p, '\n', static_cast<std::size_t>(e - p));
        if (!q) break;
        p = static_cast<const char*>(q) + 1;
        ++line_;
        line_start_ = base_ + static_cast<std::uint64_t>(p - buf_.get());
    }
    counted_ = abs;
}

JsonSplitter::Position JsonSplitter::locate(const char* p) {
    const std::uint64_t abs = base_ + static_cast<std::uint64_t>(p - buf_.get());
    count_lines_to(abs);
    return {line_, abs - line_start_ + 1};
}

JsonSplitter::Mark JsonSplitter::mark() {
    const Position at = locate(buf_.get() + begin_);
    return {base_ + begin_, at.line, at.column, state_};
}

conveyor::Status JsonSplitter::resume_at(const Mark& at) {
    if (at.column == 0 || at.column - 1 > at.offset || at.line == 0)
        return fail(ErrorKind::Runtime, "invalid position", display_name());
    CONVEYOR_TRY(file_.seek(at.offset));
    if (buffer_is_held()) buf_ = new_buffer(cap_);
    begin_ = end_ = 0;
    base_ = at.offset;
    eof_ = false;
    at_start_ = at.offset == 0; // only the start of the file can hold a byte order mark
    counted_ = at.offset;
    line_ = at.line;
    line_start_ = at.offset - (at.column - 1);
    known_from_ = UINT64_MAX;
    scanned_ = 0;
    state_ = at.state;
    scan_pos_ = 0;
    in_string_ = false;
    closers_.clear();
    elem_end_ = 0;
    return {};
}

Failure JsonSplitter::error_at(std::size_t index, std::string message) {
    const Position pos = locate(buf_.get() + index);
    return fail(ErrorKind::Data, std::move(message),
                display_name() + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column));
}

Result<JsonSplitter::Status> JsonSplitter::next(std::string_view& record, bool allow_read) {
    while (at_start_) {
        // A UTF-8 byte order mark (written by some Windows tools) is not part of the JSON.
        if (end_ - begin_ >= 3 || eof_) {
            if (end_ - begin_ >= 3 && std::memcmp(buf_.get() + begin_, "\xEF\xBB\xBF", 3) == 0) {
                begin_ += 3;
                counted_ = line_start_ = base_ + begin_;
            }
            at_start_ = false;
            break;
        }
        if (!allow_read) return Status::WouldRead;
        Result<bool> more = fill();
        if (!more.ok()) return std::move(more).error();
    }
    switch (format_) {
    case JsonFormat::Jsonl:
        return next_line(record, allow_read);
    case JsonFormat::Objects:
        return next_object(record, allow_read);
    case JsonFormat::Records:
        break;
    }
    return next_element(record, allow_read);
}

Result<JsonSplitter::Status> JsonSplitter::next_line(std::string_view& record, bool allow_read) {
    for (;;) {
        const char* from = buf_.get() + begin_ + scanned_;
        const void* nl = std::memchr(from, '\n', end_ - begin_ - scanned_);
        if (nl) {
            const auto* q = static_cast<const char*>(nl);
            const std::string_view line(buf_.get() + begin_,
                                        static_cast<std::size_t>(q - (buf_.get() + begin_)));
            const bool blank = is_blank(line);
            if (!blank && base_ + begin_ >= limit_) return Status::End; // the next shard's
            const std::uint64_t line_at = base_ + begin_;
            begin_ = static_cast<std::size_t>(q - buf_.get()) + 1;
            scanned_ = 0;
            if (counted_ == line_at) {
                // The line holds no other LF: it is counted without scanning it again, at once
                // for a blank line, when a position after it is asked for a record's.
                known_from_ = line_at;
                known_to_ = base_ + begin_;
                if (blank) count_lines_to(known_to_);
            }
            if (blank) continue;
            record = line;
            return Status::Record;
        }
        scanned_ = end_ - begin_;
        if (eof_) {
            // An interrupted read leaves a partial line: not a record.
            if (begin_ == end_ || file_.interrupted()) return Status::End;
            const std::string_view line(buf_.get() + begin_, end_ - begin_);
            if (!is_blank(line) && base_ + begin_ >= limit_) return Status::End;
            begin_ = end_;
            scanned_ = 0;
            if (is_blank(line)) return Status::End;
            record = line;
            return Status::Record;
        }
        if (!allow_read) return Status::WouldRead;
        Result<bool> more = fill();
        if (!more.ok()) return std::move(more).error();
    }
}

bool JsonSplitter::scan_element() {
    const char* b = buf_.get() + begin_;
    const std::size_t n = end_ - begin_;
    std::size_t i = scan_pos_;
    auto found = [&](std::size_t at) {
        elem_end_ = begin_ + at + 1;
        scan_pos_ = 0;
        return true;
    };
    while (i < n) {
        if (in_string_) {
            i = find_quote_or_backslash(b, i, n);
            if (i >= n) break;
            if (b[i] == '\\') {
                if (i + 1 >= n) break; // the escaped byte is in the next block
                i += 2;
                continue;
            }
            in_string_ = false;
            ++i;
            continue;
        }
        const char c = b[i];
        switch (c) {
        case '"':
            in_string_ = true;
            break;
        case '{':
        case '[':
            closers_.push_back(c == '{' ? '}' : ']');
            // Too deep: stop here and let the parser say so.
            if (closers_.size() > kMaxDepth) return found(i);
            break;
        case '}':
        case ']':
            // A mismatched bracket ends the element too; the parser reports it.
            if (closers_.empty() || closers_.back() != c) return found(i);
            closers_.pop_back();
            if (closers_.empty()) return found(i);
            break;
        default:
            break;
        }
        ++i;
    }
    scan_pos_ = i;
    return false;
}

Result<JsonSplitter::Status> JsonSplitter::next_element(std::string_view& record, bool allow_read) {
    for (;;) {
        while (begin_ < end_ && is_ws(buf_[begin_]))
            ++begin_;
        if (begin_ == end_) {
            if (!eof_) {
                if (!allow_read) return Status::WouldRead;
                Result<bool> more = fill();
                if (!more.ok()) return std::move(more).error();
                continue;
            }
            if (file_.interrupted()) return Status::End;
            if (state_ == ArrayState::Start || state_ == ArrayState::Done) return Status::End;
            return error_at(end_, "unexpected end of input: the array of records is not closed "
                                  "with ']'");
        }
        const char c = buf_[begin_];
        switch (state_) {
        case ArrayState::Start:
            if (c == '[') {
                ++begin_;
                state_ = ArrayState::FirstElement;
                continue;
            }
            return error_at(
                begin_,
                "expected '[' to start an array of records, found " + describe(c) +
                    (c == '{' ? " (for one object per line, use format = \"jsonl\"; for objects "
                                "one after another over several lines, as jq prints "
                                "them, format = \"objects\")"
                              : ""));
        case ArrayState::FirstElement:
            if (c == ']') {
                ++begin_;
                state_ = ArrayState::Done;
                continue;
            }
            break;
        case ArrayState::AfterComma:
            if (c == ']') return error_at(begin_, "trailing comma before ']'");
            break;
        case ArrayState::AfterElement:
            if (c == ',') {
                ++begin_;
                state_ = ArrayState::AfterComma;
                continue;
            }
            if (c == ']') {
                ++begin_;
                state_ = ArrayState::Done;
                continue;
            }
            return error_at(begin_,
                            "expected ',' or ']' after an array element, found " + describe(c));
        case ArrayState::Done:
            return error_at(begin_, "unexpected " + describe(c) + " after the closing ']'");
        }

        if (c != '{')
            return error_at(begin_, "array element is " + value_kind(c) +
                                        ", not a JSON object: each record must be an object");
        Result<Status> taken = take_object(record, allow_read);
        if (taken.ok() && *taken == Status::Record) state_ = ArrayState::AfterElement;
        return taken;
    }
}

Result<JsonSplitter::Status> JsonSplitter::next_object(std::string_view& record, bool allow_read) {
    for (;;) {
        while (begin_ < end_ && is_ws(buf_[begin_]))
            ++begin_;
        if (begin_ == end_) {
            if (eof_) return Status::End;
            if (!allow_read) return Status::WouldRead;
            Result<bool> more = fill();
            if (!more.ok()) return std::move(more).error();
            continue;
        }
        const char c = buf_[begin_];
        if (c != '{')
            return error_at(begin_, "expected '{' to start the next record, found " + describe(c) +
                                        (c == '[' ? " (for an array of records, use format = "
                                                    "\"records\")"
                                                  : ""));
        return take_object(record, allow_read);
    }
}

Result<JsonSplitter::Status> JsonSplitter::take_object(std::string_view& record, bool allow_read) {
    if (scan_pos_ == 0) {
        in_string_ = false;
        closers_.clear();
    }
    while (!scan_element()) {
        if (eof_) {
            if (file_.interrupted()) return Status::End;
            // Unclosed: the parser will say exactly what is missing.
            record = std::string_view(buf_.get() + begin_, end_ - begin_);
            begin_ = end_;
            scan_pos_ = 0;
            return Status::Record;
        }
        if (!allow_read) return Status::WouldRead;
        Result<bool> more = fill();
        if (!more.ok()) return std::move(more).error();
    }
    record = std::string_view(buf_.get() + begin_, elem_end_ - begin_);
    begin_ = elem_end_;
    return Status::Record;
}

} // namespace conveyor::recordio::json
