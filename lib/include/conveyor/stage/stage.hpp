#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/run_settings.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/stage/emitter.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace conveyor {

class StreamOperator; // stage/stream_stage.hpp (asio-based, for I/O-bound stages)
class RunContext;     // core/run_context.hpp
class StageErrors;    // exec/stage_errors.hpp
struct StageMetrics;  // obs/metrics.hpp

/// A checkpoint of the run (`conveyor run --resume`, `[global] checkpoint_interval`): a
/// consistent cut through the pipeline. Sources emit a checkpoint marker after the records it
/// covers; every stage passes it on after the records before it; when every source and sync
/// stage has reported its state for the same checkpoint, the run journal commits it. A resumed
/// run opens each stage with the state it reported for the last committed checkpoint
/// (OpenContext::resume): sources continue after that position, sinks carry on writing the
/// output they had written, so only the records after the checkpoint are done again.
///
/// A run takes checkpoints only when every stage takes part (OpenedStage::checkpoints);
/// otherwise --resume reads the inputs again from the start (journaled http.fetch responses
/// are still reused).
struct Checkpoint {
    std::uint64_t id = 0;
    /// Make what the stage wrote so far survive a machine crash (fdatasync), not only a killed
    /// process. Asked for at most about once a second; other checkpoints only need what was
    /// written to be handed to the kernel (write()).
    bool durable = false;
};

/// A source's per-run state. Runs on a thread of its own (it may block on input), never on an
/// I/O thread.
class SourceOperator {
public:
    virtual ~SourceOperator() = default;
    /// Produces the next batch (at most OpenContext::batch_size records) into `out`.
    /// Returns true while more may follow, false at the end of the input. On an error, what
    /// was emitted before it still goes downstream when the stage's strategy continues:
    /// a source should emit the complete records it read before the one that failed.
    /// After a graceful stop is requested (RunContext::stop_requested) a source must end
    /// soon: pass on what it has already read, read nothing more (InputFile does this).
    virtual Result<bool> next(Emitter& out) = 0;
    /// The run is abandoned; release what needs releasing. Must not throw.
    virtual void abort() noexcept {}
    /// Only for sources that set OpenedStage::checkpoints. Called between next() calls: where
    /// the source stands after every record it has emitted so far, as text (no line breaks)
    /// that open() accepts back through OpenContext::resume to continue right after them.
    virtual Result<std::string> checkpoint(const Checkpoint& /*cp*/) { return std::string(); }
};

