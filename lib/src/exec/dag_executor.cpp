// executor = "dag": stages grouped by level (longest path from a source); the stages of one
// level run concurrently, the next level starts when the level is done. Edges between levels
// are materialised: held in memory up to the edges' share of [global] memory_limit
// (max_buffered_bytes sets it), beyond it spilled to state_dir/spill (edge_spill.hpp).
//
// A chain of compute stages where each link has one producer and one consumer (csv.read ->
// filter.apply -> json.write) is one step of a level: its inner edges stream through bounded
// queues (channel_buffer_size records), as materialising them would only cost memory and
// time. The graph's forks and joins, and the edges into and out of I/O stages (http.fetch),
// stay level barriers.

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/run_lock.hpp"
#include "conveyor/exec/runtime.hpp"
#include "conveyor/graph/dag.hpp"
#include "edge_spill.hpp"
#include "edges.hpp"

#include <boost/asio/co_spawn.hpp>
#include <deque>
#include <exception>
#include <filesystem>
#include <fmt/format.h>

namespace asio = boost::asio;

namespace conveyor::exec {

namespace {

/// Memory held by materialised edges, shared by all stages of the run.
struct Budget {
    std::atomic<std::uint64_t> used{0};
    std::uint64_t cap = 0;
};

/// Input of a dag stage: every batch of port 0, its end, then port 1, ... in `inputs` order,
/// or (`interleave`: OpenedStage::interleave_inputs) a batch from each port in turn (a held
/// port is passed over until it is released: checkpoint alignment). Spilled batches are read
/// back as they come.
class DagInput final : public StreamInput {
public:
    DagInput(std::vector<std::deque<EdgeItem>> ports, bool interleave, Budget& budget,
             RunContext& run, StageMetrics& metrics)
        : ports_(std::move(ports)), readers_(ports_.size()), ended_(ports_.size(), false),
          held_(ports_.size(), false), interleave_(interleave), budget_(budget), run_(run),
          metrics_(metrics) {}

    asio::awaitable<std::optional<InputEvent>> next() override {
        if (run_.cancelled() || failure_) co_return std::nullopt;
        const std::size_t n = ports_.size();
        const std::size_t first = interleave_ ? turn_ : 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t p = (first + i) % n;
            if (ended_[p] || held_[p]) continue;
            turn_ = (p + 1) % n;
            auto& q = ports_[p];
            if (!q.empty()) {
                EdgeItem item = std::move(q.front());
                q.pop_front();
                if (item.spilled_rows == 0)
                    budget_.used.fetch_sub(
                        std::min<std::uint64_t>(budget_.used.load(), item.batch.memory_bytes()));
                Result<Batch> batch = readers_[p].restore(std::move(item));
                if (!batch) {
                    failure_ = std::move(batch).error();
                    co_return std::nullopt;
                }
                InputEvent ev;
                ev.port = p;
                ev.batch.emplace(std::move(*batch));
                metrics_.queued_records.fetch_sub(ev.batch->rows(), std::memory_order_relaxed);
                co_return ev;
            }
            ended_[p] = true;
            readers_[p] = EdgeSpillReader{}; // its spill file is read through
            InputEvent end;
            end.port = p;
            co_return end;
        }
        co_return std::nullopt;
    }
    void hold(std::size_t port, bool held) override { held_[port] = held; }
    [[nodiscard]] std::optional<Error> failure() const override { return failure_; }

private:
    std::vector<std::deque<EdgeItem>> ports_;
    std::vector<EdgeSpillReader> readers_;
    std::vector<bool> ended_;
    std::vector<bool> held_;
    bool interleave_;
    std::size_t turn_ = 0; ///< interleaved: the port whose turn is next
    Budget& budget_;
    RunContext& run_;
    StageMetrics& metrics_;
    std::optional<Error> failure_;
};

/// Output of a dag stage: kept until the level is done, in memory within the edges' share,
/// beyond it in a spill file per output of the stage.
class DagOutput final : public StageOutput {
public:
    DagOutput(Node& node, std::size_t copies, Budget& budget, RunContext& run,
              const std::string& spill_dir)
        : node_(node), copies_(copies), budget_(budget), run_(run), spill_dir_(spill_dir) {}

