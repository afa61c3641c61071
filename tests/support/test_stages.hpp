#pragma once

// Stages for executor tests: an in-memory source, a collecting sink, a stage that fails on
// the n-th batch, a sink that consumes only when its source is stalled (to observe
// backpressure without timing), and helpers to assemble a PipelineSpec without a file.

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/obs/metrics.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace conveyor::test {

/// Records seen by a CollectSink, each rendered "field=value;field=value".
struct Collected {
    std::mutex mu;
    std::vector<std::string> rows;
    bool finished = false;
    bool aborted = false;
    std::vector<std::string> snapshot() {
        std::lock_guard lock(mu);
        return rows;
    }
};

/// Source of `count` records {id: i, group: "g<i % groups>", value: i * 10}, in batches of
/// the executor's batch size. `id_offset` shifts ids (two sources, distinct records).
std::shared_ptr<const Stage> memory_source(std::size_t count, std::size_t groups = 3,
                                           std::int64_t id_offset = 0);
/// Sink appending every record to `out` (any number of inputs, concatenated).
/// Collects every record it gets; with `enough` > 0 it wants no more input once it has that
/// many (Operator::satisfied, like a reader closing a pipe).
std::shared_ptr<const Stage> collect_sink(std::shared_ptr<Collected> out, std::size_t enough = 0);
/// Transform passing records through, failing with `kind` on batch number `fail_on_batch`
/// (1-based; 0 = fail in finish()).
std::shared_ptr<const Stage> failing_transform(std::size_t fail_on_batch,
                                               ErrorKind kind = ErrorKind::Data);
/// Transform reporting every record whose id is a multiple of `n` as failed (through
/// OpenContext::errors, so the error strategy decides) and passing the others on.
std::shared_ptr<const Stage> record_failing_transform(std::int64_t n);
/// Source that fails when opened (e.g. a missing file).
std::shared_ptr<const Stage> failing_source(ErrorKind kind = ErrorKind::NoInput);
/// Source whose open() fails with `kind` until `*ready` is true, then yields `count` records
/// like memory_source; `*opens` counts the calls to open().
std::shared_ptr<const Stage> flaky_source(std::shared_ptr<std::atomic<bool>> ready,
                                          std::shared_ptr<std::atomic<int>> opens,
                                          std::size_t count, ErrorKind kind = ErrorKind::NoInput);
/// Sink that takes a batch only once `source` (looked up in `metrics` during the run) is
/// stalled on a full queue or done, so the source always runs as far ahead as the executor
/// allows. Records the largest lead (source records read - sink records received).
struct LeadProbe {
    std::atomic<std::uint64_t> max_lead{0};
    std::atomic<std::uint64_t> waits_blocked{0};
};
std::shared_ptr<const Stage> stall_sink(MetricsRegistry* metrics, std::string source_id,
                                        std::shared_ptr<LeadProbe> probe,
                                        std::shared_ptr<Collected> out);
/// Sink that blocks (without sleeping) until the run is cancelled; for cancellation tests.
std::shared_ptr<const Stage> blocking_sink();

/// Builds a PipelineSpec stage by stage.
class SpecBuilder {
public:
    SpecBuilder& executor(ExecutorKind k);
    SpecBuilder& strategy(ErrorStrategy s);
    SpecBuilder& buffer(std::size_t records);
    SpecBuilder& batch_size(std::size_t records);
    SpecBuilder& stage(std::string id, std::shared_ptr<const Stage> stage,
                       std::vector<std::string> inputs = {});
    PipelineSpec build() const;
    GlobalSpec& global() { return spec_.global; }

private:
    PipelineSpec spec_;
};

} // namespace conveyor::test
