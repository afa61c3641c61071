#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/io/input_file.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace conveyor {
struct StageMetrics;
}

namespace conveyor::recordio::csv {

class BlockPool;

/// A pool of input blocks of `block_size` bytes that several readers may share (on any
/// threads): csv.read's chunk readers recycle each other's blocks through it.
std::shared_ptr<BlockPool> make_block_pool(std::size_t block_size);

/// Bytes read from the input per block. Large enough that reads cost nothing per record, small
/// enough that the batches keeping a block alive do not hold much more than they use.
inline constexpr std::size_t kDefaultBlockSize = std::size_t{1} << 18;
/// A record larger than this is an error rather than a reason to keep reading the whole input
/// into memory: almost always a quote that was never closed.
inline constexpr std::size_t kDefaultMaxRecordBytes = std::size_t{256} << 20;

/// ReaderConfig::quote (and Dialect's, CsvWriteConfig's) for no quoting (`quote = ""`): every
/// byte but the delimiter and line breaks is the field's own, and a field cannot hold those.
inline constexpr char kNoQuote = '\0';

struct ReaderConfig {
    char delimiter = ',';
    /// kNoQuote (csv_dialect.hpp): no quoting, a quote is a byte like any other.
    char quote = '"';
    bool infer_types = true;
    /// Tests use tiny blocks so that records cross block boundaries many times.
    std::size_t block_size = kDefaultBlockSize;
    std::size_t max_record_bytes = kDefaultMaxRecordBytes;
    /// A line that starts with this byte where a record would start is skipped, as a blank
    /// line is (csv.read's `comment`); 0: none.
    char comment = 0;
    /// A blank line is a record of one empty field, as Miller and DuckDB read a one-column
    /// file (csv.read sets it once it knows the file has one column); otherwise blank lines
    /// are skipped.
    bool blank_lines_are_records = false;
};

/// An RFC 4180 record reader over an InputFile (also lenient where most readers are: a quote
/// inside an unquoted field, or text after a closing quote, is kept literally; LF, CRLF and a
/// lone CR all end a line; blank lines are skipped, or read as one empty field where
/// ReaderConfig says so; a UTF-8 BOM is skipped).
///
/// Input is read in large blocks that values point into directly (zero copy); only fields with
/// doubled quotes are unescaped, into the attached batch's arena. A record never straddles two
/// blocks: an incomplete tail is carried into the next block and parsed again there. Special
/// bytes are found 64 at a time with SIMD compares and walked as a bitmask.
///
/// Not thread-safe; one reader per run of a stage.
class CsvReader {
public:
    /// `pool`: where blocks come from and go back to (a pool of config.block_size blocks);
    /// one of its own when null.
    CsvReader(InputFile file, ReaderConfig config, StageMetrics* metrics = nullptr,
              std::shared_ptr<BlockPool> pool = nullptr);
    CsvReader(CsvReader&&) noexcept = default;
    CsvReader& operator=(CsvReader&&) noexcept = default;

    /// The batch that values of following records go into: it keeps every block they point
    /// into alive (from now on, including blocks read later) and holds unescaped text in its
    /// arena. nullptr detaches.
    void attach(Batch* batch);

    /// Parses the next record into `fields` (cleared first). Returns false at the end of the
    /// input (or when a read was interrupted by a stop request). Fails with a Data error
    /// naming "file:line" for an unterminated quoted field or a record larger than
    /// max_record_bytes; read errors pass through.
    Result<bool> next_record(std::vector<Value>& fields);

    enum class Fetch : std::uint8_t { Record, End, WouldWait };
    /// next_record() that, with `may_wait` false, returns WouldWait instead of reading a pipe
    /// or terminal when the buffered input holds no complete record (regular files are always
    /// read: they never keep a reader waiting). Streaming sources use it to emit what they have
    /// instead of holding records back until a batch fills.
    Result<Fetch> fetch_record(std::vector<Value>& fields, bool may_wait);

    /// Records are returned while they start before byte `offset` of the input: then
    /// fetch_record() returns End with at_limit() true and bytes_consumed() at the start of the
    /// first record at or after it (blank lines before it are consumed). Reading stops there
    /// too, but for what a record crossing it needs. csv.read's chunks of a file end this way.
    void set_limit(std::uint64_t offset) noexcept {
        limit_ = offset;
        at_limit_ = false;
    }
    /// The last End came from set_limit(), not from the end of the input.
    [[nodiscard]] bool at_limit() const noexcept { return at_limit_; }

