#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/format/column_types.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/recordio/csv_reader.hpp"
#include "conveyor/stage/chunked_reader.hpp"

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
namespace conveyor::recordio::csv {

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
    /// Records with text after a field's closing quote (CsvReader::record_has_text_after_quote)
    std::uint64_t stray_quotes = 0;
    std::uint64_t first_stray_quote = 0; ///< the line of the first of them

    /// Makes its lines absolute: its chunk starts on line `first_line`.
    void add_lines(std::uint64_t first_line) noexcept {
        end_line += first_line;
        if (skipped) first_skipped += first_line;
        if (stray_quotes) first_stray_quote += first_line;
    }
};

/// What parsing one chunk found (stage/chunked_reader.hpp).
using ChunkResult = ChunkOutcome<ChunkBatch>;

/// Parses the records of `input` that start at or after `from` and before `limit` (nullopt:
/// to the end). With `exact` false, `from` is a nominal boundary and parsing starts at the
/// first line start at or after it (`input` must then be positioned at from - 1, or at 0).
ChunkResult parse_chunk(const ChunkSetup& setup, InputFile input, std::uint64_t from, bool exact,
                        std::optional<std::uint64_t> limit);

/// The ordered reassembly of the chunks (stage/chunked_reader.hpp).
using ChunkedReader = conveyor::ChunkedReader<ChunkBatch>;

} // namespace conveyor::recordio::csv
