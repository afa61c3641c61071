// executor = "dag": stages grouped by level (longest path from a source); the stages of one
// level run concurrently, the next level starts when the level is done. Edges are
// materialised, so their total size is capped by [global] max_buffered_bytes.

#include "conveyor/exec/run_context.hpp"
#include "conveyor/exec/runtime.hpp"
#include "driver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>

#include <fmt/format.h>

#include <deque>
#include <exception>
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

/// Input of a dag stage: every batch of port 0, its end, then port 1, ... in `inputs` order.
class DagInput final : public StreamInput {
public:
    DagInput(std::vector<std::deque<Batch>> ports, Budget& budget, RunContext& run,
             StageMetrics& metrics)
        : ports_(std::move(ports)), budget_(budget), run_(run), metrics_(metrics) {}

    asio::awaitable<std::optional<InputEvent>> next() override {
        if (run_.cancelled()) co_return std::nullopt;
        while (port_ < ports_.size()) {
            auto& q = ports_[port_];
            if (!q.empty()) {
                InputEvent ev;
                ev.port = port_;
                ev.batch.emplace(std::move(q.front()));
                q.pop_front();
                metrics_.queued_records.fetch_sub(ev.batch->rows(), std::memory_order_relaxed);
                budget_.used.fetch_sub(std::min<std::uint64_t>(budget_.used.load(),
                                                               ev.batch->memory_bytes()));
                co_return ev;
            }
            InputEvent end;
            end.port = port_++;
            co_return end;
        }
        co_return std::nullopt;
    }

private:
    std::vector<std::deque<Batch>> ports_;
    std::size_t port_ = 0;
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
        node_.metrics->records_out.fetch_add(batch.rows(), std::memory_order_relaxed);
        node_.metrics->batches_out.fetch_add(1, std::memory_order_relaxed);
        if (node_.observer) node_.observer->on_batch(node_.id(), batch);
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

} // namespace

void run_dag(Plan& plan) {
    Budget budget;
    const std::uint64_t configured = plan.pipeline->global.max_buffered_bytes;
    budget.cap = configured ? configured : default_memory_cap();

    // inputs[node][port]: batches waiting for the node.
    std::vector<std::vector<std::deque<Batch>>> inputs(plan.nodes.size());
    for (Node& n : plan.nodes) inputs[n.index].resize(n.producers.size());

    for (const auto& level : plan.levels) {
        if (plan.run->cancelled()) break;
        std::vector<std::unique_ptr<DagInput>> ins;
        std::vector<std::unique_ptr<DagOutput>> outs;
        std::vector<Node*> started;
        Completion completion;
        for (std::size_t idx : level) {
            Node& n = plan.nodes[idx];
            if (!n.opened) continue; // failed to open (continue strategy)
            started.push_back(&n);
            ins.push_back(std::make_unique<DagInput>(std::move(inputs[idx]), budget, *plan.run,
                                                     *n.metrics));
            outs.push_back(
                std::make_unique<DagOutput>(n, n.consumers.size(), budget, *plan.run));
        }
        completion.add(started.size());
        for (std::size_t k = 0; k < started.size(); ++k) {
            Node& n = *started[k];
            const bool is_source = n.producers.empty();
            const bool is_stream = std::holds_alternative<std::unique_ptr<StreamOperator>>(n.opened->op);
            asio::any_io_executor ex =
                is_stream ? asio::any_io_executor(asio::make_strand(plan.runtime->io()))
                : is_source ? asio::any_io_executor(asio::make_strand(plan.runtime->sources()))
                            : asio::any_io_executor(asio::make_strand(plan.runtime->workers()));
            asio::co_spawn(ex, drive_stage(n, *ins[k], *outs[k], *plan.run),
                           [&plan, &n, &completion, &outs, k](std::exception_ptr ep, Status s) {
                               if (ep) {
                                   try {
                                       std::rethrow_exception(ep);
                                   } catch (const std::exception& e) {
                                       s = Error(ErrorKind::Internal, e.what(), {}, n.id());
                                   }
                               }
                               if (settle_stage(plan, n, s)) outs[k]->batches().clear();
                               completion.done();
                           });
        }
        completion.wait();
        // Hand each finished stage's output to its consumers (clones for all but the last).
        for (std::size_t k = 0; k < started.size(); ++k) {
            Node& n = *started[k];
            auto& batches = outs[k]->batches();
            if (n.failed || plan.run->cancelled()) continue;
            for (std::size_t c = 0; c < n.consumers.size(); ++c) {
                const Consumer& to = n.consumers[c];
                auto& q = inputs[to.node][to.port];
                const bool last = c + 1 == n.consumers.size();
                std::uint64_t rows = 0;
                for (Batch& b : batches) {
                    rows += b.rows();
                    q.push_back(last ? std::move(b) : b.clone());
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