    /// Type inference on or off for the following records (headers are read as plain text).
    void set_infer_types(bool on) noexcept { config_.infer_types = on; }
    /// ReaderConfig::blank_lines_are_records, from the next record on.
    void set_blank_lines_are_records(bool on) noexcept { config_.blank_lines_are_records = on; }

    /// The record last returned has a quoted field with text after its closing quote
    /// (`"a" b`), read leniently as `a b`: the quotes were not the field's whole text, and
    /// the field may have run on over the lines after it (csv.read warns about such records).
    [[nodiscard]] bool record_has_text_after_quote() const noexcept { return stray_; }
    /// Physical line (1-based) where the record last returned by next_record() starts.
    [[nodiscard]] std::uint64_t record_line() const noexcept { return record_line_; }
    /// Input bytes consumed by the records returned so far (and the blank lines before them).
    [[nodiscard]] std::uint64_t bytes_consumed() const noexcept { return block_offset_ + pos_; }
    /// Input bytes read but not consumed yet (what follows bytes_consumed() in the block).
    [[nodiscard]] std::size_t buffered() const noexcept { return end_ - pos_; }
    /// Physical line at bytes_consumed(): where the next record (or a blank line) starts.
    [[nodiscard]] std::uint64_t next_line() const noexcept { return line_; }
    /// Input offset where the record last returned starts (valid until the next read).
    [[nodiscard]] std::uint64_t record_offset() const noexcept {
        return block_offset_ + record_start_;
    }

    /// Continues reading a regular file at byte `offset`, which is on physical line `line`
    /// (`--resume`: the position a checkpoint saved). What was buffered is dropped; values
    /// already handed out stay valid (their blocks are kept by their batches).
    Status resume_at(std::uint64_t offset, std::uint64_t line);
    /// The input file (to check a checkpoint's position against it).
    [[nodiscard]] InputFile& file() noexcept { return file_; }
    /// True when the input ended because of a stop request rather than end of file.
    [[nodiscard]] bool interrupted() const noexcept { return interrupted_; }
    /// "<stdin>" or the path: what messages show.
    [[nodiscard]] const std::string& display_name() const noexcept { return file_.display_name(); }
    /// "file:line" for messages about the record last returned.
    [[nodiscard]] std::string where() const;
    /// The input text of the record last returned (without its line break); valid until the
    /// next call that reads (for dead-letter entries of records that cannot be used).
    [[nodiscard]] std::string_view last_record_text() const noexcept;
    /// After next_record() failed on a quoted field that is never closed: true, and
    /// take_unterminated() gives the text from that record's start to the end of the input
    /// (no record was made of it) and leaves the reader at its end.
    [[nodiscard]] bool unterminated() const noexcept { return unterminated_; }
    std::string_view take_unterminated() noexcept;

private:
    enum class Step : std::uint8_t { Record, NeedMore, End, Error };

    Step parse_record(std::vector<Value>& fields);
    Step blank_record(std::vector<Value>& fields);
    Status refill();
    std::size_t find_special(std::size_t p) noexcept;
    std::size_t find_unquoted_end(std::size_t p) noexcept;
    Value make_value(std::string_view text, bool quoted) noexcept;
    std::string_view unescape(std::string_view quoted_text, std::string_view literal_tail);

    InputFile file_;
    ReaderConfig config_;
    StageMetrics* metrics_ = nullptr;
    Batch* batch_ = nullptr;

    std::shared_ptr<BlockPool> pool_;
    std::shared_ptr<char[]> block_;
    char* data_ = nullptr;
    std::size_t capacity_ = 0;       // usable bytes; the allocation has kPadding more
    std::size_t end_ = 0;            // valid bytes in the block
    std::size_t pos_ = 0;            // start of the next record
    std::size_t record_start_ = 0;   // start of the record last returned
    std::uint64_t block_offset_ = 0; // input offset of data_[0]
    std::uint64_t line_ = 1;         // physical line at pos_
    std::uint64_t record_line_ = 0;
    bool eof_ = false;
    bool interrupted_ = false;
    bool bom_checked_ = false;
    bool unterminated_ = false;
    bool at_limit_ = false;
    bool stray_ = false; // see record_has_text_after_quote()
    std::uint64_t limit_ = std::numeric_limits<std::uint64_t>::max();

    // The 64-byte window whose special-byte mask is cached (npos: none).
    std::size_t chunk_ = static_cast<std::size_t>(-1);
    std::uint64_t mask_ = 0;
    // Fields may be quoted (config_.quote is not kNoQuote); without quoting the mask looks for
    // the delimiter in the quote's place.
    bool quoting_ = true;
    char mask_quote_ = '"';

    Error error_;
};

} // namespace conveyor::recordio::csv
