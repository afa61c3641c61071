#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/recordio/json_batch_builder.hpp"
#include "conveyor/stage/chunked_reader.hpp"

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
namespace conveyor::recordio::json {

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

    /// Makes its line absolute: its chunk starts on line `first_line`.
    void add_lines(std::uint64_t first_line) noexcept { end_line += first_line; }
};

/// What parsing one chunk found (stage/chunked_reader.hpp).
using ChunkResult = ChunkOutcome<ChunkBatch>;

/// Parses the lines of `input` that start at or after `from` and before `limit` (nullopt: to
/// the end). With `exact` false, `from` is a nominal boundary and parsing starts at the first
/// line start at or after it (`input` must then read from from - 1).
ChunkResult parse_chunk(const ChunkSetup& setup, InputFile input, std::uint64_t from, bool exact,
                        std::optional<std::uint64_t> limit);

/// The ordered reassembly of the chunks (stage/chunked_reader.hpp).
using ChunkedReader = conveyor::ChunkedReader<ChunkBatch>;

} // namespace conveyor::recordio::json
