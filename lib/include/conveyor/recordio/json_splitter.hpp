#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/recordio/json_format.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace conveyor {
struct StageMetrics;
}

namespace conveyor::recordio::json {

/// Cuts a JSON input into the texts of its records without holding more than a few blocks:
/// lines for JSONL, the elements of the top-level array for records, the top-level objects for
/// objects (found with a small string-aware bracket tracker, so an element may span any number
/// of blocks). Structural errors
/// of the outer array are reported here; the records themselves are left to the parser.
class JsonSplitter {
public:
    JsonSplitter(InputFile file, JsonFormat format, std::size_t block_size, StageMetrics* metrics);

    enum class Status : std::uint8_t {
        Record,    ///< `record` holds the next record's text
        End,       ///< the input is finished (or the run was interrupted)
        WouldRead, ///< no complete record is buffered and reading was not allowed
    };

    /// The next record's text, valid until the next call. Reads more input only when
    /// `allow_read` (streaming sources emit what they have instead of waiting). kPadding bytes
    /// after it are readable (conveyor::json::Parser::parse_padded).
    Result<Status> next(std::string_view& record, bool allow_read = true);

    struct Position {
        std::uint64_t line = 1;
        std::uint64_t column = 1;
    };
    /// Line and byte column of `p`, a pointer into the last record returned (or to the end of its
    /// text). Positions must be asked for in increasing order.
    Position locate(const char* p);

    [[nodiscard]] const std::string& display_name() const noexcept { return file_.display_name(); }

    /// Where the outer array of a records input stands.
    enum class ArrayState : std::uint8_t { Start, FirstElement, AfterComma, AfterElement, Done };

    /// Everything needed to go on splitting from a point of the input, for checkpoints:
    /// the byte offset, its line and byte column, and (records) the outer array's state.
    struct Mark {
        std::uint64_t offset = 0;
        std::uint64_t line = 1;
        std::uint64_t column = 1;
        ArrayState state = ArrayState::Start;
    };
    /// Where the splitter stands now: after every record returned so far (and the separators
    /// and blank lines consumed after them). Counts lines up to there, so marks must be taken
    /// in increasing order together with locate().
    Mark mark();
    /// Input offset of the next unconsumed byte (mark()'s offset, without counting lines).
    [[nodiscard]] std::uint64_t offset() const noexcept { return base_ + begin_; }
    /// Input offset of `p`, a pointer into the last record returned.
    [[nodiscard]] std::uint64_t offset_of(const char* p) const noexcept {
        return base_ + static_cast<std::uint64_t>(p - buf_.get());
    }
    /// Input offset just after the bytes read so far (read ahead of offset()).
    [[nodiscard]] std::uint64_t read_end() const noexcept { return base_ + end_; }
    /// Continues at `at` (a mark of an earlier run over the same regular file): seeks the file
    /// and drops what was buffered. Fails when the file cannot be seeked there.
    conveyor::Status resume_at(const Mark& at);
    /// JSON lines only: records starting at or after input offset `end` are not read (next()
    /// ends before them); a shard's share of the file (partition = "rows").
    void set_limit(std::uint64_t end) noexcept { limit_ = end; }
    [[nodiscard]] std::uint64_t limit() const noexcept { return limit_; }
    /// The input file (to check a checkpoint's position against it).
    [[nodiscard]] InputFile& file() noexcept { return file_; }
    [[nodiscard]] JsonFormat format() const noexcept { return format_; }
    [[nodiscard]] std::size_t block_size() const noexcept { return block_size_; }

    /// The buffer the last record returned lies in. A caller that parses records where they
    /// are (Parser::parse_in_place) keeps it alive with their values; the splitter never
    /// writes over bytes of a buffer someone else holds (it moves on to a new one).
    [[nodiscard]] const std::shared_ptr<char[]>& buffer() const noexcept { return buf_; }

private:
    /// Bytes readable after the buffered data (records are parsed where they are).
    static constexpr std::size_t kPadding = conveyor::json::Parser::kPadding;

    /// Reads another block; false at end of input.
    Result<bool> fill();
    static std::shared_ptr<char[]> new_buffer(std::size_t cap);
    /// Whether anyone but the splitter holds buf_ (see buffer()).
    [[nodiscard]] bool buffer_is_held() const noexcept;
    void count_lines_to(std::uint64_t abs);
    Failure error_at(std::size_t index, std::string message);

    Result<Status> next_line(std::string_view& record, bool allow_read);
    Result<Status> next_element(std::string_view& record, bool allow_read);
    Result<Status> next_object(std::string_view& record, bool allow_read);
    /// The object starting at begin_ (a '{'), scanned to its end; reads more as it must.
    Result<Status> take_object(std::string_view& record, bool allow_read);
    /// Scans the element starting at begin_ for its end; true when found (elem_end_ set).
    bool scan_element();

    InputFile file_;
    JsonFormat format_;
    std::size_t block_size_;
    StageMetrics* metrics_;

    std::shared_ptr<char[]> buf_;
    std::size_t cap_ = 0;
    std::size_t begin_ = 0;  ///< first unconsumed byte
    std::size_t end_ = 0;    ///< end of buffered data
    std::uint64_t base_ = 0; ///< input offset of buf_[0]
    bool eof_ = false;
    bool at_start_ = true; ///< nothing consumed yet (byte order mark check)

    // Line accounting, lazily: newlines are counted up to counted_ only when a position is
    // needed or bytes are about to leave the buffer.
    std::uint64_t counted_ = 0;
    std::uint64_t line_ = 1;
    std::uint64_t line_start_ = 0;
    // JSONL: [known_from_, known_to_) is one line whose only LF is its last byte.
    std::uint64_t known_from_ = UINT64_MAX;
    std::uint64_t known_to_ = 0;

    std::uint64_t limit_ = UINT64_MAX; ///< set_limit()

    // JSONL: bytes after begin_ already known to hold no newline.
    std::size_t scanned_ = 0;

    // Records: the outer array and the element being scanned.
    ArrayState state_ = ArrayState::Start;
    std::size_t scan_pos_ = 0; ///< relative to begin_
    bool in_string_ = false;
    std::string closers_; ///< expected closing brackets of the open containers
    std::size_t elem_end_ = 0;
};

} // namespace conveyor::recordio::json
