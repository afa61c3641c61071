#pragma once

// gather.apply's run: pairs each record of the fan-out (its last input, numbered by lineage id)
// with what each branch made of it, decides by the policy when the record may go (or fails it,
// through the stage's error strategy), and emits the gathered record.

#include "conveyor/obs/extra_metrics.hpp"
#include "conveyor/stage/stage.hpp"
#include "gather_merge.hpp"
#include "gather_policy.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <vector>

namespace conveyor {
class RunContext;
} // namespace conveyor

namespace conveyor::plugins::gather {

using Clock = std::chrono::steady_clock;

struct GatherSettings {
    PolicySpec policy;
    MergeSpec merge;
    /// How long a record may wait for its branches, from when the gather first hears of it;
    /// none: until every branch has answered or passed it.
    std::optional<std::chrono::milliseconds> timeout;
    bool ordered = false; ///< emit in the fan-out's order instead of as records complete
};

/// What became of the records, for the summary and /metrics.
struct GatherCounters {
    obs::Counter* complete = nullptr;  ///< emitted with every branch's answer
    obs::Counter* partial = nullptr;   ///< emitted without some branch's answer
    obs::Counter* failed = nullptr;    ///< failed the policy, no branch timed out
    obs::Counter* timed_out = nullptr; ///< failed the policy with a branch timed out
};

class GatherOperator final : public Operator {
public:
    /// Ports 0..branches-1 are the branches, port `branches` the fan-out. `errors` applies the
    /// stage's strategy to records that fail the policy; `now` is the clock (tests pass one).
    /// `halting`: the run in batch mode, where a graceful stop ends branches short (http.fetch
    /// requests nothing more): the records they did not answer are then not failed but left
    /// for `--resume` (null: every branch's end means it has nothing more).
    GatherOperator(const GatherSettings& settings, std::size_t batch_rows, StageErrors* errors,
                   GatherCounters counters, bool deadlines,
                   std::function<Clock::time_point()> now = &Clock::now,
                   const RunContext* halting = nullptr);

    Status push(std::size_t port, Batch&& batch, Emitter& out) override;
    Status input_done(std::size_t port, Emitter& out) override;
    Status finish(Emitter& out) override;
    [[nodiscard]] bool consumes(const BatchInfo& info) const noexcept override;
    Status on_info(std::size_t port, const BatchInfo& info, Emitter& out) override;
    [[nodiscard]] std::optional<Clock::time_point> timer() const override;
    Status on_timer(Emitter& out) override;

    /// Once the fan-out has ended and every record has gone, answers still on their way are
    /// not needed: the branches may stop (a slow server does not hold the run beyond the
    /// deadline).
    [[nodiscard]] bool satisfied() const noexcept override {
        return origins_ended_ && pending_.empty();
    }

    /// Records waiting for branches (for tests and the bound on what it holds).
    [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }

private:
    struct Pending {
        Held origin; ///< the record as it left the fan-out
        std::vector<Held> answers;
        std::vector<BranchState> states;
        std::optional<Verdict> verdict; ///< set once decided (ordered output may wait)
        bool emitted_early = false;     ///< decided while some branch had not answered
    };

    Pending& touch(std::uint64_t id);
    /// Branch `b` has nothing for any record up to `through`.
    void passed(std::size_t b, std::uint64_t through);
    void decide(std::uint64_t id, Pending& p);
    Status flush(Emitter& out);
    Status settle(std::uint64_t id, Pending& p);

    const GatherSettings& settings_;
    std::size_t branches_;
    StageErrors* errors_;
    GatherCounters counters_;
    bool deadlines_;
    std::function<Clock::time_point()> now_;
    Merger merger_;
    Merger dead_letter_; ///< one-record merges for failed records that never left the fan-out
    std::map<std::uint64_t, Pending> pending_;
    /// Records let go before every branch answered: the branches still to hear from (a bit
    /// each), so that their late answers are recognised and dropped.
    std::map<std::uint64_t, std::uint64_t> gone_;
    std::vector<std::uint64_t> through_; ///< per branch: nothing more for ids up to this
    std::vector<std::uint64_t> decided_; ///< ids decided, not yet settled (in order of deciding)
    bool origins_ended_ = false;
    const RunContext* halting_;
    bool ended_short_ = false;        ///< a branch ended after a stop request (see the constructor)
    std::uint64_t next_in_order_ = 1; ///< ordered: the next id to emit
    using Deadline = std::pair<Clock::time_point, std::uint64_t>;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_at_;
};

} // namespace conveyor::plugins::gather