    asio::awaitable<bool> emit(Batch batch) override {
        if (run_.cancelled()) co_return false;
        stamp_lineage(node_, batch);
        note_emitted(node_, batch);
        if (copies_ == 0) co_return true; // nobody consumes it (a sink's output)
        const std::uint64_t bytes = batch.memory_bytes() * copies_;
        const std::uint64_t used = budget_.used.fetch_add(bytes) + bytes;
        if (used <= budget_.cap || batch.rows() == 0) {
            items_.push_back(EdgeItem{std::move(batch), 0, nullptr});
            co_return true;
        }
        budget_.used.fetch_sub(bytes);
        const std::uint32_t output = batch.output();
        if (writers_.size() <= output) writers_.resize(output + 1);
        if (!writers_[output])
            writers_[output] = std::make_unique<EdgeSpillWriter>(spill_dir_, node_.id(), output,
                                                                 run_.temp_files());
        Result<EdgeItem> item = writers_[output]->spill(std::move(batch));
        if (!item) {
            failure_ = std::move(item).error();
            co_return false;
        }
        node_.metrics->records_spilled.fetch_add(item->spilled_rows, std::memory_order_relaxed);
        items_.push_back(std::move(*item));
        co_return true;
    }
    [[nodiscard]] std::optional<Error> failure() const override { return failure_; }
    /// Closes the spill files, so that consumers can read them.
    Status close() {
        for (auto& w : writers_)
            if (w) CONVEYOR_TRY(w->close());
        return {};
    }
    std::vector<EdgeItem>& items() { return items_; }

private:
    Node& node_;
    std::size_t copies_;
    Budget& budget_;
    RunContext& run_;
    const std::string& spill_dir_;
    std::vector<EdgeItem> items_;
    std::vector<std::unique_ptr<EdgeSpillWriter>> writers_;
    std::optional<Error> failure_;
};

/// The steps of the run (Dag::steps): a stage that did not open, or runs as a coroutine on
/// the I/O thread (http.fetch), is a step of its own.
std::vector<std::vector<Dag::Chain>> plan_steps(const Plan& plan) {
    Dag dag(plan.nodes.size());
    for (const Node& n : plan.nodes)
        for (std::size_t p : n.producers)
            dag.add_edge(p, n.index);
    return dag.steps([&plan](std::size_t i) {
        const Node& n = plan.nodes[i];
        return n.opened && !std::holds_alternative<std::unique_ptr<StreamOperator>>(n.opened->op);
    });
}

/// One step's stages wired together: per stage its input, its output and (inside a chain) its
/// inbox.
struct StepWiring {
    struct Started {
        Node* node;
        Inbox* inbox;             ///< null for a chain's head
        BroadcastOutput* to_next; ///< null for a chain's tail
        DagOutput* materialised;  ///< the tail's output
    };
    std::vector<std::unique_ptr<Inbox>> inboxes;
    std::vector<std::unique_ptr<StreamInput>> ins;
    std::vector<std::unique_ptr<StageOutput>> outs;
    std::vector<Started> started;
};

/// What the stages of `seg` read and write: the head reads its materialised input, each
/// other link an inbox the link before it writes; the tail's output is materialised.
void wire_chain(Plan& plan, const Dag::Chain& seg, StepWiring& w,
                std::vector<std::vector<std::deque<EdgeItem>>>& inputs, Budget& budget,
                const std::string& spill_dir) {
    const std::size_t capacity = plan.pipeline->global.channel_buffer_size;
    // Inboxes first: each stage's output points at the next one's.
    std::vector<Inbox*> seg_inboxes(seg.size(), nullptr);
    for (std::size_t i = 1; i < seg.size(); ++i) {
        Node& n = plan.nodes[seg[i]];
        w.inboxes.push_back(std::make_unique<Inbox>(1, capacity, false));
        w.inboxes.back()->publish_fill(&n.metrics->queued_records);
        n.metrics->queue_capacity.store(capacity, std::memory_order_relaxed);
        seg_inboxes[i] = w.inboxes.back().get();
    }
    for (std::size_t i = 0; i < seg.size(); ++i) {
        Node& n = plan.nodes[seg[i]];
        StepWiring::Started st{&n, seg_inboxes[i], nullptr, nullptr};
        if (i == 0)
            w.ins.push_back(std::make_unique<DagInput>(std::move(inputs[n.index]),
                                                       n.opened->interleave_inputs, budget,
                                                       *plan.run, *n.metrics));
        else
            w.ins.push_back(std::make_unique<InboxInput>(*seg_inboxes[i]));
        if (i + 1 < seg.size()) {
            // Inside a chain a stage has one consumer, the next link.
            const std::uint32_t output = n.consumers.empty() ? 0 : n.consumers[0].output;
            auto out = std::make_unique<BroadcastOutput>(
                n, std::vector<BroadcastOutput::Target>{{seg_inboxes[i + 1], 0, true, output}},
                *plan.run);
            st.to_next = out.get();
            w.outs.push_back(std::move(out));
        } else {
            auto out =
                std::make_unique<DagOutput>(n, n.consumers.size(), budget, *plan.run, spill_dir);
            st.materialised = out.get();
            w.outs.push_back(std::move(out));
        }
        w.started.push_back(st);
    }
}

/// Runs the stages of one step at once and waits for all of them.
void run_step(Plan& plan, StepWiring& w) {
    const auto cancel_id = plan.run->on_cancel([&w] {
        for (auto& ib : w.inboxes)
            ib->cancel();
    });
    Completion completion;
    completion.add(w.started.size());
    for (std::size_t k = 0; k < w.started.size(); ++k) {
        Node& n = *w.started[k].node;
        asio::co_spawn(
            stage_executor(plan, n), drive_stage(n, *w.ins[k], *w.outs[k], *plan.run),
            [&plan, &completion, st = w.started[k]](const std::exception_ptr& ep, Status s) {
                s = stage_status(*st.node, ep, std::move(s));
                const bool isolated = settle_stage(plan, *st.node, s);
                // Like the streaming executors: a finished or failed link takes no
                // more input, and the next one sees its input end.
                if (st.inbox) st.inbox->cancel();
                if (st.to_next) st.to_next->close();
                if (isolated && st.materialised) st.materialised->items().clear();
                completion.done();
            });
    }
    completion.wait();
    plan.run->remove_on_cancel(cancel_id);
}

/// Hands a finished step's materialised output to its consumers' inputs (clones for all but
/// the last).
void hand_over(Plan& plan, const StepWiring::Started& st,
               std::vector<std::vector<std::deque<EdgeItem>>>& inputs) {
    Node& n = *st.node;
    auto& items = st.materialised->items();
    if (n.failed || plan.run->cancelled()) return;
    if (Status s = st.materialised->close(); !s) {
        settle_stage(plan, n, std::move(s));
        items.clear();
        return;
    }
    for (std::size_t c = 0; c < n.consumers.size(); ++c) {
        const Consumer& to = n.consumers[c];
        auto& q = inputs[to.node][to.port];
        const bool last = c + 1 == n.consumers.size();
        std::uint64_t rows = 0;
        for (EdgeItem& item : items) {
            const bool ours = item.batch.output() == to.output || to.output == kEveryOutput;
            std::optional<Batch> payload = payload_for(item.batch, to.output, last);
            if (!payload) continue;
            EdgeItem copy{std::move(*payload), ours ? item.spilled_rows : 0,
                          ours ? item.file : nullptr};
            rows += copy.batch.rows() + copy.spilled_rows;
            q.push_back(std::move(copy));
        }
        // Waiting records, for live metrics and progress.
        plan.nodes[to.node].metrics->queued_records.fetch_add(rows, std::memory_order_relaxed);
    }
    items.clear();
}

} // namespace

