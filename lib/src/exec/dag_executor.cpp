// executor = "dag": stages grouped by level (longest path from a source); the stages of one
// level run concurrently, the next level starts when the level is done. Edges between levels
// are materialised, so their total size is capped by [global] max_buffered_bytes.
//
// A chain of compute stages where each link has one producer and one consumer (csv.read ->
// filter.apply -> json.write) is one step of a level: its inner edges stream through bounded
// queues (channel_buffer_size records), as materialising them would only cost memory and
// time. The graph's forks and joins, and the edges into and out of I/O stages (http.fetch),
// stay level barriers.

#include "conveyor/exec/run_context.hpp"
#include "conveyor/exec/runtime.hpp"
#include "conveyor/graph/dag.hpp"
#include "edges.hpp"

#include <boost/asio/co_spawn.hpp>
#include <deque>
#include <exception>
#include <fmt/format.h>
#include <unistd.h>

namespace asio = boost::asio;

namespace conveyor::exec {

namespace {

std::uint64_t default_memory_cap() {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return std::uint64_t{4} << 30;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 2;
}

std::string format_bytes(std::uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return fmt::format("{:.1f} {}", v, units[u]);
}

/// Memory held by materialised edges, shared by all stages of the run.
struct Budget {
    std::atomic<std::uint64_t> used{0};
    std::uint64_t cap = 0;
};

/// Input of a dag stage: every batch of port 0, its end, then port 1, ... in `inputs` order
/// (a held port is passed over until it is released: checkpoint alignment).
class DagInput final : public StreamInput {
public:
    DagInput(std::vector<std::deque<Batch>> ports, Budget& budget, RunContext& run,
             StageMetrics& metrics)
        : ports_(std::move(ports)), ended_(ports_.size(), false), held_(ports_.size(), false),
          budget_(budget), run_(run), metrics_(metrics) {}

    asio::awaitable<std::optional<InputEvent>> next() override {
        if (run_.cancelled()) co_return std::nullopt;
        for (std::size_t p = 0; p < ports_.size(); ++p) {
            if (ended_[p] || held_[p]) continue;
            auto& q = ports_[p];
            if (!q.empty()) {
                InputEvent ev;
                ev.port = p;
                ev.batch.emplace(std::move(q.front()));
                q.pop_front();
                metrics_.queued_records.fetch_sub(ev.batch->rows(), std::memory_order_relaxed);
                budget_.used.fetch_sub(
                    std::min<std::uint64_t>(budget_.used.load(), ev.batch->memory_bytes()));
                co_return ev;
            }
            ended_[p] = true;
            InputEvent end;
            end.port = p;
            co_return end;
        }
        co_return std::nullopt;
    }
    void hold(std::size_t port, bool held) override { held_[port] = held; }

private:
    std::vector<std::deque<Batch>> ports_;
    std::vector<bool> ended_;
    std::vector<bool> held_;
    Budget& budget_;
    RunContext& run_;
    StageMetrics& metrics_;
};

/// Output of a dag stage: kept in memory until the level is done, within the budget.
class DagOutput final : public StageOutput {
public:
    DagOutput(Node& node, std::size_t copies, Budget& budget, RunContext& run)
        : node_(node), copies_(copies), budget_(budget), run_(run) {}

