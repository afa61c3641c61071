#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "toml_util.hpp"

namespace conveyor::config {

/// Under `--shard I/N` (GlobalSpec::shard), refuses what would make the shards' finalized
/// output differ from one run's, each with the partitioning that makes it correct: a source
/// that cannot read a share, a sink that writes no file parts, a stage that needs its whole
/// input without hash partitioning on its key. False when it reported an error.
bool check_sharding(LoadContext& ctx, const PipelineSpec& spec);

/// The partitioning a source stage uses: its own `partition` when given, else [global]'s.
Partition source_partition(const StageSpec& source, const GlobalSpec& global);
/// The hash key a source uses: its own `key` when given, else [global] partition_key.
std::string source_partition_key(const StageSpec& source, const GlobalSpec& global);

} // namespace conveyor::config
