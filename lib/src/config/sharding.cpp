#include "sharding.hpp"

#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace conveyor::config {

namespace {

/// The strings an option holds: a string, or a list's strings.
std::vector<std::string> strings_of(const OptionValue* v) {
    std::vector<std::string> out;
    if (!v) return out;
    if (v->is_string()) out.push_back(v->as_string());
    if (v->is_list())
        for (const OptionValue& item : v->as_list())
            if (item.is_string()) out.push_back(item.as_string());
    return out;
}

/// The sources stage `i` reads from, directly or through other stages.
std::vector<const StageSpec*> sources_of(const PipelineSpec& spec, const StageSpec& stage) {
    std::vector<const StageSpec*> out;
    std::vector<const StageSpec*> todo{&stage};
    std::vector<const StageSpec*> seen;
    while (!todo.empty()) {
        const StageSpec* s = todo.back();
        todo.pop_back();
        if (std::find(seen.begin(), seen.end(), s) != seen.end()) continue;
        seen.push_back(s);
        if (s->descriptor && s->descriptor->role == StageRole::Source) out.push_back(s);
        for (const std::string& in : s->inputs)
            if (const StageSpec* p = spec.find_stage(in)) todo.push_back(p);
    }
    return out;
}

void check_source(LoadContext& ctx, const StageSpec& st) {
    if (st.descriptor->partitions) return;
    ctx.error(st.where, st.id,
              fmt::format("a sharded run (--shard, backend) needs every source to read a share "
                          "of its records, and {} cannot (csv.read and json.read can)",
                          st.function));
}

void check_sink(LoadContext& ctx, const StageSpec& st) {
    if (!st.descriptor->writes_files) {
        ctx.error(st.where, st.id,
                  fmt::format("a sharded run (--shard, backend) writes each output as parts for "
                              "`conveyor finalize`, which {} cannot (csv.write and json.write "
                              "can)",
                              st.function));
        return;
    }
    const OptionValue* path = st.config.find("path");
    const std::string p = path && path->is_string() ? path->as_string() : "";
    if (p == "-")
        ctx.error(st.where, st.id,
                  "a sharded run writes each output as file parts; standard output (path = "
                  "\"-\") cannot be (write to a file)");
    else if (p.find("{{") != std::string::npos)
        ctx.error(st.where, st.id,
                  "a sharded run writes each output as file parts; a path with {{ field }} "
                  "placeholders (one file per value) cannot be (use a fixed path)");
}

/// A stage whose partial results finalize combines (partition = "rows"), or whose whole results
/// it merges into one order ("hash", combine_hash_shards): its output must go straight into
/// file sinks, whose parts finalize reads.
void check_combined(LoadContext& ctx, const PipelineSpec& spec, const StageSpec& st) {
    const bool hash = spec.global.partition == Partition::Hash;
    for (const StageSpec& consumer : spec.stages) {
        if (std::find(consumer.inputs.begin(), consumer.inputs.end(), st.id) ==
            consumer.inputs.end())
            continue;
        if (consumer.descriptor && consumer.descriptor->writes_files) continue;
        ctx.error(consumer.where, consumer.id,
                  hash ? fmt::format("in a sharded run with partition = \"hash\", {} '{}' "
                                     "emits groups sorted per shard that finalize merges into "
                                     "one order from the parts of the file it writes: its "
                                     "output must go straight to csv.write or json.write, not "
                                     "to {} (or leave out sorted = true)",
                                     st.function, st.id, consumer.function)
                       : fmt::format("in a sharded run with partition = \"rows\", {} '{}' emits "
                                     "partial results that finalize combines from the parts of "
                                     "the file it writes: its output must go straight to "
                                     "csv.write or json.write, not to {} (or use partition = "
                                     "\"hash\" on its key)",
                                     st.function, st.id, consumer.function));
    }
}

void check_whole_input(LoadContext& ctx, const PipelineSpec& spec, const StageSpec& st) {
    const FunctionDescriptor& fn = *st.descriptor;
    if (fn.combine_shards && spec.global.partition != Partition::Hash) {
        check_combined(ctx, spec, st);
        if (!fn.combine_needs_input_order) return;
        for (const StageSpec* src : sources_of(spec, st)) {
            const Partition p = source_partition(*src, spec.global);
            if (p == Partition::Files)
                ctx.error(st.where, st.id,
                          fmt::format("{} over partition = \"files\" shards cannot keep records "
                                      "with equal keys in their input order (each shard reads "
                                      "files from all over the list, so the parts are not the "
                                      "input in order) and source '{}' partitions by files: "
                                      "use partition = \"rows\" on single files, or sort the "
                                      "finalized output",
                                      st.function, src->id));
            else if (p == Partition::Hash)
                // [global] partition is not "hash", but this source's own is.
                ctx.error(st.where, st.id,
                          fmt::format("{} needs its whole input, and source '{}' is divided "
                                      "by partition = \"hash\": put back together, the "
                                      "shards' parts would not keep records with equal keys in "
                                      "their input order (use partition = \"rows\" on that "
                                      "source, or run {} on the finalized output)",
                                      st.function, src->id, st.function));
        }
        return;
    }
    if (fn.combine_hash_shards && !fn.combine_hash_shards(st.config).empty())
        check_combined(ctx, spec, st);
    if (fn.shard_key_options.empty()) {
        ctx.error(st.where, st.id,
                  fmt::format("{} needs its whole input, and a sharded run gives it a share: "
                              "no partitioning makes the parts' union one run's output (run "
                              "it on the finalized output, or without --shard)",
                              st.function));
        return;
    }
    std::vector<std::string> keys;
    for (const std::string& o : fn.shard_key_options)
        for (std::string& k : strings_of(st.config.find(o)))
            keys.push_back(std::move(k));
    std::string names;
    for (const std::string& o : fn.shard_key_options)
        names += (names.empty() ? "" : "/") + o;
    for (const StageSpec* src : sources_of(spec, st)) {
        const bool hashed = source_partition(*src, spec.global) == Partition::Hash;
        const std::string key = source_partition_key(*src, spec.global);
        if (hashed && std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
        ctx.error(st.where, st.id,
                  fmt::format("{} needs all records with equal {} in one shard, but source '{}' "
                              "{}: give it partition = \"hash\" with key = one of its {} fields "
                              "({}), so that each shard's {} is final",
                              st.function, names, src->id,
                              hashed ? fmt::format("hashes '{}'", key)
                                     : fmt::format("partitions by \"{}\"",
                                                   to_string(source_partition(*src, spec.global))),
                              names, fmt::join(keys, ", "), st.function));
    }
}

} // namespace

Partition source_partition(const StageSpec& source, const GlobalSpec& global) {
    const OptionValue* v = source.config.find("partition");
    if (v && v->is_string() && source.config.given("partition"))
        if (const std::optional<Partition> p = parse_partition(v->as_string())) return *p;
    return global.partition;
}

std::string source_partition_key(const StageSpec& source, const GlobalSpec& global) {
    const OptionValue* v = source.config.find("key");
    if (v && v->is_string() && source.config.given("key")) return v->as_string();
    return global.partition_key;
}

bool check_sharding(LoadContext& ctx, const PipelineSpec& spec) {
    if (!spec.global.shard) return true;
    for (const StageSpec& st : spec.stages) {
        if (!st.descriptor) continue;
        if (st.descriptor->role == StageRole::Source)
            check_source(ctx, st);
        else if (st.descriptor->role == StageRole::Sink)
            check_sink(ctx, st);
        if (st.descriptor->needs_whole_input) check_whole_input(ctx, spec, st);
    }
    return !ctx.diags.has_errors(); // called on a pipeline that loaded without errors
}

} // namespace conveyor::config
