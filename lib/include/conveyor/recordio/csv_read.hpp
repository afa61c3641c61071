#pragma once

#include "conveyor/format/column_types.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/recordio/csv_reader.hpp"
#include "conveyor/registry/partition_options.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::recordio::csv {

/// Bytes of a file each worker parses at a time when the run has more than one: a MiB (about
/// ten thousand records) makes the hand-offs cost nothing per record, while the chunks in
/// flight (two a worker) and the batches pointing into them stay a few tens of MiB (W1's peak
/// RSS: 30 MiB with 1 MiB chunks, 40 with 2, 60 with 4).
inline constexpr std::uint64_t kDefaultChunkSize = std::uint64_t{1} << 20;

/// csv.read's options as a pipeline gives them; the initializers are the options' defaults.
struct CsvReadOptions {
    std::string path; ///< required
    CsvFormatOptions format;
    bool follow = false;
    StringPairs types; ///< column = type name, overriding inference for those columns
    std::uint64_t chunk_size = kDefaultChunkSize;
    PartitionOptions partition;
    std::optional<std::string> comment; ///< one byte starting the lines to skip
};

/// csv.read's definition, built from validated options (the defaults are the options').
struct CsvReadConfig {
    std::string path; ///< "-" = stdin
    bool headers = CsvFormatOptions{}.headers;
    char delimiter = Dialect{}.delimiter;
    char quote = Dialect{}.quote;
    bool infer_types = CsvFormatOptions{}.infer_types;
    RaggedPolicy on_ragged = CsvFormatOptions{}.on_ragged;
    /// Column names for a file without a header row.
    std::optional<std::vector<std::string>> columns;
    /// Declared column types (`types`), overriding inference for those columns.
    std::vector<std::pair<std::string, coltype::ColumnType>> types;
    /// Keep reading data appended to the file, across rotations (streaming mode only).
    bool follow = CsvReadOptions{}.follow;
    std::size_t block_size = kDefaultBlockSize; ///< internal knob for tests
    std::uint64_t chunk_size = CsvReadOptions{}.chunk_size;
    char comment = 0; ///< ReaderConfig::comment
    /// A sharded run: the share of the records this run reads.
    std::optional<SourceShard> shard;
};

/// What the segments of one followed file share: the header read from the first one.
struct CsvFollowState {
    SchemaRef header;
};

/// A csv.read source over an already open input (stdin.read, file.watch, followed files).
/// The header (or the first record) is read by the first next(), never before: a pipe or a
/// followed file may not have it yet. With `follow` state from an earlier segment, a first row
/// equal to the known header is skipped as a repeated header; any other first row is data
/// with the known columns (a file truncated and written again without a header).
std::unique_ptr<SourceOperator> make_csv_source(InputFile file, const CsvReadConfig& config,
                                                const OpenContext& ctx,
                                                std::shared_ptr<CsvFollowState> follow = nullptr);

/// The stage definition; open() opens the file and reads the header, so the opened stage
/// knows its schema before any batch flows.
std::unique_ptr<Stage> make_csv_read_stage(CsvReadConfig config);

/// Header names made usable as field names. Names written in the header are never taken by
/// a generated one: a repeated name gets the first free suffix (`a`, `a_2`, `a_3`), and an
/// empty cell at 1-based position N becomes `columnN`, or the first free `columnN_2`,
/// `columnN_3`, ... when the header has `columnN` elsewhere. Renamed repeats are appended to
/// `renamed` as (original, new) when it is non-null.
std::vector<std::string>
normalise_header(std::vector<std::string> names,
                 std::vector<std::pair<std::string, std::string>>* renamed = nullptr);

} // namespace conveyor::recordio::csv
