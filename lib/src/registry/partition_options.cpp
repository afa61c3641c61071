#include "conveyor/registry/partition_options.hpp"

#include "conveyor/stage/build_context.hpp"

namespace conveyor {

OptionTable<PartitionOptions> partition_options() {
    std::vector<std::pair<std::string, Partition>> spellings;
    for (const std::string& name : partition_names())
        spellings.emplace_back(name, *parse_partition(name));
    return OptionTable<PartitionOptions>()
        .add_choice("partition", &PartitionOptions::partition, spellings,
                    {.description = "In a sharded run (--shard I/N, [global] backend): \"rows\" "
                                    "reads the records starting in the shard's byte range of "
                                    "the file (cut at record starts, quote-aware), \"hash\" the "
                                    "records whose `key` value hashes to the shard.",
                     .default_note = "[global] partition"})
        .add("key", &PartitionOptions::key,
             {.description = "partition = \"hash\": the field whose value picks the shard.",
              .default_note = "[global] partition_key",
              .example = "\"customer_id\""});
}

std::optional<SourceShard> source_shard(BuildContext& ctx, const PartitionOptions& o,
                                        const std::string& path) {
    const GlobalSpec& global = ctx.global();
    if (!global.shard) return std::nullopt;
    SourceShard s;
    s.shard = *global.shard;
    s.partition = o.partition.value_or(global.partition);
    s.key = o.key.empty() ? global.partition_key : o.key;
    if (s.partition == Partition::Hash && s.key.empty())
        ctx.error("key", "partition = \"hash\" needs the field whose value picks the shard: "
                         "key = \"...\" (or [global] partition_key)");
    if (s.partition == Partition::Rows && path == "-")
        ctx.error("partition", "partition = \"rows\" divides a file into byte ranges, and "
                               "standard input has none: read a file, or use partition = "
                               "\"hash\"");
    return s;
}

} // namespace conveyor