    asio::awaitable<bool> emit(Batch batch) override {
        if (run_.cancelled()) co_return false;
        note_emitted(node_, batch);
        if (copies_ == 0) co_return true; // nobody consumes it (a sink's output)
        const std::uint64_t bytes = batch.memory_bytes() * copies_;
        const std::uint64_t used = budget_.used.fetch_add(bytes) + bytes;
        if (used > budget_.cap) {
            failure_ = Error(ErrorKind::Runtime,
                             fmt::format("buffered output exceeds [global] max_buffered_bytes "
                                         "({}) under executor = \"dag\", which keeps each "
                                         "stage's whole output in memory; use executor = "
                                         "\"channel\" to stream, or raise max_buffered_bytes",
                                         format_bytes(budget_.cap)));
            co_return false;
        }
        batches_.push_back(std::move(batch));
        co_return true;
    }
    [[nodiscard]] std::optional<Error> failure() const override { return failure_; }
    std::vector<Batch>& batches() { return batches_; }

private:
    Node& node_;
    std::size_t copies_;
    Budget& budget_;
    RunContext& run_;
    std::vector<Batch> batches_;
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

} // namespace

void run_dag(Plan& plan) {
    Budget budget;
    const std::uint64_t configured = plan.pipeline->global.max_buffered_bytes;
    budget.cap = configured ? configured : default_memory_cap();
    const std::size_t capacity = plan.pipeline->global.channel_buffer_size;

    // inputs[node][port]: batches waiting for the node.
    std::vector<std::vector<std::deque<Batch>>> inputs(plan.nodes.size());
    for (Node& n : plan.nodes)
        inputs[n.index].resize(n.producers.size());

    for (const std::vector<Dag::Chain>& group : plan_steps(plan)) {
        if (plan.run->cancelled()) break;
        // Per stage of this group: its input, its output, and (inside a chain) its inbox.
        std::vector<std::unique_ptr<Inbox>> inboxes;
        std::vector<std::unique_ptr<StreamInput>> ins;
        std::vector<std::unique_ptr<StageOutput>> outs;
        struct Started {
            Node* node;
            Inbox* inbox;             ///< null for a chain's head
            BroadcastOutput* to_next; ///< null for a chain's tail
            DagOutput* materialised;  ///< the tail's output
        };
        std::vector<Started> started;
        for (const Dag::Chain& seg : group) {
            if (!plan.nodes[seg.front()].opened) continue; // failed to open (continue strategy)
            // Inboxes first: each stage's output points at the next one's.
            std::vector<Inbox*> seg_inboxes(seg.size(), nullptr);
            for (std::size_t i = 1; i < seg.size(); ++i) {
                Node& n = plan.nodes[seg[i]];
                inboxes.push_back(std::make_unique<Inbox>(1, capacity, false));
                inboxes.back()->publish_fill(&n.metrics->queued_records);
                n.metrics->queue_capacity.store(capacity, std::memory_order_relaxed);
                seg_inboxes[i] = inboxes.back().get();
            }
            for (std::size_t i = 0; i < seg.size(); ++i) {
                Node& n = plan.nodes[seg[i]];
                Started st{&n, seg_inboxes[i], nullptr, nullptr};
                if (i == 0)
                    ins.push_back(std::make_unique<DagInput>(std::move(inputs[n.index]), budget,
                                                             *plan.run, *n.metrics));
                else
                    ins.push_back(std::make_unique<InboxInput>(*seg_inboxes[i]));
                if (i + 1 < seg.size()) {
                    // Inside a chain a stage has one consumer, the next link.
                    const std::uint32_t output = n.consumers.empty() ? 0 : n.consumers[0].output;
                    auto out = std::make_unique<BroadcastOutput>(
                        n,
                        std::vector<BroadcastOutput::Target>{{seg_inboxes[i + 1], 0, true, output}},
                        *plan.run);
                    st.to_next = out.get();
                    outs.push_back(std::move(out));
                } else {
                    auto out =
                        std::make_unique<DagOutput>(n, n.consumers.size(), budget, *plan.run);
                    st.materialised = out.get();
                    outs.push_back(std::move(out));
                }
                started.push_back(st);
            }
        }
        const auto cancel_id = plan.run->on_cancel([&inboxes] {
            for (auto& ib : inboxes)
                ib->cancel();
        });
        Completion completion;
        completion.add(started.size());
        for (std::size_t k = 0; k < started.size(); ++k) {
            Node& n = *started[k].node;
            asio::co_spawn(
                stage_executor(plan, n), drive_stage(n, *ins[k], *outs[k], *plan.run),
                [&plan, &completion, st = started[k]](const std::exception_ptr& ep, Status s) {
                    s = stage_status(*st.node, ep, std::move(s));
                    const bool isolated = settle_stage(plan, *st.node, s);
                    // Like the streaming executors: a finished or failed link
                    // takes no more input, and the next one sees its input end.
                    if (st.inbox) st.inbox->cancel();
                    if (st.to_next) st.to_next->close();
                    if (isolated && st.materialised) st.materialised->batches().clear();
                    completion.done();
                });
        }
        completion.wait();
        plan.run->remove_on_cancel(cancel_id);
        // Hand each finished step's output to its consumers (clones for all but the last).
        for (const Started& st : started) {
            if (!st.materialised) continue;
            Node& n = *st.node;
            auto& batches = st.materialised->batches();
            if (n.failed || plan.run->cancelled()) continue;
            for (std::size_t c = 0; c < n.consumers.size(); ++c) {
                const Consumer& to = n.consumers[c];
                auto& q = inputs[to.node][to.port];
                const bool last = c + 1 == n.consumers.size();
                std::uint64_t rows = 0;
                for (Batch& b : batches) {
                    std::optional<Batch> payload = payload_for(b, to.output, last);
                    if (!payload) continue;
                    rows += payload->rows();
                    q.push_back(std::move(*payload));
                }
                // Waiting records, for live metrics and progress.
                plan.nodes[to.node].metrics->queued_records.fetch_add(rows,
                                                                      std::memory_order_relaxed);
            }
            batches.clear();
        }
    }
}

} // namespace conveyor::exec
