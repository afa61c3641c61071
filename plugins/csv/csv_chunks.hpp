#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/format/column_types.hpp"
#include "conveyor/io/input_file.hpp"
#include "csv_dialect.hpp"
#include "csv_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

/// csv.read on several threads: one regular file parsed in chunks of a few MiB on the run's
/// workers, the records put back in file order.
///
/// Boundary resolution. A chunk's nominal range [o, o + chunk_size) says nothing about where
/// its records start: a line break inside a quoted field looks like any other. Every chunk but
/// the first is parsed speculatively from the first line start at or after o (a byte after LF,
/// or after a CR not followed by LF), as records that start before the next chunk's o, and
/// reports where its first record starts and where the first record at or after that limit
/// starts (its end). The reassembly then checks the guess: a chunk whose start equals the end
/// of the chunk before it (itself checked) parsed exactly what a serial reader parses there,
/// because the reader carries no state from one record to the next. A guess that landed inside
/// a quoted field cannot start where a record starts (see is_line_start in the .cpp), so the
/// check fails and the serial reader reads that chunk instead: slower, never wrong. Lines are
/// counted from each chunk's start and made absolute in order, so file:line stays exact.
namespace conveyor::plugins::csv {

/// What every chunk of one run shares; immutable once chunks are parsed.
struct ChunkSetup {
    ReaderConfig reader;
    SchemaRef schema;
    RaggedPolicy on_ragged = RaggedPolicy::Error;
    /// Declared column types (column index, type): converted as the serial reader does.
    std::vector<std::pair<std::size_t, coltype::ColumnType>> typed;
    std::size_t batch_size = 1024;
    std::shared_ptr<BlockPool> blocks;
};

/// A batch of records and where the input stands after it: what a checkpoint taken after it
/// reports. Lines count from the start of its chunk until ChunkedReader makes them absolute.
/// A batch without records may still move the position (rows left out as ragged).
struct ChunkBatch {
    Batch batch;
    std::uint64_t end_offset = 0;
    std::uint64_t end_line = 0;
    std::uint64_t skipped = 0;       ///< ragged rows left out (on_ragged = "skip") in its range
    std::uint64_t first_skipped = 0; ///< the line of the first of them
};

/// What parsing one chunk found.
struct ChunkResult {
    static constexpr std::uint64_t kNoStart = static_cast<std::uint64_t>(-1);
    /// Where its first record starts (after blank lines); kNoStart when it could not tell.
    std::uint64_t start = kNoStart;
    /// Where the first record at or after its limit starts (or the input ends).
    std::uint64_t end = 0;
    std::uint64_t lines = 0; ///< physical lines from start to end
    bool input_ended = false;
    std::vector<ChunkBatch> batches;
    /// Set when a record needs the serial reader (an error to report or dead-letter, a stop
    /// request): the batches hold the records before it, which starts at `handoff_offset` on
    /// `handoff_line`.
    bool handoff = false;
    std::uint64_t handoff_offset = 0;
    std::uint64_t handoff_line = 0;
};

/// Parses the records of `input` that start at or after `from` and before `limit` (nullopt:
/// to the end). With `exact` false, `from` is a nominal boundary and parsing starts at the
/// first line start at or after it (`input` must then be positioned at from - 1, or at 0).
ChunkResult parse_chunk(const ChunkSetup& setup, InputFile input, std::uint64_t from, bool exact,
                        std::optional<std::uint64_t> limit);

/// The ordered reassembly: schedules chunks on the pool (at most `window` in flight), checks
/// each one's start against the end of the one before, and hands out their batches in file
/// order, or a stretch the serial reader must read instead. Runs on the source's thread.
class ChunkedReader {
public:
    /// Reads `file` from `from` (the start of a record, on line `line`) to its end, or the
    /// records that start before `end` (a shard's range).
    ChunkedReader(std::shared_ptr<const ChunkSetup> setup, const InputFile& file, WorkPool& pool,
                  std::size_t window, std::uint64_t chunk_size, std::uint64_t from,
                  std::uint64_t line, std::optional<std::uint64_t> end = std::nullopt);

    /// What follows in file order: batches (absolute lines), then maybe a stretch for the
    /// serial reader, which must read the records starting in [offset, limit) and then call
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
    /// limit), on line `line`.
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

} // namespace conveyor::plugins::csv
