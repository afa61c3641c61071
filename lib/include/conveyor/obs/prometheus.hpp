#pragma once

// Prometheus text exposition format (version 0.0.4): what /metrics serves during a run and
// what --metrics-textfile writes at its end (node_exporter's textfile collector reads the
// same format, without timestamps). Every series carries `pipeline`, per-stage series also
// `stage`, so the files of several pipelines can sit in one textfile directory.

#include "conveyor/obs/run_stats.hpp"

#include <string>
#include <string_view>

namespace conveyor::obs {

/// Renders the common per-stage series, each stage's extra series (ExtraMetrics) and the run
/// series. The run's end (exit code, success, end time) is included once `stats.finished`.
std::string render_prometheus(const RunStats& stats, MetricsRegistry& metrics);

/// Escapes a label value (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);

} // namespace conveyor::obs
