#include "driver.hpp"

#include "checkpointer.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/stage/emitter.hpp"

#include <chrono>

namespace asio = boost::asio;

namespace conveyor::exec {

namespace {

using Clock = std::chrono::steady_clock;

class BusyTimer {
public:
    explicit BusyTimer(StageMetrics& m) : m_(m), start_(Clock::now()) {}
    ~BusyTimer() {
        m_.busy_ns.fetch_add(
            static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_)
                    .count()),
            std::memory_order_relaxed);
    }

private:
    StageMetrics& m_;
    Clock::time_point start_;
};

/// Whether the records arriving at `port` are the stage's records in. A gather takes each
/// record twice or more: from its fan-out (its last port) and as each branch's answer. Its
/// records in are those of the fan-out, one per record gathered, so that in = out + left out
/// as for any stage (answers are parts of a record, not records of their own).
bool counts_input(const Node& node, std::size_t port) {
    return !node.spec->fan_out || port + 1 == node.producers.size();
}

/// Records a stage has left out so far (filtered, dead-lettered, dropped).
std::uint64_t left_out(const StageMetrics& m) {
    return m.records_filtered.load(std::memory_order_relaxed) +
           m.records_dead_lettered.load(std::memory_order_relaxed) +
           m.records_dropped.load(std::memory_order_relaxed);
}

/// A sink's output is what it wrote: what it took minus what it left out so far. Set after
/// each call that can leave records out, since a sink that writes in bulk (postgres.write)
/// learns of rejected rows at a checkpoint or at its end, not in the push that took them.
void count_sink_output(const Node& node, StageMetrics& m) {
    if (!node.consumers.empty()) return;
    const std::uint64_t in = m.records_in.load(std::memory_order_relaxed);
    const std::uint64_t out = left_out(m);
    m.records_out.store(in > out ? in - out : 0, std::memory_order_relaxed);
}

Error cancelled_error(RunContext& run) {
    if (auto reason = run.cancel_reason())
        return Error(ErrorKind::Cancelled, "cancelled: " + reason->to_string());
    return Error(ErrorKind::Cancelled, "cancelled");
}

/// Sends `batches` downstream, in order. False when nobody wants more.
asio::awaitable<bool> send(std::vector<Batch> batches, StageOutput& out, StageMetrics& m) {
    for (Batch& b : batches) {
        m.set_state(StageState::WaitingForOutput);
        const bool more = co_await out.emit(std::move(b));
        m.set_state(StageState::Running);
        if (!more) co_return false;
    }
    co_return true;
}

/// Sends what the operator emitted downstream. False when nobody wants more.
asio::awaitable<bool> drain(CollectingEmitter& em, StageOutput& out, StageMetrics& m) {
    if (em.empty()) co_return true;
    co_return co_await send(em.take(), out, m);
}

/// Puts checkpoint marker `id` after `batches`: on the last one when it has records and no
/// marker yet (no hand-off of its own), else as a marker alone.
void append_marker(std::vector<Batch>& batches, std::uint64_t id) {
    if (!batches.empty() && !batches.back().empty() && batches.back().checkpoint_id() == 0)
        batches.back().set_checkpoint(id);
    else
        batches.push_back(Batch::checkpoint_marker(id));
}

/// Metadata that followed a batch's records on input `port` (BatchInfo): handed to the
/// operator when it acts on that kind (what it emits goes on in order), else passed on after
/// `batches` (on the last one when it carries no checkpoint, else on a batch of its own).
Status pass_infos(std::size_t port, std::vector<BatchInfo> infos, Operator& op,
                  CollectingEmitter& em, std::vector<Batch>& batches) {
    for (BatchInfo& info : infos) {
        if (op.consumes(info)) {
            CONVEYOR_TRY(op.on_info(port, info, em));
            for (Batch& b : em.take())
                batches.push_back(std::move(b));
            continue;
        }
        if (!batches.empty() && batches.back().checkpoint_id() == 0)
            batches.back().add_info(std::move(info));
        else
            batches.push_back(Batch::info_only(std::move(info)));
    }
    return {};
}

/// Puts checkpoint markers into a source's output when they are due (Checkpointer::due),
/// reporting the source's position for each.
class SourceMarkers {
public:
    explicit SourceMarkers(Node& node)
        : node_(node), cp_(node.checkpoints), own_(cp_ ? cp_->last_committed_at_start() : 0) {}

