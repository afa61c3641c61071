#pragma once

#include "conveyor/option/option_table.hpp"
#include "conveyor/option/options.hpp"
#include "conveyor/stage/build_context.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {

enum class StageRole : std::uint8_t { Source, Transform, Sink };
std::string_view to_string(StageRole role) noexcept;

/// Builds a stage definition; returns nullptr after reporting problems through the context.
using StageFactory = std::function<std::unique_ptr<Stage>(BuildContext&)>;

/// A factory that receives its options as the struct `table` fills (the table must outlive
/// the registry: declare it as a function-local static). `build(BuildContext&, Config)`
/// checks what types alone cannot and builds the stage.
template <class Config, class Build>
StageFactory bind_options(const OptionTable<Config>& table, Build build) {
    return [&table, build = std::move(build)](BuildContext& ctx) -> std::unique_ptr<Stage> {
        return build(ctx, table.fill(ctx.options()));
    };
}

inline constexpr std::size_t kUnboundedInputs = std::numeric_limits<std::size_t>::max();

/// Everything conveyor knows about one function (`csv.read`, `filter.apply`, ...).
struct FunctionDescriptor {
    std::string name;
    StageRole role = StageRole::Transform;
    std::string summary;     ///< one line, for `conveyor list`
    std::string description; ///< a paragraph, for `conveyor describe`
    std::vector<OptionSpec> options;
    std::size_t min_inputs = 1;
    std::size_t max_inputs = 1;
    /// Needs its whole input before emitting (sort, group-by). In streaming mode such a stage
    /// runs only after windows (opens_windows), once per window (exec/per_window.hpp).
    bool needs_whole_input = false;
    /// Its output comes in windows: every record carries `window_start`, and a WindowClosed
    /// (batch metadata) with those bounds follows a window's last record (window.apply).
    bool opens_windows = false;
    /// Runs as a coroutine on the I/O thread (network, timers: a StreamOperator). Under
    /// executor = "dag" its edges stay level barriers instead of streaming inside a chain.
    bool asynchronous = false;
    /// A 1:1 transform: every record it emits is one of its input records (changed or not),
    /// emitted while that record's batch is pushed (filter, map, select, http.fetch, ...); it
    /// may drop records or send them to named outputs. A record's lineage id survives it, so
    /// it may stand between a fan-out and the gather.apply that joins its branches.
    bool keeps_lineage = false;
    /// Joins the branches of one fan-out back together per record (gather.apply): the loader
    /// finds the fan-out its inputs descend from (StageSpec::fan_out) through stages that
    /// keep lineage, and the run numbers that stage's records and feeds them to it as well.
    bool gathers = false;
    /// A source that reads only its shard's records under `conveyor run --shard I/N` (its
    /// options embed partition_options(): `partition`, `key`).
    bool partitions = false;
    /// A file sink whose `path` a sharded run writes as parts (NAME.part-0000I-of-0000N.EXT)
    /// for `conveyor finalize` to put together.
    bool writes_files = false;
    /// A sink that commits what it wrote at each checkpoint of the run (a database table with
    /// a progress row), not only at the end: a stopped or failed run has changed it up to its
    /// last checkpoint, which --resume carries on from.
    bool commits_at_checkpoints = false;
    /// A stage that needs its whole input, under --shard: the options naming the fields whose
    /// equal values must meet in one shard (group-by's `by`), so that hash partitioning on one
    /// of them makes each shard's result final. Empty: it cannot run sharded (sort: the parts
    /// would each be sorted, not the whole).
    std::vector<std::string> shard_key_options;
    /// A stage whose shards' results combine (group-by with count, sum, min, max, avg): under
    /// partition = "rows" (or "files") each shard emits partial results straight into file sinks,
    /// and `conveyor finalize` runs these stages over the parts put together. Given the stage's
    /// options: the TOML of `[[stages]]` reading input "partials" whose last one is
    /// "combined". Unset: the stage needs hash partitioning on shard_key_options.
    std::function<std::string(const Options&)> combine_shards;
    /// combine_shards gives a single run's output only when each part holds a contiguous
    /// stretch of the input in input order (partition = "rows"): refused over sources with
    /// partition = "files", whose shards read files from all over the list, or with their own
    /// partition = "hash" (sort: equal keys would leave their input order).
    bool combine_needs_input_order = false;
    /// Under partition = "hash" each shard's results are whole and finalize puts the parts
    /// together in shard order, unless this gives (for the stage's options) the TOML of stages
    /// as for combine_shards to run over them: a group-by with sorted = true has its groups
    /// sorted per part, and only a merge across the parts gives the single run's order. Empty
    /// text (or unset): the parts are concatenated.
    std::function<std::string(const Options&)> combine_hash_shards;
    StageFactory factory;
    std::string plugin; ///< filled in by Registry::add

    [[nodiscard]] const OptionSpec* find_option(std::string_view option) const;
};

struct PluginInfo {
    std::string name;
    bool optional = false; ///< enabled by `[global] plugins`; the others are always on
    std::vector<std::string> functions;
};

/// Builds a function's descriptor (a plain function: plugins declare their options in
/// function-local statics, see bind_options).
using DescriptorMaker = FunctionDescriptor (*)();

/// The functions available to pipelines. An object owned by the app (or a test) and passed by
/// reference; plugins add to it from their register_<name>() function.
///
/// Functions are registered by name with the function that builds their descriptor, which runs
/// the first time the function is looked up: a start builds the descriptors (option tables,
/// descriptions) of the functions its pipeline uses, not of all of them. Under a hypervisor the
/// first touch of each page of that code and data is a page fault of several microseconds,
/// and building all of them was a fifth of `conveyor validate`'s time. Lookups are thread-safe.
class Registry {
public:
    Registry();
    ~Registry();
    Registry(Registry&&) noexcept;
    Registry& operator=(Registry&&) noexcept;

    /// Functions added after this call belong to plugin `name`.
    void begin_plugin(std::string name, bool optional);
    void end_plugin();
    /// Adds function `name`, whose descriptor `make` builds when first needed (its name must be
    /// `name`: asserted then). Names are unique (asserted).
    void add(std::string name, DescriptorMaker make);
    /// Adds a function built already (tests).
    void add(FunctionDescriptor fn);

    [[nodiscard]] const FunctionDescriptor* find(std::string_view name) const;
    /// Every function, sorted by name (builds every descriptor).
    [[nodiscard]] std::vector<const FunctionDescriptor*> functions() const;
    /// Every function's name, sorted (builds nothing).
    [[nodiscard]] std::vector<std::string_view> names() const;
    [[nodiscard]] const PluginInfo* find_plugin(std::string_view name) const;
    [[nodiscard]] const std::vector<PluginInfo>& plugins() const noexcept { return plugins_; }

private:
    struct Entry;
    const FunctionDescriptor& built(const Entry& e) const;
    Entry& add_entry(std::string name);

    std::vector<std::unique_ptr<Entry>> entries_;
    std::vector<PluginInfo> plugins_;
    std::string current_plugin_;
};

/// Registers every plugin compiled into this binary (generated by cmake/ConveyorPlugins.cmake).
void register_builtin_plugins(Registry& registry);

} // namespace conveyor
