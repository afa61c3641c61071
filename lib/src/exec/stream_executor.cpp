// executor = "channel" and "async": every stage runs at once, connected by bounded queues
// counted in records. A full queue suspends the producer (backpressure), fan-out broadcasts
// every batch to every consumer, fan-in takes batches from whichever input has them.
//
// channel: one bounded channel per edge (capacity channel_buffer_size records each).
// async:   one bounded mailbox per stage (actor), shared by all its inputs.
// The first fatal error cancels every stage through RunContext::cancel (which cancels every
// queue); under strategy = "continue" a failing stage is isolated instead: its queue is
// cancelled (producers stop sending to it) and its outputs end, the rest runs to completion.

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/runtime.hpp"
#include "edges.hpp"

#include <boost/asio/co_spawn.hpp>
#include <exception>

namespace asio = boost::asio;

namespace conveyor::exec {

void run_streaming(Plan& plan, bool shared_mailbox) {
    const std::size_t capacity = plan.pipeline->global.channel_buffer_size;
    std::vector<std::unique_ptr<Inbox>> inboxes;
    for (Node& n : plan.nodes) {
        inboxes.push_back(std::make_unique<Inbox>(n.producers.size(), capacity, shared_mailbox));
        // Fill level for live metrics and progress.
        inboxes.back()->publish_fill(&n.metrics->queued_records);
        n.metrics->queue_capacity.store(n.producers.empty() ? 0
                                        : shared_mailbox    ? capacity
                                                            : capacity * n.producers.size(),
                                        std::memory_order_relaxed);
    }

    // A failed stage (continue strategy) or one that never opened takes no input.
    for (Node& n : plan.nodes)
        if (!n.opened) inboxes[n.index]->cancel();

    const auto cancel_id = plan.run->on_cancel([&inboxes] {
        for (auto& ib : inboxes)
            ib->cancel();
    });

    std::vector<std::unique_ptr<InboxInput>> ins;
    std::vector<std::unique_ptr<BroadcastOutput>> outs;
    for (Node& n : plan.nodes) {
        ins.push_back(std::make_unique<InboxInput>(*inboxes[n.index]));
        std::vector<BroadcastOutput::Target> targets;
        for (const Consumer& c : n.consumers)
            targets.push_back(
                {inboxes[c.node].get(), c.port, plan.nodes[c.node].opened.has_value(), c.output});
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
        asio::co_spawn(
            stage_executor(plan, n), drive_stage(n, *ins[n.index], *outs[n.index], *plan.run),
            [&plan, &n, &inboxes, &outs, &completion](const std::exception_ptr& ep, Status s) {
                s = stage_status(n, ep, std::move(s));
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
