#pragma once

#include "conveyor/core/run_settings.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace conveyor {

/// The shard a key value belongs to among `count`: FNV-1a (64 bits) of the value's key
/// encoding (format/value_key.hpp encode_key: values equal as JSON, 1 and 1.0, encode alike;
/// null and a missing field alike), modulo `count`. The same on every process and machine, so
/// shards started anywhere agree; a CSV field read as text ("42" with infer_types = false) is
/// not the number 42.
std::uint32_t shard_of_key(const Value& key, std::uint32_t count);

/// Wraps a source so that only the records whose `key` field belongs to `shard` go out
/// (partition = "hash"); checkpoints and everything else are the source's.
std::unique_ptr<SourceOperator> keep_shard_records(std::unique_ptr<SourceOperator> source,
                                                   std::string key, ShardId shard);

} // namespace conveyor