    /// The source has just emitted `batches` (`rows` records): adds the markers now due after
    /// them. An error when the source cannot say where it is.
    Status after(std::size_t rows, SourceOperator& op, std::vector<Batch>& batches) {
        if (!cp_) return {};
        since_ += rows;
        const std::uint64_t target = cp_->due(own_, since_);
        if (target == 0) return {};
        while (own_ < target) {
            const std::uint64_t id = own_ + 1;
            Result<std::string> state = op.checkpoint(Checkpoint{id, cp_->durable(id)});
            if (!state) return std::move(state).error();
            cp_->report(node_.index, id, std::move(state).value());
            own_ = id;
            // What the source reports failed from now on is after this checkpoint.
            if (node_.errors) node_.errors->passed_checkpoint(id);
            append_marker(batches, id);
        }
        since_ = 0;
        return {};
    }
    /// The source has ended (at the end of its input, or stopped by a signal): puts a last
    /// marker into `batches`, so that the run gets a checkpoint after everything the source
    /// emitted (a batch run stopped by a signal resumes from there), and its final position
    /// stands for every later checkpoint.
    Status finished(SourceOperator& op, std::vector<Batch>& batches) {
        if (!cp_) return {};
        const std::uint64_t target = cp_->due_at_end(own_);
        Result<std::string> state = op.checkpoint(
            Checkpoint{target != 0 ? target : own_ + 1, target != 0 && cp_->durable(target)});
        if (!state) return std::move(state).error();
        while (own_ < target) {
            const std::uint64_t id = ++own_;
            cp_->report(node_.index, id, *state);
            if (node_.errors) node_.errors->passed_checkpoint(id);
            append_marker(batches, id);
        }
        cp_->finished(node_.index, std::move(state).value());
        return {};
    }

private:
    Node& node_;
    Checkpointer* cp_;
    std::uint64_t own_;
    std::uint64_t since_ = 0;
};

/// Why a stage that succeeded stopped, for its "finished" debug line.
constexpr std::string_view kInputEnded = "input ended";
constexpr std::string_view kDownstreamGone = "downstream needs no more";
constexpr std::string_view kSatisfied = "satisfied: needs no more input";

asio::awaitable<Status> drive_source(Node& node, SourceOperator& op, StageOutput& out,
                                     RunContext& run, std::string_view& why) {
    StageMetrics& m = *node.metrics;
    CollectingEmitter em;
    SourceMarkers markers(node);
    for (;;) {
        if (run.cancelled()) co_return cancelled_error(run);
        Result<bool> more = [&] {
            BusyTimer t(m);
            return op.next(em);
        }();
        if (!more) {
            // Under a continuing strategy the records read before the failure still go on
            // (the source hands them over before failing); otherwise the run is cancelled.
            if (node.policy().continues() && !em.empty()) {
                m.records_read.fetch_add(em.rows(), std::memory_order_relaxed);
                co_await drain(em, out, m);
            }
            co_return std::move(more).error().in_stage(node.id());
        }
        // Count what was read before handing it on: read - sink's input is the lead that
        // backpressure bounds.
        const std::size_t rows = em.rows();
        m.records_read.fetch_add(rows, std::memory_order_relaxed);
        std::vector<Batch> batches = em.take();
        if (Status s = markers.after(rows, op, batches); !s)
            co_return std::move(s).error().in_stage(node.id());
        if (!co_await send(std::move(batches), out, m)) {
            if (auto f = out.failure()) co_return f->in_stage(node.id());
            if (run.cancelled()) co_return cancelled_error(run);
            why = kDownstreamGone;
            co_return Status{}; // every consumer is gone
        }
        if (!*more) break;
    }
    if (run.cancelled()) co_return cancelled_error(run);
    std::vector<Batch> last;
    if (Status s = markers.finished(op, last); !s)
        co_return std::move(s).error().in_stage(node.id());
    if (!co_await send(std::move(last), out, m)) {
        if (auto f = out.failure()) co_return f->in_stage(node.id());
        if (run.cancelled()) co_return cancelled_error(run);
    }
    co_return Status{};
}

/// Checkpoint alignment for a sync stage: a marker from one input holds that input until
/// every other input has brought the same marker (or ended); then the stage reports its state
/// and the marker goes on, after everything the stage emitted for the records before it.
/// A gather's edge from its fan-out (a port beyond its `inputs`) is never held: its records
/// only tell the gather what left the fan-out, and the gather must hear of that fan-out's end
/// while a slow branch still holds back its own marker.
/// An input that ends after a graceful stop was requested may have ended short (an http.fetch
/// in batch mode stops requesting and passes neither the records it left out nor the marker
/// after them): it aligns nothing, and the stage takes no more checkpoints, so that the last
/// one lies before the records that input never brought and `--resume` does them again.
class OperatorMarkers {
public:
    OperatorMarkers(Node& node, const RunContext& run)
        : node_(node), run_(run), passed_(node.producers.size(), 0),
          ended_(node.producers.size(), false), holdable_(node.spec->inputs.size()) {}

