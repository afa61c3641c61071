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
#include "conveyor/exec/run_lock.hpp"
#include "conveyor/exec/runtime.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/obs/extra_metrics.hpp"
#include "edges.hpp"

#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <filesystem>

namespace asio = boost::asio;

namespace conveyor::exec {

namespace {

/// A stage's [stages.buffer]: its inbox's bound and what a full inbox does.
InboxOverflow overflow_of(Plan& plan, Node& n, const BufferSpec& b) {
    InboxOverflow o;
    o.max_bytes = b.max_bytes.value_or(0);
    constexpr std::string_view kName = "conveyor_buffer_records_total";
    constexpr std::string_view kHelp =
        "Records a stage's [stages.buffer] dropped (when_full = \"drop_newest\") or kept on "
        "disk (type = \"disk\") because its input queue was full";
    if (b.type == BufferSpec::Type::Disk) {
        o.mode = InboxOverflow::Mode::Disk;
        o.spill_dir = spill_dir_for(*plan.pipeline);
        o.name = n.id() + ".buffer";
        o.temp_files = &plan.run->temp_files();
        o.on_disk = &n.metrics->extra().counter(kName, kHelp, {{"buffer", "on_disk"}},
                                                obs::ShownIn::Summary);
        // Files a killed run left.
        std::error_code ec;
        if (std::filesystem::is_directory(o.spill_dir, ec))
            spill::remove_stale(o.spill_dir, o.name);
    } else if (b.when_full == BufferSpec::WhenFull::DropNewest) {
        o.mode = InboxOverflow::Mode::DropNewest;
        o.dropped = &n.metrics->extra().counter(kName, kHelp, {{"buffer", "dropped"}},
                                                obs::ShownIn::Summary);
    }
    return o;
}

} // namespace

void run_streaming(Plan& plan, bool shared_mailbox) {
    const std::size_t channel_capacity = plan.pipeline->global.channel_buffer_size;
    std::vector<std::unique_ptr<Inbox>> inboxes;
    for (Node& n : plan.nodes) {
        const std::optional<BufferSpec>& buffer = n.spec->buffer;
        const std::size_t capacity = buffer && buffer->max_records
                                         ? static_cast<std::size_t>(*buffer->max_records)
                                         : channel_capacity;
        inboxes.push_back(std::make_unique<Inbox>(n.producers.size(), capacity, shared_mailbox));
        if (buffer) inboxes.back()->set_overflow(overflow_of(plan, n, *buffer));
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
