#pragma once

#include "conveyor/core/run_settings.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/stage/file_sequence.hpp"

#include <optional>
#include <string>

namespace conveyor {

class BuildContext;

/// A partitioning source's `partition` and `key` options (csv.read, json.read embed them):
/// how it divides its records in a sharded run. Unset, [global] partition and partition_key
/// apply.
struct PartitionOptions {
    std::optional<Partition> partition;
    std::string key;
};

OptionTable<PartitionOptions> partition_options();

/// What a source reads in a sharded run.
struct SourceShard {
    ShardId shard;
    Partition partition = Partition::Rows;
    std::string key; ///< partition = hash
};

/// The share of a source whose options are `o`, or nullopt when the run is not sharded
/// (GlobalSpec::shard). Reports what cannot work: "hash" without a key, "rows" of standard
/// input (`path` "-"), which has no byte ranges, or of a glob (several files), "files" of
/// standard input; warns of "files" of one file (not a glob), which shard 0 reads.
std::optional<SourceShard> source_shard(BuildContext& ctx, const PartitionOptions& o,
                                        const std::string& path);

/// A file source's `path` (csv.read, json.read) may be a glob (io/file_glob.hpp) read as one
/// stream (stage/file_sequence.hpp), but not with follow = true: reports that.
void check_file_source_path(BuildContext& ctx, const std::string& path, bool follow);

/// Opens a file source whose `path` is a glob, or whose partition is "files", as a sequence
/// of its files (stage/file_sequence.hpp), each opened by `make`: under partition = "files"
/// only `shard`'s share of them, under "hash" the records of `shard`'s keys.
Result<OpenedStage> open_sharded_files(const std::string& path,
                                       const std::optional<SourceShard>& shard,
                                       const OpenContext& ctx, const FileStageFactory& make);

} // namespace conveyor
