#pragma once

// The end-of-run summary: a table for people (stderr) and JSON for scripts (--stats-json).

#include "conveyor/obs/run_stats.hpp"

#include <string>

namespace conveyor::obs {

/// One row per stage: records in/out (plus filtered, failed, dead-lettered and retries
/// columns when any stage has some), bytes read or written, busy time, throughput; then the
/// total wall time and how the run ended. `color` adds ANSI bold/red.
std::string render_summary_table(const RunStats& stats, bool color);

/// The --stats-json document (schema_version 1), documented in README.md:
/// {"schema_version":1,"pipeline":..,"file":..,"executor":..,"started_at":"RFC 3339 UTC",
///  "wall_seconds":..,"status":..,"exit_code":..,"error":null|"..",
///  "stages":[{"id":..,"function":..,"role":"source|transform|sink","state":..,
///             "records":{"in","out","filtered","failed","dead_lettered","dropped","nulled",
///                        "spilled"},"retries":..,
///             "batches":{"in","out"},"bytes":{"read","written","input_size"|null},
///             "busy_seconds":..,"active_seconds":..,"records_per_second":..,
///             "error":null|"..",
///             "errors":[{"message":..,"at":"file:line"|null,"count":..}] (first 3 distinct),
///             "warnings":[".."] (StageMetrics::warnings)}],
///  "totals":{"records_failed","records_dead_lettered","records_dropped","records_nulled",
///            "retries","bytes_read","bytes_written"}}
std::string render_stats_json(const RunStats& stats);

/// One line per stage warning ("warning: stage 'f': field 'amout' did not appear ..."), as the
/// summary table ends with them; empty when there is none.
std::string render_stage_warnings(const RunStats& stats, bool color);

/// What became of the records a stage could not process, in the words README uses:
/// "22 records in, 22 out: 4 kept with null result; error: \"url: ...\" (4 records)".
/// Empty when none failed.
std::string describe_outcomes(const StageStats& s);

/// "1,234,567".
std::string group_thousands(std::uint64_t n);
/// "512 B", "1.5 KiB", "3.2 GiB".
std::string human_bytes(std::uint64_t n);
/// "0.42 s", "1m05s", "2h03m".
std::string human_seconds(double s);
/// "950", "12.3k", "4.56M".
std::string human_count(double n);
/// "2026-11-23T14:08:12.123Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

} // namespace conveyor::obs
