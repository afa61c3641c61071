#include "driver.hpp"

#include "conveyor/exec/run_context.hpp"
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
        m_.busy_ns.fetch_add(static_cast<std::uint64_t>(
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     Clock::now() - start_)
                                     .count()),
                             std::memory_order_relaxed);
    }

private:
    StageMetrics& m_;
    Clock::time_point start_;
};

/// Records a stage has left out so far (filtered, dead-lettered, dropped).
std::uint64_t left_out(const StageMetrics& m) {
    return m.records_filtered.load(std::memory_order_relaxed) +
           m.records_dead_lettered.load(std::memory_order_relaxed) +
           m.records_dropped.load(std::memory_order_relaxed);
}

Error cancelled_error(RunContext& run) {
    if (auto reason = run.cancel_reason()) return Error(ErrorKind::Cancelled, "cancelled: " + reason->to_string());
    return Error(ErrorKind::Cancelled, "cancelled");
}

/// Sends what the operator emitted downstream. False when nobody wants more.
asio::awaitable<bool> drain(CollectingEmitter& em, StageOutput& out, StageMetrics& m) {
    if (em.empty()) co_return true;
    for (Batch& b : em.take()) {
        m.set_state(StageState::WaitingForOutput);
        const bool more = co_await out.emit(std::move(b));
        m.set_state(StageState::Running);
        if (!more) co_return false;
    }
    co_return true;
}

asio::awaitable<Status> drive_source(Node& node, SourceOperator& op, StageOutput& out,
                                     RunContext& run) {
    StageMetrics& m = *node.metrics;
    CollectingEmitter em;
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
        m.records_read.fetch_add(em.rows(), std::memory_order_relaxed);
        if (!co_await drain(em, out, m)) {
            if (auto f = out.failure()) co_return f->in_stage(node.id());
            break; // every consumer is gone
        }
        if (!*more) break;
    }
    if (run.cancelled()) co_return cancelled_error(run);
    co_return Status{};
}

asio::awaitable<Status> drive_operator(Node& node, Operator& op, StreamInput& in,
                                       StageOutput& out, RunContext& run) {
    StageMetrics& m = *node.metrics;
    CollectingEmitter em;
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
                    co_return Status{};
                }
                continue;
            }
            ev = std::move(t.event);
        } else {
            ev = co_await in.next();
        }
        m.set_state(StageState::Running);
        if (!ev) break;
        Status s;
        {
            BusyTimer t(m);
            if (ev->batch) {
                const std::size_t rows = ev->batch->rows();
                m.records_in.fetch_add(rows, std::memory_order_relaxed);
                m.batches_in.fetch_add(1, std::memory_order_relaxed);
                const std::uint64_t left_out_before = left_out(m);
                s = op.push(ev->port, std::move(*ev->batch), em);
                // A sink's output is what it wrote: what it took minus what it left out.
                if (s && node.consumers.empty())
                    m.records_out.fetch_add(rows - (left_out(m) - left_out_before),
                                            std::memory_order_relaxed);
            } else {
                s = op.input_done(ev->port, em);
            }
        }
        if (!s) co_return std::move(s).error().in_stage(node.id());
        if (!co_await drain(em, out, m)) {
            if (auto f = out.failure()) co_return f->in_stage(node.id());
            co_return Status{}; // downstream is gone: nothing more to do
        }
        if (op.satisfied()) break; // the rest of the input is not needed
    }
    if (run.cancelled()) co_return cancelled_error(run);
    Status s;
    {
        BusyTimer t(m);
        s = op.finish(em);
    }
    if (!s) co_return std::move(s).error().in_stage(node.id());
    if (!co_await drain(em, out, m)) {
        if (auto f = out.failure()) co_return f->in_stage(node.id());
    }
    if (run.cancelled()) co_return cancelled_error(run);
    co_return Status{};
}

} // namespace

asio::awaitable<Status> drive_stage(Node& node, StreamInput& in, StageOutput& out,
                                    RunContext& run) {
    node.metrics->set_state(StageState::Running);
    auto& op = node.opened->op;
    Status s;
    if (auto* src = std::get_if<std::unique_ptr<SourceOperator>>(&op))
        s = co_await drive_source(node, **src, out, run);
    else if (auto* tr = std::get_if<std::unique_ptr<Operator>>(&op))
        s = co_await drive_operator(node, **tr, in, out, run);
    else {
        auto& stream = *std::get<std::unique_ptr<StreamOperator>>(op);
        s = co_await stream.run(in, out);
        // A stream stage sees only emit() == false; the reason (dag memory cap) is here.
        if (s && !run.cancelled())
            if (auto f = out.failure()) s = *f;
        if (s && run.cancelled()) s = cancelled_error(run);
        if (!s) s = std::move(s).error().in_stage(node.id());
    }
    node.metrics->set_state(s ? StageState::Done : StageState::Failed);
    co_return s;
}

} // namespace conveyor::exec
