#include "conveyor/io/record_ranges.hpp"

#include <algorithm>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace conveyor {

namespace {

constexpr std::size_t kBlock = std::size_t{1} << 20;

/// What a stretch of bytes holds: its quotes, its LFs, and whether any CR.
struct Counts {
    std::uint64_t quotes = 0;
    std::uint64_t lfs = 0;
    bool cr = false;
};

/// One pass over [b, b + n), 64 bytes at a time where SSE2 is there (every x86-64): a shard
/// scans up to its range's end, half the file on average, so this is most of its extra work.
Counts count_specials(const char* b, std::size_t n, char quote) noexcept {
    Counts c;
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8(quote);
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    __m128i any_cr = _mm_setzero_si128();
    for (; i + 64 <= n; i += 64) {
        std::uint64_t quotes = 0;
        std::uint64_t lfs = 0;
        for (int k = 0; k < 4; ++k) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i + 16 * k));
            quotes |= static_cast<std::uint64_t>(
                          static_cast<std::uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, q))))
                      << (16 * k);
            lfs |= static_cast<std::uint64_t>(
                       static_cast<std::uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf))))
                   << (16 * k);
            any_cr = _mm_or_si128(any_cr, _mm_cmpeq_epi8(v, cr));
        }
        c.quotes += static_cast<std::uint64_t>(__builtin_popcountll(quotes));
        c.lfs += static_cast<std::uint64_t>(__builtin_popcountll(lfs));
    }
    c.cr = _mm_movemask_epi8(any_cr) != 0;
#endif
    for (; i < n; ++i) {
        c.quotes += b[i] == quote ? 1 : 0;
        c.lfs += b[i] == '\n' ? 1 : 0;
        c.cr = c.cr || b[i] == '\r';
    }
    return c;
}

/// Scans a file forward from a position, keeping the quote parity and the physical line.
class Scanner {
public:
    Scanner(const InputFile& file, std::uint64_t at, std::uint64_t line, char quote)
        : file_(file), at_(at), line_(line), quote_(quote), buf_(kBlock) {}

    /// Moves to `to` (<= size) counting quotes and line starts, a block at a time.
    Status skip_to(std::uint64_t to) {
        while (at_ < to) {
            CONVEYOR_TRY(fill());
            if (pos_ == have_) break;
            const std::size_t n = static_cast<std::size_t>(
                std::min<std::uint64_t>(to - at_, static_cast<std::uint64_t>(have_ - pos_)));
            const char* b = buf_.data() + pos_;
            const Counts counts = count_specials(b, n, quote_);
            if (quote_ != '\0') quotes_ += counts.quotes;
            line_ += counts.lfs;
            if (counts.cr)
                for (std::size_t i = 0; i < n; ++i)
                    if (b[i] == '\r') {
                        // A lone CR ends a line; the CR of CRLF is counted by its LF.
                        CONVEYOR_TRY(peek_after(i));
                        if (next_ != '\n') ++line_;
                    }
            pos_ += n;
            at_ += n;
        }
        return {};
    }

    /// From the current position (just after byte `prev`), the first record start: a line start
    /// with even quote parity, past blank lines. The end of the file when there is none.
    Result<std::uint64_t> next_record_start(int prev) {
        for (;;) {
            CONVEYOR_TRY(fill());
            if (pos_ == have_) return at_;
            const char c = buf_[pos_];
            const bool line_start = prev == '\n' || (prev == '\r' && c != '\n');
            if (line_start && quotes_ % 2 == 0 && c != '\n' && c != '\r') return at_;
            CONVEYOR_TRY(skip_to(at_ + 1));
            prev = static_cast<unsigned char>(c);
        }
    }

    [[nodiscard]] std::uint64_t line() const noexcept { return line_; }
    [[nodiscard]] std::uint64_t position() const noexcept { return at_; }

private:
    Status fill() {
        if (pos_ < have_) return {};
        auto n = file_.read_at(at_, std::span<char>(buf_.data(), buf_.size()));
        if (!n) return std::move(n).error();
        have_ = *n;
        pos_ = 0;
        return {};
    }
    /// The byte after buf_[pos_ + i] into next_ (-1 at the end of the file).
    Status peek_after(std::size_t i) {
        if (pos_ + i + 1 < have_) {
            next_ = static_cast<unsigned char>(buf_[pos_ + i + 1]);
            return {};
        }
        char c = 0;
        auto n = file_.read_at(at_ + i + 1, std::span<char>(&c, 1));
        if (!n) return std::move(n).error();
        next_ = *n == 0 ? -1 : static_cast<unsigned char>(c);
        return {};
    }

    const InputFile& file_;
    std::uint64_t at_;
    std::uint64_t line_;
    char quote_;
    std::uint64_t quotes_ = 0;
    std::vector<char> buf_;
    std::size_t pos_ = 0;
    std::size_t have_ = 0;
    int next_ = -1;
};

/// Cut k's nominal offset.
std::uint64_t nominal(std::uint64_t data_start, std::uint64_t size, std::uint64_t k,
                      std::uint64_t n) {
    // span * k / n without overflow: (q * n + r) * k / n = q * k + r * k / n, with r < n
    // and k <= n (shard counts are 32-bit, so r * k fits).
    const std::uint64_t span = size - data_start;
    return data_start + span / n * k + span % n * k / n;
}

} // namespace

Result<RecordRange> record_range(const InputFile& file, std::uint64_t data_start,
                                 std::uint64_t data_line, ShardId shard, char quote) {
    const std::uint64_t size = std::max(file.size().value_or(0), data_start);
    RecordRange r;
    Scanner scan(file, data_start, data_line, quote);
    // Cut k resolved: the first record start at or after its nominal offset.
    auto cut = [&](std::uint64_t k) -> Result<std::uint64_t> {
        if (k == 0) return data_start;
        if (k >= shard.count) return size;
        const std::uint64_t at = nominal(data_start, size, k, shard.count);
        if (at <= data_start) return data_start;
        // The scanner stands on a record start (the previous cut) with no record start between
        // the previous nominal offset and it: at or after this nominal offset it is the cut.
        if (scan.position() >= at) return scan.position();
        CONVEYOR_TRY(scan.skip_to(at - 1));
        char prev = 0;
        auto n = file.read_at(at - 1, std::span<char>(&prev, 1));
        if (!n) return std::move(n).error();
        CONVEYOR_TRY(scan.skip_to(at));
        return scan.next_record_start(static_cast<unsigned char>(prev));
    };
    Result<std::uint64_t> begin = cut(shard.index);
    if (!begin) return std::move(begin).error();
    r.begin = *begin;
    CONVEYOR_TRY(scan.skip_to(r.begin));
    r.line = scan.line();
    Result<std::uint64_t> end = cut(shard.index + 1);
    if (!end) return std::move(end).error();
    r.end = std::max(*end, r.begin);
    return r;
}

Status check_rows_partitionable(const InputFile& file) {
    if (file.seekable() && file.path() != "-") return {};
    return fail(ErrorKind::Config,
                "partition = \"rows\" reads a byte range of a regular file, and this one is " +
                    std::string(file.compression() != Compression::None ? "compressed"
                                                                        : "not a regular file") +
                    " (use partition = \"hash\")",
                file.display_name());
}

} // namespace conveyor
