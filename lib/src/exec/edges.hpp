#pragma once

// The streaming ends of an edge, shared by the executors: a stage reads its Inbox through
// InboxInput and sends to its consumers' inboxes through BroadcastOutput.

#include "driver.hpp"
#include "inbox.hpp"
#include "plan.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>

namespace conveyor::exec {

class InboxInput final : public StreamInput {
public:
    explicit InboxInput(Inbox& inbox) : inbox_(inbox) {}
    boost::asio::awaitable<std::optional<InputEvent>> next() override { return inbox_.pop(); }
    boost::asio::awaitable<Timed>
    next_until(std::chrono::steady_clock::time_point deadline) override {
        return inbox_.pop_until(deadline);
    }
    void hold(std::size_t port, bool held) override { inbox_.hold(port, held); }
    [[nodiscard]] std::optional<Error> failure() const override { return inbox_.failure(); }

private:
    Inbox& inbox_;
};

/// Sends every batch to every live consumer: clones for all but the last. emit() is false
/// once every consumer is gone or the run is cancelled.
class BroadcastOutput final : public StageOutput {
public:
    struct Target {
        Inbox* inbox;
        std::size_t port;
        bool live = true;
        std::uint32_t output = 0; ///< the stage's output this consumer reads
    };
    BroadcastOutput(Node& node, std::vector<Target> targets, RunContext& run)
        : node_(node), targets_(std::move(targets)), run_(run) {}

    boost::asio::awaitable<bool> emit(Batch batch) override;
    void on_unwanted(std::function<void()> fn) override;
    /// Ends this stage's outputs: consumers see the ports end.
    void close();

private:
    Node& node_;
    std::vector<Target> targets_;
    RunContext& run_;
    /// on_unwanted(): consumers' inboxes not yet cancelled, and what to call at zero.
    std::atomic<std::size_t> wanted_by_{0};
    std::function<void()> unwanted_;
};

/// What a consumer reading output `output` of the emitting stage gets of `batch`: the batch
/// itself (moved when `last`, else cloned) when it left by that output (or `output` is
/// kEveryOutput), else only its
/// checkpoint marker and metadata (nothing at all when it has neither). The output tag is
/// cleared: it meant something only to the stage that emitted the batch.
std::optional<Batch> payload_for(Batch& batch, std::uint32_t output, bool last);

/// A fan-out that numbers its records (Node::numbers_records) gives each record of `batch` the
/// next lineage id and puts a LineageMark for the last one after it; other stages: nothing.
void stamp_lineage(Node& node, Batch& batch);

/// Counts a batch a stage emits (records and batches out) and shows it to the stage's observer;
/// a checkpoint marker alone is neither.
void note_emitted(Node& node, const Batch& batch);

/// Where a stage's coroutine runs: I/O stages on the I/O context, sources on the source pool
/// (a blocking read never starves a transform), the rest on the worker pool; one strand each.
boost::asio::any_io_executor stage_executor(Plan& plan, const Node& node);

/// The status of a finished stage coroutine, an escaped exception made an Internal error.
Status stage_status(const Node& node, const std::exception_ptr& ep, Status s);

} // namespace conveyor::exec