/// A transform's or sink's per-run state. Calls never overlap; they happen on one worker
/// thread at a time, in this order: push()/input_done() as input arrives, then finish() once
/// every input has ended. abort() instead of finish() when the run fails or is cancelled.
class Operator {
public:
    virtual ~Operator() = default;
    /// One batch from input `port` (the index in the stage's `inputs` list).
    virtual Status push(std::size_t port, Batch&& batch, Emitter& out) = 0;
    /// Input `port` has ended (all its batches were pushed).
    virtual Status input_done(std::size_t /*port*/, Emitter& /*out*/) { return {}; }
    /// Every input has ended. Barrier stages emit here; file sinks commit their output here
    /// (temporary file, fsync, rename) and must not leave anything half-written on failure.
    virtual Status finish(Emitter& /*out*/) { return {}; }
    /// After finish(): called again, each time after what it emitted went downstream, while it
    /// returns true. A stage whose output after the end of its input is large (a sort merging
    /// the runs it spilled) emits it a batch or so at a time here, so that it never piles up.
    virtual Result<bool> finish_more(Emitter& /*out*/) { return false; }
    /// The run is abandoned: roll back (delete temporary files). Must not throw.
    virtual void abort() noexcept {}
    /// True once the stage wants no more input (its reader closed standard output, its limit
    /// is reached): the executor stops feeding it and calls finish(); its producers stop
    /// sending to it, and a source with no consumer left stops reading.
    [[nodiscard]] virtual bool satisfied() const noexcept { return false; }
    /// When the stage wants on_timer() called even if no input arrives by then (a sink whose
    /// buffered output must be written within flush_interval_ms); nullopt: no such time.
    /// Asked again after every call.
    [[nodiscard]] virtual std::optional<std::chrono::steady_clock::time_point> timer() const {
        return std::nullopt;
    }
    /// The time timer() named has come; called like push(), between pushes.
    virtual Status on_timer(Emitter& /*out*/) { return {}; }
    /// Whether this stage acts on metadata `info` (see BatchInfo). The executor hands such
    /// metadata to on_info() right after pushing the records it followed (`port`: the input
    /// they came by); every other kind it passes on by itself, after what the stage emitted for
    /// those records.
    [[nodiscard]] virtual bool consumes(const BatchInfo& /*info*/) const noexcept { return false; }
    virtual Status on_info(std::size_t /*port*/, const BatchInfo& /*info*/, Emitter& /*out*/) {
        return {};
    }
    /// Only for sinks that set OpenedStage::checkpoints (a transform that takes part keeps no
    /// state from one batch to the next: markers just pass through it, and this is not
    /// called). Called between pushes once every record before checkpoint `cp` (on every
    /// input) has been pushed, and before any record after it. Returns the sink's state as text
    /// (no line breaks) that open() accepts back through OpenContext::resume: what it needs to
    /// carry on writing the same output (its temporary file and how many bytes of it are
    /// good), after handing everything it buffered to that file.
    virtual Result<std::string> checkpoint(const Checkpoint& /*cp*/) { return std::string(); }
    /// Gives back what the operator holds while it waits (an open file descriptor, write
    /// buffers); the next call takes them again. A sink split over many files (split_sink.hpp)
    /// calls it on the files it wrote to least recently, to keep few of them open at a time.
    virtual Status suspend() { return {}; }
};

/// What open() returns: the run object plus the schema of the records it will emit first
/// (nullptr when unknown before data flows, e.g. an empty JSON input).
struct OpenedStage {
    std::variant<std::unique_ptr<SourceOperator>, std::unique_ptr<Operator>,
                 std::unique_ptr<StreamOperator>>
        op;
    SchemaRef initial_schema;
    /// True when every record will have exactly initial_schema's fields (CSV); false when
    /// records may differ (JSON). Lets transforms reject unknown column names at open time.
    bool fixed_schema = false;
    /// The stage takes part in checkpoints (see Checkpoint): a source can report its position
    /// and continue from it, a transform keeps no state across batches and passes checkpoint
    /// markers on in order, a sink can carry on writing its output after a resume. False (the
    /// default) turns checkpoints off for the whole run.
    bool checkpoints = false;
    /// Under dag, take the inputs' batches in turn (one from each input, round and round)
    /// instead of one whole input after the other: for a stage that pairs records across its
    /// inputs as they come (gather.apply), so that it holds few of them at a time.
    bool interleave_inputs = false;

    OpenedStage(std::unique_ptr<SourceOperator> s, SchemaRef schema);
    OpenedStage(std::unique_ptr<Operator> o, SchemaRef schema);
    OpenedStage(std::unique_ptr<StreamOperator> s, SchemaRef schema);
    OpenedStage(OpenedStage&&) noexcept;
    OpenedStage& operator=(OpenedStage&&) noexcept;
    ~OpenedStage();
};

