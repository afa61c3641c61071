#pragma once

// groupby.apply in a sharded run with partition = "rows" or "files": each shard sees some records
// of a group, so it emits partial groups that `conveyor finalize` combines into one run's groups
// (FunctionDescriptor::combine_shards). count, sum, min and max combine as they are (sums of
// counts and sums, min of minima, max of maxima); avg X is emitted as the sum X plus a hidden
// count of its values, `__conveyor_count_X`, and finalize divides once the sums are combined.
// The other operations (median, count_distinct, first, ...) have no such partial form: a
// pipeline using them needs partition = "hash" on the group key.

#include "aggregation.hpp"
#include "conveyor/core/run_settings.hpp"

#include <string>
#include <vector>

namespace conveyor {
class BuildContext;
}

namespace conveyor::plugins::groupby {

/// Whether a group-by of a run with these settings emits partial groups.
inline bool emits_partials(const GlobalSpec& global) noexcept {
    return global.shard && global.partition != Partition::Hash;
}

/// Rewrites `aggs` into the partial form a shard emits (avg as sum plus a hidden count). False,
/// with an error, for keys or operations that do not combine.
bool make_partial(BuildContext& ctx, const std::vector<std::string>& keys,
                  std::vector<Aggregation>& aggs);

/// Whether a group-by of a run with these settings emits whole groups sorted per shard, which
/// finalize merges into one order (combine_sorted_toml).
inline bool emits_sorted_parts(const GlobalSpec& global, bool sorted) noexcept {
    return global.shard && global.partition == Partition::Hash && sorted;
}

/// Checks that keys and outputs are plain field names, as finalize's merge of sorted parts
/// reads them; false, with an error, otherwise.
bool check_sorted_parts(BuildContext& ctx, const std::vector<std::string>& keys,
                        const std::vector<Aggregation>& aggs);

/// The TOML of the stage that merges whole groups sorted per part (partition = "hash",
/// sorted = true) into the key order of a single run: the same group-by, by the same keys,
/// sorted, taking each output field's one value (`first`). Reads input "partials", is
/// "combined".
std::string combine_sorted_toml(const std::vector<std::string>& keys,
                                const std::vector<Aggregation>& aggs);

/// The TOML of the stages that combine partial groups: the first reads input "partials", the
/// last is "combined" and puts out the columns a single run's group-by would.
std::string combine_stages_toml(const std::vector<std::string>& keys,
                                const std::vector<Aggregation>& aggs, bool sorted);

} // namespace conveyor::plugins::groupby
