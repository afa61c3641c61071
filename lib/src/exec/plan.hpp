#pragma once

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/obs/batch_observer.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/stage.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

namespace conveyor {
class Runtime;
class RunContext;
} // namespace conveyor

namespace conveyor::exec {

class Checkpointer;

/// Consumer::output of an edge that carries every output of its producer (a gather's edge
/// from its fan-out).
inline constexpr std::uint32_t kEveryOutput = 0xffffffffu;

/// An edge seen from its producer: which consumer, and at which of its input ports.
struct Consumer {
    std::size_t node;
    std::size_t port;
    std::uint32_t output = 0; ///< the producer's output it reads (Batch::output), kEveryOutput
};

/// One stage of the run: its spec, its graph position and its per-run state.
struct Node {
    const StageSpec* spec = nullptr;
    std::size_t index = 0;
    std::vector<std::size_t> producers; ///< producer node per input port
    std::vector<Consumer> consumers;
    /// Per named output of the stage (Stage::named_outputs): whether a consumer reads it.
    std::unique_ptr<bool[]> named_outputs_read;
    std::size_t named_outputs = 0;
    std::optional<OpenedStage> opened;
    StageMetrics* metrics = nullptr;
    std::unique_ptr<StageErrors> errors;
    /// Sees this stage's output batches (RunOptions::observer), when it observes the stage.
    BatchObserver* observer = nullptr;
    /// The run's checkpoint coordinator, when the run takes checkpoints.
    Checkpointer* checkpoints = nullptr;
    /// The fan-out of a gather (StageSpec::fan_out): each record it emits gets the next
    /// lineage id, and each batch a LineageMark after it (stamp_lineage).
    bool numbers_records = false;
    std::uint64_t last_lineage = 0;
    bool finished = false; ///< ended normally (finish() done)
    bool failed = false;
    std::optional<Error> error;

    [[nodiscard]] const std::string& id() const { return spec->id; }
    [[nodiscard]] const ErrorHandlingSpec& policy() const { return spec->error_handling; }
};

/// Everything an executor needs: nodes in file order plus run-wide services.
struct Plan {
    const PipelineSpec* pipeline = nullptr;
    std::vector<Node> nodes;
    std::vector<std::vector<std::size_t>> levels;
    RunContext* run = nullptr;
    Runtime* runtime = nullptr;
    /// The checkpoint coordinator when the run takes checkpoints (every node points to it).
    Checkpointer* checkpoints = nullptr;
};

/// Counts running stage coroutines; the thread that started them waits for zero.
class Completion {
public:
    void add(std::size_t n = 1) {
        std::lock_guard lock(mu_);
        pending_ += n;
    }
    void done() {
        std::lock_guard lock(mu_);
        if (--pending_ == 0) cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return pending_ == 0; });
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::size_t pending_ = 0;
};

/// Records how a stage's coroutine ended and applies the stage's error strategy: under "stop"
/// the first failure cancels the run; under "continue" (or "retry" with on_exhausted =
/// "continue") only the stage is marked failed. Returns true if the stage failed and should be
/// isolated.
bool settle_stage(Plan& plan, Node& node, const Status& status);

void run_dag(Plan& plan);
/// `shared_mailbox`: async executor (one bounded mailbox per actor); else channel executor
/// (one bounded channel per edge).
void run_streaming(Plan& plan, bool shared_mailbox);

} // namespace conveyor::exec
