#include "conveyor/exec/run_stats_of.hpp"

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/registry/registry.hpp"

#include <csignal>

namespace conveyor {

obs::RunDescription describe_run(const PipelineSpec& pipeline) {
    obs::RunDescription d;
    d.pipeline = pipeline.name;
    d.file = pipeline.file;
    d.executor = std::string(to_string(pipeline.global.executor));
    for (const StageSpec& st : pipeline.stages) {
        obs::RunDescription::Stage s;
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

obs::RunStats final_stats(const obs::RunDescription& run, MetricsRegistry& metrics,
                          const RunReport& report) {
    obs::RunStats s = obs::collect_stats(run, metrics);
    s.finished = true;
    s.wall_seconds = std::chrono::duration<double>(report.wall).count();
    s.exit_code = report.exit_code();
    if (report.signal) {
        s.status = "interrupted";
        s.error = "interrupted by " + signal_name(report.signal);
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
        for (obs::StageStats& st : s.stages)
            if (st.id == o.id) st.error = o.error->to_string();
    }
    return s;
}

} // namespace conveyor