void run_dag(Plan& plan) {
    Budget budget;
    budget.cap = plan.pipeline->edge_share();
    const std::string spill_dir = spill_dir_for(*plan.pipeline);

    // Spill files of edges a killed run left (a run that spills removes them too, but this
    // one may not spill).
    std::error_code ec;
    if (std::filesystem::is_directory(spill_dir, ec))
        for (const Node& n : plan.nodes)
            for (const Consumer& c : n.consumers)
                spill::remove_stale(spill_dir, edge_spill_name(n.id(), c.output));

    // inputs[node][port]: batches waiting for the node.
    std::vector<std::vector<std::deque<EdgeItem>>> inputs(plan.nodes.size());
    for (Node& n : plan.nodes)
        inputs[n.index].resize(n.producers.size());

    for (const std::vector<Dag::Chain>& group : plan_steps(plan)) {
        if (plan.run->cancelled()) break;
        StepWiring w;
        for (const Dag::Chain& seg : group) {
            if (!plan.nodes[seg.front()].opened) continue; // failed to open (continue strategy)
            wire_chain(plan, seg, w, inputs, budget, spill_dir);
        }
        run_step(plan, w);
        for (const StepWiring::Started& st : w.started)
            if (st.materialised) hand_over(plan, st, inputs);
    }
}

} // namespace conveyor::exec
