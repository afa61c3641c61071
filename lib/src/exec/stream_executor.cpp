// executor = "channel" and "async": every stage runs at once, connected by bounded queues
// counted in records. A full queue suspends the producer (backpressure), fan-out broadcasts
// every batch to every consumer, fan-in takes batches from whichever input has them.
//
// channel: one bounded channel per edge (capacity channel_buffer_size records each).
// async:   one bounded mailbox per stage (actor), shared by all its inputs.
// The first fatal error cancels every stage through RunContext::cancel (which cancels every
// queue); under strategy = "continue" a failing stage is isolated instead: its queue is
// cancelled (producers stop sending to it) and its outputs end, the rest runs to completion.

#include "conveyor/exec/run_context.hpp"
#include "conveyor/exec/runtime.hpp"
#include "driver.hpp"
#include "inbox.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>

#include <exception>

namespace asio = boost::asio;

namespace conveyor::exec {

namespace {

class InboxInput final : public StreamInput {
public:
    explicit InboxInput(Inbox& inbox) : inbox_(inbox) {}
    asio::awaitable<std::optional<InputEvent>> next() override { return inbox_.pop(); }

private:
    Inbox& inbox_;
};

/// Sends every batch to every live consumer: clones for all but the last.
class BroadcastOutput final : public StageOutput {
public:
    struct Target {
        Inbox* inbox;
        std::size_t port;
        bool live = true;
    };
    BroadcastOutput(Node& node, std::vector<Target> targets, RunContext& run)
        : node_(node), targets_(std::move(targets)), run_(run) {}

    asio::awaitable<bool> emit(Batch batch) override {
        if (run_.cancelled()) co_return false;
        node_.metrics->records_out.fetch_add(batch.rows(), std::memory_order_relaxed);
        node_.metrics->batches_out.fetch_add(1, std::memory_order_relaxed);
        if (node_.observer) node_.observer->on_batch(node_.id(), batch);
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
            Batch payload = i == last ? std::move(batch) : batch.clone();
            const bool ok = co_await t.inbox->push(t.port, std::move(payload));
            if (!ok) t.live = false;
        }
        if (run_.cancelled()) co_return false;
        for (const Target& t : targets_)
            if (t.live) co_return true;
        co_return false;
    }

    /// Ends this stage's outputs: consumers see the ports end.
    void close() {
        for (Target& t : targets_) t.inbox->close_port(t.port);
    }

private:
    Node& node_;
    std::vector<Target> targets_;
    RunContext& run_;
};

} // namespace

void run_streaming(Plan& plan, bool shared_mailbox) {
    const std::size_t capacity = plan.pipeline->global.channel_buffer_size;
    std::vector<std::unique_ptr<Inbox>> inboxes;
    for (Node& n : plan.nodes) {
        inboxes.push_back(std::make_unique<Inbox>(n.producers.size(), capacity, shared_mailbox));
        // Fill level for live metrics and progress.
        inboxes.back()->publish_fill(&n.metrics->queued_records);
        n.metrics->queue_capacity.store(
            n.producers.empty() ? 0 : shared_mailbox ? capacity : capacity * n.producers.size(),
            std::memory_order_relaxed);
    }

    // A failed stage (continue strategy) or one that never opened takes no input.
    for (Node& n : plan.nodes)
        if (!n.opened) inboxes[n.index]->cancel();

    const auto cancel_id = plan.run->on_cancel([&inboxes] {
        for (auto& ib : inboxes) ib->cancel();
    });

    std::vector<std::unique_ptr<InboxInput>> ins;
    std::vector<std::unique_ptr<BroadcastOutput>> outs;
    for (Node& n : plan.nodes) {
        ins.push_back(std::make_unique<InboxInput>(*inboxes[n.index]));
        std::vector<BroadcastOutput::Target> targets;
        for (const Consumer& c : n.consumers)
            targets.push_back({inboxes[c.node].get(), c.port, plan.nodes[c.node].opened.has_value()});
        outs.push_back(std::make_unique<BroadcastOutput>(n, std::move(targets), *plan.run));
    }

    Completion completion;
    for (Node& n : plan.nodes) {
        if (!n.opened) {
            outs[n.index]->close();
            continue;
        }
        completion.add();
    }
    for (Node& n : plan.nodes) {
        if (!n.opened) continue;
        const bool is_source = n.producers.empty();
        const bool is_stream = std::holds_alternative<std::unique_ptr<StreamOperator>>(n.opened->op);
        asio::any_io_executor ex =
            is_stream ? asio::any_io_executor(asio::make_strand(plan.runtime->io()))
            : is_source ? asio::any_io_executor(asio::make_strand(plan.runtime->sources()))
                        : asio::any_io_executor(asio::make_strand(plan.runtime->workers()));
        asio::co_spawn(ex, drive_stage(n, *ins[n.index], *outs[n.index], *plan.run),
                       [&plan, &n, &inboxes, &outs, &completion](std::exception_ptr ep, Status s) {
                           if (ep) {
                               try {
                                   std::rethrow_exception(ep);
                               } catch (const std::exception& e) {
                                   s = Error(ErrorKind::Internal, e.what(), {}, n.id());
                               }
                           }
                           // Whatever happened, this stage takes no more input and its
                           // consumers learn that its output has ended.
                           settle_stage(plan, n, s);
                           inboxes[n.index]->cancel();
                           outs[n.index]->close();
                           completion.done();
                       });
    }
    completion.wait();
    plan.run->remove_on_cancel(cancel_id);
}

} // namespace conveyor::exec
