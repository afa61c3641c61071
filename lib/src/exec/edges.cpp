#include "edges.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/runtime.hpp"

#include <boost/asio/strand.hpp>
#include <exception>
#include <new>

namespace asio = boost::asio;

namespace conveyor::exec {

asio::awaitable<bool> BroadcastOutput::emit(Batch batch) {
    if (run_.cancelled()) co_return false;
    stamp_lineage(node_, batch);
    note_emitted(node_, batch);
    if (targets_.empty()) co_return true;
    std::size_t last = targets_.size();
    for (std::size_t i = 0; i < targets_.size(); ++i)
        if (targets_[i].live) last = i;
    if (last == targets_.size()) co_return false; // every consumer is gone
    for (std::size_t i = 0; i <= last; ++i) {
        Target& t = targets_[i];
        if (!t.live) continue;
        // Named, not a temporary inside the co_await expression (GCC 12 mishandles
        // non-trivial temporaries there).
        // Moved only on the last pass of the loop: no use after the move.
        std::optional<Batch> payload = payload_for(batch, t.output, i == last);
        if (!payload) continue;
        const bool ok = co_await t.inbox->push(t.port, std::move(*payload));
        if (!ok) t.live = false;
    }
    if (run_.cancelled()) co_return false;
    for (const Target& t : targets_)
        if (t.live) co_return true;
    co_return false;
}

std::optional<Batch> payload_for(Batch& batch, std::uint32_t output, bool last) {
    if (batch.output() != output && output != kEveryOutput) {
        if (batch.checkpoint_id() == 0 && batch.infos().empty()) return std::nullopt;
        return batch.control_only();
    }
    Batch b = last ? std::move(batch) : batch.clone();
    b.set_output(0);
    return b;
}

void stamp_lineage(Node& node, Batch& batch) {
    if (!node.numbers_records || batch.empty()) return;
    std::vector<std::uint64_t> ids(batch.rows());
    for (std::uint64_t& id : ids)
        id = ++node.last_lineage;
    batch.set_lineage(std::move(ids));
    batch.add_info(LineageMark{node.last_lineage});
}

void note_emitted(Node& node, const Batch& batch) {
    if (batch.is_marker_only()) return;
    node.metrics->records_out.fetch_add(batch.rows(), std::memory_order_relaxed);
    node.metrics->batches_out.fetch_add(1, std::memory_order_relaxed);
    if (batch.output() != 0) node.metrics->add_named_output_records(batch.output(), batch.rows());
    if (node.observer) node.observer->on_batch(node.id(), batch);
}

void BroadcastOutput::on_unwanted(std::function<void()> fn) {
    if (targets_.empty() || unwanted_) return; // a sink's output; or watched already
    unwanted_ = std::move(fn);
    wanted_by_.store(targets_.size());
    for (Target& t : targets_)
        t.inbox->on_cancel([this] {
            if (wanted_by_.fetch_sub(1) == 1) unwanted_();
        });
}

void BroadcastOutput::close() {
    for (Target& t : targets_)
        t.inbox->close_port(t.port);
}

asio::any_io_executor stage_executor(Plan& plan, const Node& node) {
    if (std::holds_alternative<std::unique_ptr<StreamOperator>>(node.opened->op))
        return asio::make_strand(plan.runtime->io());
    if (node.producers.empty()) return asio::make_strand(plan.runtime->sources());
    return asio::make_strand(plan.runtime->workers());
}

Status stage_status(const Node& node, const std::exception_ptr& ep, Status s) {
    if (!ep) return s;
    try {
        std::rethrow_exception(ep);
    } catch (const std::bad_alloc&) {
        // "std::bad_alloc" and exit 70 told a user under ulimit -v or a scheduler's memory
        // request nothing they could act on.
        return Error(ErrorKind::TempFail,
                     "out of memory: an allocation failed; give the run more memory (ulimit -v, "
                     "the scheduler's memory request) or lower [global] memory_limit (stages "
                     "holding records spill to disk beyond it) or batch_size",
                     {}, node.id());
    } catch (const std::exception& e) {
        return Error(ErrorKind::Internal, e.what(), {}, node.id());
    } catch (...) {
        return Error(ErrorKind::Internal, "unknown exception", {}, node.id());
    }
}

} // namespace conveyor::exec
