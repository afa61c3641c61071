#include "checkpointer.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/obs/log.hpp"

namespace conveyor::exec {

namespace {
constexpr auto kDurableEvery = std::chrono::seconds(1);

void warn_no_more(const Error& e) {
    spdlog::warn("no more checkpoints this run ({}): if it is killed, --resume starts from the "
                 "beginning; [global] state_dir can point the run journal at a writable directory",
                 e.to_string());
}
} // namespace

Checkpointer::Checkpointer(RunJournal& journal,
                           std::vector<std::optional<std::string>> participants,
                           std::uint64_t interval, std::size_t source_batch,
                           std::uint64_t last_committed, DeadLetterQueue* dead_letters,
                           RunContext& run)
    : journal_(journal), dead_letters_(dead_letters), run_(run),
      interval_(std::max<std::uint64_t>(1, interval)),
      source_batch_(std::max<std::size_t>(1, source_batch)), start_(last_committed),
      requested_(last_committed), committed_(last_committed),
      last_durable_(std::chrono::steady_clock::now()) {
    for (auto& p : participants) {
        if (p)
            participants_.emplace_back(Participant{std::move(*p)});
        else
            participants_.emplace_back();
    }
}

std::uint64_t Checkpointer::due(std::uint64_t own, std::uint64_t since) {
    std::lock_guard lock(mu_);
    if (disabled_) return 0;
    // Emit when the next batch could take this source past the interval.
    if (since > 0 && since + source_batch_ > interval_) requested_ = std::max(requested_, own + 1);
    return requested_ > own ? requested_ : 0;
}

std::uint64_t Checkpointer::due_at_end(std::uint64_t own) {
    std::lock_guard lock(mu_);
    if (disabled_) return 0;
    requested_ = std::max(requested_, own + 1);
    return requested_;
}

bool Checkpointer::durable(std::uint64_t id) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = durable_.try_emplace(id, false);
    if (inserted) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_durable_ >= kDurableEvery) {
            it->second = true;
            last_durable_ = now;
        }
    }
    return it->second;
}

void Checkpointer::report(std::size_t node, std::uint64_t id, std::string state) {
    if (!participants_[node]) return; // fixed at construction: no lock needed
    std::unique_lock lock(mu_);
    if (disabled_ || id <= committed_) return;
    auto& states = pending_[id];
    states.resize(participants_.size());
    states[node] = std::move(state);
    commit_ready(lock);
}

void Checkpointer::finished(std::size_t node, std::optional<std::string> final_state) {
    if (!participants_[node]) return;
    std::unique_lock lock(mu_);
    Participant& p = *participants_[node];
    p.done = true;
    p.final_state = std::move(final_state);
    if (disabled_) return;
    commit_ready(lock);
}

void Checkpointer::disable() {
    std::lock_guard lock(mu_);
    disabled_ = true;
    pending_.clear();
}

std::uint64_t Checkpointer::committed() const {
    std::lock_guard lock(mu_);
    return committed_;
}

void Checkpointer::commit_ready(std::unique_lock<std::mutex>& lock) {
    // One thread commits at a time, in id order; reports arriving meanwhile only record their
    // state (the committing thread picks up what became complete).
    if (committing_) return;
    committing_ = true;
    std::optional<Error> dead_letters_failed;
    while (!disabled_ && !pending_.empty() && pending_.begin()->first == committed_ + 1) {
        const std::uint64_t id = pending_.begin()->first;
        std::vector<std::optional<std::string>>& states = pending_.begin()->second;
        bool complete = true;
        for (std::size_t i = 0; i < participants_.size() && complete; ++i)
            if (participants_[i] && !states[i] && !participants_[i]->final_state) complete = false;
        if (!complete) break; // still waiting for a stage
        std::vector<std::pair<std::string, std::string>> cut;
        for (std::size_t i = 0; i < participants_.size(); ++i) {
            if (!participants_[i]) continue;
            const Participant& p = *participants_[i];
            if (states[i])
                cut.emplace_back(p.stage, std::move(*states[i]));
            else
                cut.emplace_back(p.stage, *p.final_state);
        }
        bool is_durable = false;
        if (auto d = durable_.find(id); d != durable_.end()) is_durable = d->second;
        pending_.erase(pending_.begin());
        durable_.erase(durable_.begin(), durable_.upper_bound(id));
        // The writes (and a durable checkpoint's fdatasync) happen without holding the lock.
        lock.unlock();
        Status s;
        if (dead_letters_) {
            Result<std::string> state = dead_letters_->checkpoint(id, is_durable);
            if (!state) {
                // Dead letters that cannot be written fail the run, as a sink's write does.
                lock.lock();
                disabled_ = true;
                pending_.clear();
                dead_letters_failed = std::move(state).error();
                break;
            }
            cut.emplace_back(std::string(DeadLetterQueue::kCheckpointName),
                             std::move(state).value());
        }
        if (s) s = journal_.commit_checkpoint(id, cut, is_durable);
        lock.lock();
        if (!s) {
            warn_no_more(s.error());
            disabled_ = true;
            pending_.clear();
            break;
        }
        committed_ = id;
    }
    committing_ = false;
    if (dead_letters_failed) {
        // Cancelling runs callbacks; not under the lock.
        lock.unlock();
        run_.cancel(std::move(*dead_letters_failed));
        lock.lock();
    }
}

} // namespace conveyor::exec
