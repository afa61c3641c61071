#include "gather_operator.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/stage_errors.hpp"

#include <fmt/format.h>
#include <limits>

namespace conveyor::plugins::gather {

namespace {

constexpr std::uint64_t kAll = std::numeric_limits<std::uint64_t>::max();

std::uint64_t bit(std::size_t b) {
    return std::uint64_t{1} << b;
}

} // namespace

GatherOperator::GatherOperator(const GatherSettings& settings, std::size_t batch_rows,
                               StageErrors* errors, GatherCounters counters, bool deadlines,
                               std::function<Clock::time_point()> now, const RunContext* halting)
    : settings_(settings), branches_(settings.policy.branches), errors_(errors),
      counters_(counters), deadlines_(deadlines && settings.timeout.has_value()),
      now_(std::move(now)), merger_(settings.merge, batch_rows), dead_letter_(settings.merge, 1),
      through_(branches_, 0), halting_(halting) {}

GatherOperator::Pending& GatherOperator::touch(std::uint64_t id) {
    auto [it, fresh] = pending_.try_emplace(id);
    Pending& p = it->second;
    if (!fresh) return p;
    p.answers.resize(branches_);
    p.states.assign(branches_, BranchState::Waiting);
    // Branches that already said they have nothing more up to here never will.
    for (std::size_t b = 0; b < branches_; ++b)
        if (id <= through_[b]) p.states[b] = BranchState::Failed;
    if (deadlines_) deadlines_at_.emplace(now_() + *settings_.timeout, id);
    return p;
}

void GatherOperator::decide(std::uint64_t id, Pending& p) {
    if (p.verdict) return;
    const Verdict v = judge(settings_.policy, p.states);
    if (v.kind == Verdict::Kind::Wait) return;
    p.verdict = v;
    decided_.push_back(id);
}

void GatherOperator::passed(std::size_t b, std::uint64_t through) {
    if (through <= through_[b]) return;
    through_[b] = through;
    for (auto it = pending_.begin(); it != pending_.end() && it->first <= through; ++it) {
        if (it->second.states[b] != BranchState::Waiting) continue;
        it->second.states[b] = BranchState::Failed;
        decide(it->first, it->second);
    }
    for (auto it = gone_.begin(); it != gone_.end() && it->first <= through;) {
        it->second &= ~bit(b);
        it = it->second == 0 ? gone_.erase(it) : std::next(it);
    }
}

Status GatherOperator::push(std::size_t port, Batch&& batch, Emitter& out) {
    if (batch.empty()) return {};
    if (!batch.has_lineage())
        return Error(ErrorKind::Internal,
                     "gather.apply: records reached it without a lineage id (input " +
                         std::to_string(port) + ")");
    auto held = std::make_shared<Batch>(std::move(batch));
    const bool origin = port == branches_;
    for (std::size_t r = 0; r < held->rows(); ++r) {
        const std::uint64_t id = held->lineage(r);
        // An answer (or the original) of a record already let go: nothing more to do.
        if (auto g = gone_.find(id); g != gone_.end()) {
            g->second &= ~bit(port);
            if (g->second == 0) gone_.erase(g);
            continue;
        }
        Pending& p = touch(id);
        const Held h{held, static_cast<std::uint32_t>(r)};
        if (origin) {
            p.origin = h;
        } else if (p.states[port] == BranchState::Waiting) {
            p.states[port] = BranchState::Arrived;
            p.answers[port] = h;
        }
        decide(id, p);
    }
    return flush(out);
}

bool GatherOperator::consumes(const BatchInfo& info) const noexcept {
    return std::holds_alternative<LineageMark>(info);
}

Status GatherOperator::on_info(std::size_t port, const BatchInfo& info, Emitter& out) {
    // The fan-out's own marks say nothing about the branches.
    if (port < branches_) passed(port, std::get<LineageMark>(info).through);
    return flush(out);
}

Status GatherOperator::input_done(std::size_t port, Emitter& out) {
    if (port < branches_ && halting_ && halting_->stop_requested())
        ended_short_ = true; // it may have left records out unrequested: they are not failures
    else if (port < branches_)
        passed(port, kAll);
    else
        origins_ended_ = true;
    return flush(out);
}

std::optional<Clock::time_point> GatherOperator::timer() const {
    if (deadlines_at_.empty()) return std::nullopt;
    return deadlines_at_.top().first;
}

Status GatherOperator::on_timer(Emitter& out) {
    const Clock::time_point now = now_();
    while (!deadlines_at_.empty() && deadlines_at_.top().first <= now) {
        const std::uint64_t id = deadlines_at_.top().second;
        deadlines_at_.pop();
        auto it = pending_.find(id);
        if (it == pending_.end() || it->second.verdict) continue;
        for (BranchState& s : it->second.states)
            if (s == BranchState::Waiting) s = BranchState::TimedOut;
        decide(id, it->second);
    }
    Status st = flush(out);
    return st;
}

Status GatherOperator::finish(Emitter& out) {
    // A branch ended short by a stop: the records still waiting for it come after the last
    // checkpoint (it never passed the marker after them), so a resumed run does them again.
    if (ended_short_)
        std::erase_if(pending_, [](const auto& entry) { return !entry.second.verdict; });
    // Every input has ended, so every branch has answered or passed every record; what is
    // left waits for ordered output or for an original the fan-out never sent.
    for (auto& [id, p] : pending_) {
        for (BranchState& s : p.states)
            if (s == BranchState::Waiting) s = BranchState::Failed;
        decide(id, p);
    }
    CONVEYOR_TRY(flush(out));
    while (!pending_.empty()) {
        auto it = pending_.begin();
        CONVEYOR_TRY(settle(it->first, it->second));
        pending_.erase(it);
    }
    for (Batch& b : merger_.take())
        out.emit(std::move(b));
    return {};
}

Status GatherOperator::settle(std::uint64_t id, Pending& p) {
    const Verdict v = *p.verdict;
    // Branches that may still bring something for it, and the original if it has not come.
    std::uint64_t outstanding = 0;
    for (std::size_t b = 0; b < branches_; ++b)
        if (p.states[b] == BranchState::Waiting || p.states[b] == BranchState::TimedOut)
            outstanding |= bit(b);
    if (!p.origin) outstanding |= bit(branches_);
    if (outstanding != 0) gone_[id] = outstanding;

    bool every = true, timed_out = false;
    for (BranchState s : p.states) {
        every = every && s == BranchState::Arrived;
        timed_out = timed_out || s == BranchState::TimedOut;
    }
    if (v.kind == Verdict::Kind::Emit) {
        if (v.chosen < branches_) {
            std::vector<Held> one(branches_);
            one[v.chosen] = p.answers[v.chosen];
            merger_.add(one, p.states, v.chosen);
        } else {
            merger_.add(p.answers, p.states, v.chosen);
        }
        obs::Counter* c = every ? counters_.complete : counters_.partial;
        if (c) c->add();
        return {};
    }
    obs::Counter* c = timed_out ? counters_.timed_out : counters_.failed;
    if (c) c->add();
    const std::int64_t timeout_ms = settings_.timeout ? settings_.timeout->count() : 0;
    Error error(timed_out ? ErrorKind::TempFail : ErrorKind::Data,
                fmt::format("record #{} of the fan-out: {}", id,
                            failure_reason(settings_.policy, p.states, *settings_.merge.names,
                                           timeout_ms)));
    if (!errors_) return error;
    // The dead letter holds the record as it left the fan-out, so that a replay from the
    // branches does the work again; without it, what the branches made of it.
    if (p.origin)
        return errors_->record_failed(p.origin.batch->schema(), p.origin.batch->row(p.origin.row),
                                      std::move(error));
    dead_letter_.add(p.answers, p.states, v.chosen);
    std::vector<Batch> one = dead_letter_.take();
    return errors_->record_failed(one.front().schema(), one.front().row(0), std::move(error));
}

Status GatherOperator::flush(Emitter& out) {
    if (settings_.ordered) {
        for (auto it = pending_.find(next_in_order_); it != pending_.end() && it->second.verdict;
             it = pending_.find(next_in_order_)) {
            CONVEYOR_TRY(settle(it->first, it->second));
            pending_.erase(it);
            ++next_in_order_;
        }
        decided_.clear();
    } else {
        for (std::uint64_t id : decided_) {
            auto it = pending_.find(id);
            if (it == pending_.end()) continue;
            CONVEYOR_TRY(settle(id, it->second));
            pending_.erase(it);
        }
        decided_.clear();
    }
    // Deadlines of records no longer waiting.
    while (!deadlines_at_.empty()) {
        auto it = pending_.find(deadlines_at_.top().second);
        if (it != pending_.end() && !it->second.verdict) break;
        deadlines_at_.pop();
    }
    for (Batch& b : merger_.take())
        out.emit(std::move(b));
    return {};
}

} // namespace conveyor::plugins::gather