/// Everything a stage may use while opening and running.
struct OpenContext {
    std::string_view stage_id;
    /// The initial schema of each input, in `inputs` order (nullptr where unknown).
    std::span<const SchemaRef> input_schemas;
    /// Per input: whether its schema is fixed (see OpenedStage::fixed_schema).
    std::span<const bool> input_schemas_fixed;
    /// Records per batch a source should aim for.
    std::size_t batch_size = 1024;
    ExecutionMode mode = ExecutionMode::Batch;
    /// Run-wide services: cancellation, graceful stop, temporary files, I/O executors.
    RunContext* run = nullptr;
    StageMetrics* metrics = nullptr;
    /// Where the stage reports records it cannot process (the error strategy decides whether
    /// that fails the stage or skips the record into the dead-letter queue).
    StageErrors* errors = nullptr;
    /// Resuming an interrupted run (`--resume`): the state this stage reported for the last
    /// committed checkpoint (SourceOperator/Operator::checkpoint). The stage must continue
    /// from it (a source after that position, a sink appending to the output it had) or fail
    /// naming what does not match. Not set on a fresh run.
    std::optional<std::string> resume;
    /// Per named output (Stage::named_outputs, in order): whether a stage reads it. Records
    /// emitted on an output nobody reads are dropped; a stage may do something else with
    /// them instead (validate.schema dead-letters invalid records then).
    std::span<const bool> named_outputs_read;
    /// Bytes of memory the stage may hold (its share of [global] memory_limit), for stages
    /// that hold their input (FunctionDescriptor::needs_whole_input, Stage::may_hold_records):
    /// beyond it they spill to `spill_dir`. 0 for other stages.
    std::uint64_t memory_budget = 0;
    /// Every consumer of this stage takes at most this many of its records
    /// (PipelineSpec::consumers_take_at_most): a sort keeps only that many.
    std::optional<std::uint64_t> output_limit;
    /// Where such a stage writes its spill files (under the run's state_dir; it removes them).
    std::string spill_dir;
    /// Every input is complete before the stage runs (a stage with several inputs under dag):
    /// nothing it waits for can come late, so deadlines do not apply (gather.apply).
    bool inputs_complete = false;
};

/// An output of a stage besides its main one (route.apply's routes, validate.schema's
/// `invalid`): a downstream stage reads it with inputs = ["<stage>.<name>"].
struct NamedOutput {
    std::string name;
    std::string description;
    /// Whether leaving it unread is normal (no load warning): the stage then handles those
    /// records itself (see OpenContext::named_outputs_read).
    bool may_go_unread = false;
};

/// A stage's definition, built from validated options at load time. Immutable: open() creates
/// the per-run state, so re-runs, retries and parallel copies need nothing special.
class Stage {
public:
    virtual ~Stage() = default;
    /// May do I/O (open input files, read a CSV header); errors name what failed.
    virtual Result<OpenedStage> open(const OpenContext& ctx) const = 0;
    /// The stage's named outputs, fixed when it is built (Emitter::emit_to numbers them
    /// from 1 in this order).
    [[nodiscard]] virtual std::vector<NamedOutput> named_outputs() const { return {}; }
    /// False for a stage whose records all leave by named outputs (route.apply): a plain
    /// inputs = ["<stage>"] is then a load error that names them.
    [[nodiscard]] virtual bool has_main_output() const { return true; }
    /// When the stage takes at most this many records of its input and ignores the rest
    /// (limit.apply: count + offset), so that its producer need not make more (a sort then
    /// keeps only that many: OpenContext::output_limit).
    [[nodiscard]] virtual std::optional<std::uint64_t> takes_at_most() const {
        return std::nullopt;
    }
    /// Sources only: whether open() reads no more than a regular file's header or first
    /// record and returns at once (never a pipe, standard input or a followed file), so that
    /// `conveyor validate` may open it to check the stages after it against the schema it
    /// finds (exec/probe.hpp).
    [[nodiscard]] virtual bool can_probe() const { return false; }
    /// Whether the stage, though it streams, may hold records for a while (running.apply
    /// with lead: a record waits for the one ahead of it): it then gets a share of [global]
    /// memory_limit and the spill directory (OpenContext::memory_budget, spill_dir) as a
    /// stage that needs its whole input does, and spills beyond it.
    [[nodiscard]] virtual bool may_hold_records() const { return false; }
};

} // namespace conveyor