    /// A marker arrived on `port`: true when it completes checkpoint `id` (call take()).
    bool arrived(std::size_t port, std::uint64_t id, StreamInput& in) {
        passed_[port] = std::max(passed_[port], id);
        if (ended_short_) return false;
        if (aligned(id)) return true;
        if (port < holdable_) in.hold(port, true);
        return false;
    }
    /// `port` ended: the checkpoint now complete, if any (0: none).
    std::uint64_t port_ended(std::size_t port, StreamInput& in) {
        ended_[port] = true;
        if (run_.stop_requested() && !ended_short_) {
            ended_short_ = true;
            for (std::size_t p = 0; p < holdable_; ++p) // no marker waits for alignment now
                if (!ended_[p]) in.hold(p, false);
        }
        if (ended_short_) return 0;
        for (std::size_t p = 0; p < passed_.size(); ++p)
            if (!ended_[p] && passed_[p] > emitted_ && aligned(passed_[p])) return passed_[p];
        return 0;
    }
    /// Checkpoint `id` is complete: reports the stage's state, releases the held inputs and
    /// puts the marker after `batches` (what the stage emitted for the records before it).
    Status take(std::uint64_t id, Operator& op, StreamInput& in, std::vector<Batch>& batches) {
        emitted_ = id;
        Checkpointer* cp = node_.checkpoints;
        if (cp && cp->participates(node_.index)) {
            Result<std::string> state = op.checkpoint(Checkpoint{id, cp->durable(id)});
            if (!state) return std::move(state).error();
            cp->report(node_.index, id, std::move(state).value());
        }
        // Records this stage fails from now on are after the checkpoint.
        if (node_.errors) node_.errors->passed_checkpoint(id);
        for (std::size_t p = 0; p < passed_.size(); ++p)
            if (!ended_[p]) in.hold(p, false);
        if (!node_.consumers.empty()) append_marker(batches, id); // a sink has nobody to tell
        return {};
    }

private:
    bool aligned(std::uint64_t id) const {
        for (std::size_t p = 0; p < passed_.size(); ++p)
            if (!ended_[p] && passed_[p] < id) return false;
        return true;
    }

    Node& node_;
    const RunContext& run_;
    bool ended_short_ = false; ///< an input ended after a stop request: no more checkpoints
    std::vector<std::uint64_t> passed_; ///< per input: the last marker it brought
    std::vector<bool> ended_;
    std::size_t holdable_; ///< ports below this one are held at a marker
    std::uint64_t emitted_ = 0;
};

