#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/core/run_settings.hpp"
#include "conveyor/io/input_file.hpp"

#include <cstdint>

namespace conveyor {

/// The bytes of a file whose records one shard reads: the records that start in [begin, end).
struct RecordRange {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::uint64_t line = 1; ///< the physical line `begin` is on
};

/// Shard `shard`'s records of a regular file of line-separated records (CSV, JSON Lines) whose
/// data starts at `data_start` (after a header), on line `data_line`.
///
/// The rule every shard applies alike, without seeing the others: the data is cut at the
/// nominal offsets data_start + k * (size - data_start) / N, and each cut moves forward to the
/// first record start at or after it: a line start (after LF, or after a CR not followed by
/// LF) outside quotes, past any blank lines. "Outside quotes" is decided by counting `quote`
/// characters from data_start, not by guessing: in RFC 4180 a line break is inside a quoted
/// field exactly when an odd number of quotes precede it (a doubled quote counts twice).
/// `quote` '\0' (JSON Lines) has no quoting: every line start is a record start. Shard I gets
/// [cut I, cut I+1): every record in exactly one shard, some shards perhaps empty. A reader
/// whose quoting differs from RFC 4180 (a stray quote inside an unquoted field) may disagree;
/// it checks that its last record ends at `end` (csv.read fails with a data error otherwise).
/// Whether `file` can be divided by partition = "rows": a regular file, not compressed (a
/// Config error naming it and the alternative otherwise).
Status check_rows_partitionable(const InputFile& file);

Result<RecordRange> record_range(const InputFile& file, std::uint64_t data_start,
                                 std::uint64_t data_line, ShardId shard, char quote);

} // namespace conveyor
