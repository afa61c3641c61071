#pragma once

#include "conveyor/core/diagnostic.hpp"
#include "conveyor/core/error.hpp"
#include "conveyor/core/run_settings.hpp"
#include "conveyor/option/options.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {

struct FunctionDescriptor;

/// One `[[stages]]` entry after validation: options checked against the function's
/// declaration and the stage definition built.
/// A stage's `[stages.buffer]`: how its input queue behaves under executor = "channel" or
/// "async" when the stage falls behind (issue: one slow sink must not pace its siblings).
struct BufferSpec {
    enum class Type : std::uint8_t { Memory, Disk };
    enum class WhenFull : std::uint8_t { Block, DropNewest };
    Type type = Type::Memory;
    /// Records (and bytes of them) the queue holds in memory; channel_buffer_size when unset.
    std::optional<std::int64_t> max_records;
    std::optional<std::uint64_t> max_bytes;
    /// Memory only: a full queue suspends the producer (nothing lost) or drops what comes.
    WhenFull when_full = WhenFull::Block;
};

struct StageSpec {
    std::string id;
    std::string function;
    std::vector<std::string> inputs;
    /// Per input: the named output of that stage it reads ("" = its main output), from
    /// inputs = ["router.big"].
    std::vector<std::string> input_outputs;
    Options config;
    SourceLocation where; ///< the stage's `[[stages]]` header
    const FunctionDescriptor* descriptor = nullptr;
    std::shared_ptr<const Stage> stage;
    /// The run-wide [error_handling] with this stage's [stages.error_handling] applied.
    ErrorHandlingSpec error_handling;
    std::string description; ///< the optional `description` of the [[stages]] entry
    /// gather.apply (FunctionDescriptor::gathers): the index of the fan-out stage its branches
    /// descend from. The run numbers that stage's records and feeds them to this one too.
    std::optional<std::size_t> fan_out;
    std::optional<BufferSpec> buffer; ///< its `[stages.buffer]`, when given

    /// Input k as the file names it: "<stage>" or "<stage>.<output>".
    [[nodiscard]] std::string input_label(std::size_t k) const;
    /// Where a configuration error of this stage (one its open() found) points: at the option
    /// the error's text starts with ("columns: ...", "aggregations[0].column: ...") when the
    /// file gave that option, else at the stage's `[[stages]]` line.
    [[nodiscard]] SourceLocation location_of(const Error& e) const;
};

/// A validated pipeline: what `conveyor run` executes.
struct PipelineSpec {
    std::string name;
    std::string version;
    std::string description;
    std::string file; ///< the file it was loaded from (or a label for strings)
    GlobalSpec global;
    ErrorHandlingSpec error_handling;
    std::vector<StageSpec> stages; ///< in file order

    [[nodiscard]] const StageSpec* find_stage(std::string_view id) const;
    /// When every consumer of stage `i` takes at most N of its records (limit.apply after a
    /// sort: Stage::takes_at_most), the largest such N; nullopt otherwise.
    [[nodiscard]] std::optional<std::uint64_t> consumers_take_at_most(std::size_t i) const;
    /// [global] memory_limit, or a quarter of RAM when unset.
    [[nodiscard]] std::uint64_t memory_limit() const;
    /// The memory a stage that holds its input (FunctionDescriptor::needs_whole_input, or
    /// Stage::may_hold_records) may use before it spills: memory_limit() shared equally by
    /// those stages and, under dag, the materialised edges.
    [[nodiscard]] std::uint64_t memory_share() const;
    /// What dag's materialised edges together hold in memory before they spill:
    /// max_buffered_bytes when set, else their share of memory_limit().
    [[nodiscard]] std::uint64_t edge_share() const;
    /// Whether some stage holds its input or dag materialises some edge: the run may hold
    /// much of its data in memory.
    [[nodiscard]] bool holds_data() const;
    /// Whether the dag executor materialises some edge (at a fork, a join, or around a stage
    /// on the I/O thread); a pipeline of chains buffers none, and its edges take no share.
    [[nodiscard]] bool buffers_edges() const;
};

} // namespace conveyor