asio::awaitable<Status> drive_operator(Node& node, Operator& op, StreamInput& in, StageOutput& out,
                                       RunContext& run, std::string_view& why) {
    StageMetrics& m = *node.metrics;
    CollectingEmitter em;
    OperatorMarkers markers(node, run);
    for (;;) {
        m.set_state(StageState::WaitingForInput);
        std::optional<InputEvent> ev;
        if (const auto at = op.timer()) {
            StreamInput::Timed t = co_await in.next_until(*at);
            m.set_state(StageState::Running);
            if (t.timed_out) {
                Status s;
                {
                    BusyTimer busy(m);
                    s = op.on_timer(em);
                }
                if (!s) co_return std::move(s).error().in_stage(node.id());
                if (!co_await drain(em, out, m)) {
                    if (auto f = out.failure()) co_return f->in_stage(node.id());
                    why = kDownstreamGone;
                    co_return Status{};
                }
                if (op.satisfied()) { // what it waited for came by its deadline
                    why = kSatisfied;
                    break;
                }
                continue;
            }
            ev = std::move(t.event);
        } else {
            ev = co_await in.next();
        }
        m.set_state(StageState::Running);
        if (!ev) {
            if (auto f = in.failure()) co_return f->in_stage(node.id());
            break;
        }
        // A checkpoint marker (alone, or after the batch's records) completes once every input
        // brought it.
        const std::uint64_t marker = ev->batch ? ev->batch->take_checkpoint() : 0;
        std::vector<BatchInfo> infos;
        if (ev->batch) infos = ev->batch->take_infos();
        Status s;
        if (!((marker != 0 || !infos.empty()) && ev->batch->empty() &&
              !ev->batch->shows_schema())) {
            BusyTimer t(m);
            if (ev->batch) {
                if (counts_input(node, ev->port)) {
                    m.records_in.fetch_add(ev->batch->rows(), std::memory_order_relaxed);
                    m.batches_in.fetch_add(1, std::memory_order_relaxed);
                }
                // What the stage makes of a batch showing a schema shows its own.
                em.keep_empty(ev->batch->shows_schema());
                s = op.push(ev->port, std::move(*ev->batch), em);
                em.keep_empty(false);
                if (s) count_sink_output(node, m);
            } else {
                s = op.input_done(ev->port, em);
            }
        }
        if (!s) co_return std::move(s).error().in_stage(node.id());
        std::vector<Batch> batches = em.take();
        if (!infos.empty())
            if (Status t = pass_infos(ev->port, std::move(infos), op, em, batches); !t)
                co_return std::move(t).error().in_stage(node.id());
        std::uint64_t complete = 0;
        if (marker != 0)
            complete = markers.arrived(ev->port, marker, in) ? marker : 0;
        else if (!ev->batch)
            complete = markers.port_ended(ev->port, in);
        if (complete != 0) {
            if (Status t = markers.take(complete, op, in, batches); !t)
                co_return std::move(t).error().in_stage(node.id());
            count_sink_output(node, m);
        }
        if (!co_await send(std::move(batches), out, m)) {
            if (auto f = out.failure()) co_return f->in_stage(node.id());
            why = kDownstreamGone;
            co_return Status{}; // downstream is gone: nothing more to do
        }
        if (op.satisfied()) { // the rest of the input is not needed
            why = kSatisfied;
            break;
        }
    }
    if (run.cancelled()) co_return cancelled_error(run);
    Status s;
    {
        BusyTimer t(m);
        s = op.finish(em);
    }
    if (!s) co_return std::move(s).error().in_stage(node.id());
    count_sink_output(node, m);
    if (!co_await drain(em, out, m)) {
        if (auto f = out.failure()) co_return f->in_stage(node.id());
    } else {
        // Output made after the end of the input, a piece at a time (a sort's merge); not
        // once downstream is gone.
        for (;;) {
            if (run.cancelled()) co_return cancelled_error(run);
            Result<bool> more = false;
            {
                BusyTimer t(m);
                more = op.finish_more(em);
            }
            if (!more) co_return std::move(more).error().in_stage(node.id());
            if (!co_await drain(em, out, m)) {
                if (auto f = out.failure()) co_return f->in_stage(node.id());
                break; // downstream is gone
            }
            if (!*more) break;
        }
    }
    if (run.cancelled()) co_return cancelled_error(run);
    // A sink's finish() hands its output to the run (FinishedOutputs), which commits it with
    // the others or rolls it back: a resumed run carries it on from its last checkpoint.
    if (node.checkpoints) node.checkpoints->finished(node.index, std::nullopt);
    co_return Status{};
}

/// The story of a stage at --log-level debug: how much it did, in how long, and why it
/// stopped (the first thing to ask of a run that ended early or took long).
void log_finished(const Node& node, const Status& s, std::string_view why, Clock::time_point t0) {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    const StageMetrics& m = *node.metrics;
    constexpr auto r = std::memory_order_relaxed;
    std::string reason;
    if (s)
        reason = why;
    else if (s.error().kind == ErrorKind::Cancelled)
        reason = "cancelled";
    else
        reason = "failed: " + s.error().message;
    spdlog::debug("stage '{}': finished in {:.3f} s, {} records in, {} out, {} left out; {}",
                  node.id(), std::chrono::duration<double>(Clock::now() - t0).count(),
                  m.records_in.load(r), m.records_out.load(r), left_out(m), reason);
}

} // namespace

asio::awaitable<Status> drive_stage(Node& node, StreamInput& in, StageOutput& out,
                                    RunContext& run) {
    node.metrics->set_state(StageState::Running);
    const auto t0 = Clock::now();
    spdlog::debug("stage '{}' ({}): started", node.id(), node.spec->function);
    auto& op = node.opened->op;
    Status s;
    std::string_view why = kInputEnded;
    if (auto* src = std::get_if<std::unique_ptr<SourceOperator>>(&op))
        s = co_await drive_source(node, **src, out, run, why);
    else if (auto* tr = std::get_if<std::unique_ptr<Operator>>(&op))
        s = co_await drive_operator(node, **tr, in, out, run, why);
    else {
        auto& stream = *std::get<std::unique_ptr<StreamOperator>>(op);
        s = co_await stream.run(in, out);
        // A stream stage sees only emit() == false; the reason (dag memory cap) is here.
        if (s && !run.cancelled())
            if (auto f = out.failure()) s = *f;
        if (s && !run.cancelled())
            if (auto f = in.failure()) s = *f;
        if (s && run.cancelled()) s = cancelled_error(run);
        if (!s) s = std::move(s).error().in_stage(node.id());
        // A stream stage ends on its own terms; it does not tell the driver which.
        why = "ended";
    }
    log_finished(node, s, why, t0);
    node.metrics->set_state(s ? StageState::Done : StageState::Failed);
    co_return s;
}

} // namespace conveyor::exec
