#pragma once

// The run-level numbers of obs/run_stats.hpp for a pipeline run by an executor: what obs itself
// cannot know (obs sits below config and exec).

#include "conveyor/obs/run_stats.hpp"

namespace conveyor {

struct PipelineSpec;
struct RunReport;

/// Describes `pipeline` for the metrics, progress and summary, timestamped now (call it when
/// the run starts).
obs::RunDescription describe_run(const PipelineSpec& pipeline);

/// The final numbers and how the run ended.
obs::RunStats final_stats(const obs::RunDescription& run, MetricsRegistry& metrics,
                          const RunReport& report);

} // namespace conveyor
