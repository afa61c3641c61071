#include "conveyor/registry/partition_options.hpp"

#include "conveyor/io/file_glob.hpp"
#include "conveyor/stage/build_context.hpp"
#include "conveyor/stage/shard_filter.hpp"

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
                                    "records whose `key` value hashes to the shard, \"files\" "
                                    "whole files of a glob `path`, dealt to the shards by size "
                                    "(largest first, each to the shard with the fewest bytes "
                                    "so far); a path that is not a glob is one file, read by "
                                    "shard 0.",
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
    if (s.partition == Partition::Rows && is_glob(path))
        ctx.error("partition", "partition = \"rows\" divides one file into byte ranges, and "
                               "path is a glob of several: use partition = \"files\" (each "
                               "shard reads whole files) or \"hash\"");
    if (s.partition == Partition::Files && path == "-")
        ctx.error("partition", "partition = \"files\" deals the files of a glob path to the "
                               "shards, and standard input is none: use partition = \"hash\"");
    else if (s.partition == Partition::Files && !is_glob(path))
        ctx.warning("partition", "partition = \"files\" with a path that is not a glob: shard 0 "
                                 "reads the whole file and the other shards none (partition = "
                                 "\"rows\" divides one file)");
    return s;
}

void check_file_source_path(BuildContext& ctx, const std::string& path, bool follow) {
    if (follow && is_glob(path))
        ctx.error("path", "follow = true follows one file, and path is a glob (* ? [...]): "
                          "name the file");
}

Result<OpenedStage> open_sharded_files(const std::string& path,
                                       const std::optional<SourceShard>& shard,
                                       const OpenContext& ctx, const FileStageFactory& make) {
    const bool files = shard && shard->partition == Partition::Files;
    Result<OpenedStage> opened =
        open_file_sequence(path, files ? std::optional(shard->shard) : std::nullopt, ctx, make);
    if (!opened || !shard || shard->partition != Partition::Hash) return opened;
    auto& source = std::get<std::unique_ptr<SourceOperator>>(opened->op);
    source = keep_shard_records(std::move(source), shard->key, shard->shard);
    return opened;
}

} // namespace conveyor
