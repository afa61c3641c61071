#pragma once

#include "conveyor/format/column_types.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/recordio/json_format.hpp"
#include "conveyor/registry/partition_options.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace conveyor::recordio::json {

/// What a json.read stage is built from: the validated options (json.read's option table
/// fills it; the initializers are the options' defaults), plus internal knobs.
struct JsonReadConfig {
    std::string path; ///< "-" = the run's stdin
    JsonFormat format = JsonFormat::Records;
    /// Bytes per read. Memory stays near two blocks plus the largest record; tests use tiny
    /// blocks to put records across block boundaries.
    std::size_t block_size = 1 << 20;
    /// With [global] workers above 1, JSON lines in a regular file are parsed this many bytes
    /// at a time on the workers (two chunks a worker in flight); tests use tiny chunks.
    std::uint64_t chunk_size = 1 << 20;
    /// Keep reading what is appended to the file, across rotations (streaming mode only).
    bool follow = false;
    /// `types`: field = type name, as written (checked and parsed into column_types).
    StringPairs types;
    std::vector<std::pair<std::string, coltype::ColumnType>> column_types;
    PartitionOptions partition;
    /// A sharded run: the share of the records this run reads (partition = "hash").
    std::optional<SourceShard> shard;
};

std::unique_ptr<Stage> make_json_read(JsonReadConfig config);

/// A json.read source over an already open input (stdin.read, file.watch, followed files).
/// Nothing is read before the first next(): a pipe or a followed file may have no record yet.
std::unique_ptr<SourceOperator> make_json_source(InputFile file, JsonFormat format,
                                                 const OpenContext& ctx,
                                                 std::size_t block_size = 1 << 20);

} // namespace conveyor::recordio::json
