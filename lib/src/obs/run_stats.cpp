#include "conveyor/obs/run_stats.hpp"

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/registry/registry.hpp"

#include <csignal>

namespace conveyor::obs {

namespace {

double seconds(std::int64_t ns) {
    return static_cast<double>(ns) / 1e9;
}

StageStats stage_stats(const RunDescription::Stage& d, StageMetrics* m, std::int64_t now) {
    StageStats s;
    s.id = d.id;
    s.function = d.function;
    s.source = d.source;
    s.sink = d.sink;
    for (const std::string& name : d.named_outputs)
        s.named_outputs.emplace_back(name, 0);
    if (!m) return s;
    for (std::size_t k = 0; k < s.named_outputs.size(); ++k)
        s.named_outputs[k].second = m->named_output_records(k);
    constexpr auto r = std::memory_order_relaxed;
    s.state = m->get_state();
    s.records_in = m->records_in.load(r);
    s.records_out = m->records_out.load(r);
    s.records_read = m->records_read.load(r);
    s.records_filtered = m->records_filtered.load(r);
    s.records_failed = m->records_failed.load(r);
    s.records_dead_lettered = m->records_dead_lettered.load(r);
    s.records_dropped = m->records_dropped.load(r);
    s.records_nulled = m->records_nulled.load(r);
    s.records_pending = m->records_pending.load(r);
    s.first_errors = m->first_errors().entries();
    s.warnings = m->warnings().entries();
    s.records_spilled = m->records_spilled.load(r);
    s.retries = m->retries.load(r);
    s.batches_in = m->batches_in.load(r);
    s.batches_out = m->batches_out.load(r);
    s.bytes_read = m->bytes_read.load(r);
    s.bytes_written = m->bytes_written.load(r);
    s.bytes_total = m->bytes_total.load(r);
    s.queued_records = m->queued_records.load(r);
    s.queue_capacity = m->queue_capacity.load(r);
    s.busy_seconds = seconds(static_cast<std::int64_t>(m->busy_ns.load(r)));
    const std::int64_t start = m->started_ns.load(r);
    const std::int64_t end = m->ended_ns.load(r);
    if (start > 0) s.active_seconds = seconds((end > 0 ? end : now) - start);
    return s;
}

} // namespace

RunDescription describe_run(const PipelineSpec& pipeline) {
    RunDescription d;
    d.pipeline = pipeline.name;
    d.file = pipeline.file;
    d.executor = std::string(to_string(pipeline.global.executor));
    for (const StageSpec& st : pipeline.stages) {
        RunDescription::Stage s;
        s.id = st.id;
        s.function = st.function;
        s.source = st.descriptor ? st.descriptor->role == StageRole::Source : st.inputs.empty();
        s.sink = st.descriptor && st.descriptor->role == StageRole::Sink;
        if (st.stage)
            for (const NamedOutput& o : st.stage->named_outputs())
                s.named_outputs.push_back(o.name);
        d.stages.push_back(std::move(s));
    }
    d.started_at = std::chrono::system_clock::now();
    d.started_ns = StageMetrics::now_ns();
    return d;
}

RunStats collect_stats(const RunDescription& run, MetricsRegistry& metrics) {
    RunStats s;
    s.pipeline = run.pipeline;
    s.file = run.file;
    s.executor = run.executor;
    s.started_at = run.started_at;
    const std::int64_t now = StageMetrics::now_ns();
    s.wall_seconds = seconds(now - run.started_ns);
    for (const RunDescription::Stage& d : run.stages)
        s.stages.push_back(stage_stats(d, metrics.find(d.id), now));
    return s;
}

RunStats collect_stats(const RunDescription& run, MetricsRegistry& metrics,
                       const RunReport& report) {
    RunStats s = collect_stats(run, metrics);
    s.finished = true;
    s.wall_seconds = std::chrono::duration<double>(report.wall).count();
    s.exit_code = report.exit_code();
    if (report.signal) {
        s.status = "interrupted";
        s.error = report.signal == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM";
    } else if (!report.status) {
        s.status = "failed";
        s.error = report.status.error().to_string();
    } else if (report.completed_with_failures) {
        s.status = "completed_with_failures";
    } else {
        s.status = "ok";
    }
    for (const StageOutcome& o : report.stages) {
        if (!o.failed || !o.error) continue;
        for (StageStats& st : s.stages)
            if (st.id == o.id) st.error = o.error->to_string();
    }
    return s;
}

} // namespace conveyor::obs
