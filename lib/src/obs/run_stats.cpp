#include "conveyor/obs/run_stats.hpp"

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
    m->extra().for_each([&s](const Series& series) {
        if (series.shown != ShownIn::Summary || !series.counter) return;
        const std::string label = series.labels.empty() ? series.name : series.labels[0].second;
        s.outcomes.emplace_back(label, series.counter->value());
    });
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

} // namespace conveyor::obs
