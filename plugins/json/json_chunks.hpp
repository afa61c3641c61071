#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/io/input_file.hpp"
#include "json_batch_builder.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

/// json.read of JSON lines on several threads: one regular file parsed in chunks of 1 MiB
/// on the run's workers, the records put back in file order (csv.read's csv_chunks.hpp, made
/// simpler by the format).
///
/// Boundaries. A raw LF never occurs inside a JSON value, so every LF ends a line, and a chunk
/// with nominal range [o, o + chunk_size) holds the lines that start in it: it starts at the
/// first byte after an LF at or after o - 1 (its first line start at or after o) and ends at
/// the first non-blank line starting at or after its limit, as the serial reader with that
/// limit does. The reassembly still checks that each chunk starts where the one before ended.
/// A line that cannot be parsed (invalid JSON, not an object, a field not of its declared type)
/// or a stop request hands the rest
/// of the chunk to the serial reader from that line's start, so errors, dead letters, file:line
/// and checkpoint positions are the serial reader's. Lines are counted from each chunk's start
/// and made absolute in order.
namespace conveyor::plugins::json {

/// What every chunk of one run shares.
struct ChunkSetup {
    std::size_t batch_size = 1024;
    FieldTypes types; ///< json.read's `types`: a field not of its type goes to the serial reader
    std::size_t block_size = 1 << 20; ///< bytes per read
};

/// A batch of records and the position after its last record (a checkpoint taken after it
/// reports it). The line counts from the start of its chunk until ChunkedReader makes it
/// absolute.
struct ChunkBatch {
    Batch batch;
    std::uint64_t end_offset = 0;
    std::uint64_t end_line = 0;
    std::uint64_t end_column = 1;
};

/// What parsing one chunk found.
struct ChunkResult {
    static constexpr std::uint64_t kNoStart = static_cast<std::uint64_t>(-1);
    /// Where its first record starts (after blank lines); kNoStart when it could not tell.
    std::uint64_t start = kNoStart;
    /// Where the first record at or after its limit starts (or the input ends).
    std::uint64_t end = 0;
    std::uint64_t lines = 0; ///< line breaks from start to end
    bool input_ended = false;
    std::vector<ChunkBatch> batches;
    /// Set when a record needs the serial reader (it does not parse, or a stop request): the
    /// batches hold the records before it, which starts at `handoff_offset` on `handoff_line`
    /// (relative).
    bool handoff = false;
    std::uint64_t handoff_offset = 0;
    std::uint64_t handoff_line = 0;
};

/// Parses the lines of `input` that start at or after `from` and before `limit` (nullopt: to
/// the end). With `exact` false, `from` is a nominal boundary and parsing starts at the first
/// line start at or after it (`input` must then read from from - 1).
ChunkResult parse_chunk(const ChunkSetup& setup, InputFile input, std::uint64_t from, bool exact,
                        std::optional<std::uint64_t> limit);

/// The ordered reassembly: schedules chunks on the pool (at most `window` in flight), checks
/// each one's start against the end of the one before, and hands out their batches in file
/// order, or a stretch the serial reader must read instead. Runs on the source's thread.
class ChunkedReader {
public:
    /// Reads `file` from `from` (where a line starts, on line `line`) to its end, or the lines
    /// that start before `end` (a shard's range).
    ChunkedReader(ChunkSetup setup, const InputFile& file, WorkPool& pool, std::size_t window,
                  std::uint64_t chunk_size, std::uint64_t from, std::uint64_t line,
                  std::optional<std::uint64_t> end = std::nullopt);

    /// What follows in file order: batches (absolute lines), then maybe a stretch for the
    /// serial reader, which must read the lines starting in [offset, limit) and then call
    /// resume_at() with where it stopped.
    struct Step {
        std::vector<ChunkBatch> batches;
        bool serial = false;
        std::uint64_t offset = 0;
        std::uint64_t line = 0;
        std::optional<std::uint64_t> limit;
        bool end = false; ///< nothing follows (after the serial stretch, if any)
    };
    /// Waits for the next chunk (or parses it on this thread when no worker has started it).
    Step next();
    /// The serial stretch ended at `offset` (the start of the first record at or after its
    /// limit, or the end of the input), on line `line`.
    void resume_at(std::uint64_t offset, std::uint64_t line) noexcept {
        expect_ = offset;
        expect_line_ = line;
    }

private:
    struct Nominal {
        std::uint64_t start;
        std::optional<std::uint64_t> limit;
    };
    void top_up();

    std::shared_ptr<const ChunkSetup> setup_;
    const InputFile& file_;
    OrderedJobs<ChunkResult> jobs_;
    std::deque<Nominal> nominal_;
    std::uint64_t chunk_size_;
    std::uint64_t size_; ///< the file's size, or the range's end
    bool bounded_;       ///< reading a range: nothing after size_, however the file grew
    std::uint64_t next_start_;
    std::uint64_t expect_;      ///< where the next record starts: checked chunks end here
    std::uint64_t expect_line_; ///< and its line
    bool first_ = true;
};

} // namespace conveyor::plugins::json
