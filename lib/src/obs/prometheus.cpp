#include "conveyor/obs/prometheus.hpp"

#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <map>

namespace conveyor::obs {

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

namespace {

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        return fmt::format("{}", static_cast<std::int64_t>(v));
    return fmt::format("{}", v);
}

class Writer {
public:
    explicit Writer(std::string_view pipeline) : pipeline_(escape_label_value(pipeline)) {}

    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    /// One sample; `stage` empty for run-level series; `extra` is `,k="v"...` already escaped.
    void sample(std::string_view name, std::string_view stage, std::string_view extra,
                const std::string& value) {
        out_ += name;
        out_ += "{pipeline=\"" + pipeline_ + "\"";
        if (!stage.empty()) out_ += ",stage=\"" + escape_label_value(stage) + "\"";
        out_ += extra;
        out_ += "} " + value + "\n";
    }
    std::string& text() { return out_; }

private:
    std::string pipeline_;
    std::string out_;
};

std::string extra_labels(const Labels& labels) {
    std::string s;
    for (const auto& [k, v] : labels)
        s += "," + k + "=\"" + escape_label_value(v) + "\"";
    return s;
}

struct StageCounter {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    std::function<double(const StageStats&)> value;
    /// Only stages for which this holds get the series (e.g. a known input size).
    std::function<bool(const StageStats&)> applies = nullptr;
};

const std::vector<StageCounter>& stage_series() {
    static const std::vector<StageCounter> series = {
        {"conveyor_records_in_total", "counter", "Records a stage received from its inputs.",
         [](const StageStats& s) { return static_cast<double>(s.records_in); }},
        {"conveyor_records_out_total", "counter", "Records a stage passed on to its outputs.",
         [](const StageStats& s) { return static_cast<double>(s.records_out); }},
        {"conveyor_records_filtered_total", "counter", "Records a stage dropped on purpose.",
         [](const StageStats& s) { return static_cast<double>(s.records_filtered); }},
        {"conveyor_records_failed_total", "counter", "Records a stage failed to process.",
         [](const StageStats& s) { return static_cast<double>(s.records_failed); }},
        {"conveyor_records_dead_lettered_total", "counter",
         "Records a stage sent to the dead-letter queue.",
         [](const StageStats& s) { return static_cast<double>(s.records_dead_lettered); }},
        {"conveyor_records_dropped_total", "counter",
         "Records a stage left out without a dead-letter queue.",
         [](const StageStats& s) { return static_cast<double>(s.records_dropped); }},
        {"conveyor_records_nulled_total", "counter",
         "Failed records a stage passed on with a null result (http.fetch on_error = null).",
         [](const StageStats& s) { return static_cast<double>(s.records_nulled); }},
        {"conveyor_records_spilled_total", "counter",
         "Records of a stage's output that waited on disk (dag edges beyond their memory).",
         [](const StageStats& s) { return static_cast<double>(s.records_spilled); }},
        {"conveyor_retries_total", "counter", "Retry attempts beyond the first.",
         [](const StageStats& s) { return static_cast<double>(s.retries); }},
        {"conveyor_batches_in_total", "counter", "Batches a stage received.",
         [](const StageStats& s) { return static_cast<double>(s.batches_in); }},
        {"conveyor_batches_out_total", "counter", "Batches a stage passed on.",
         [](const StageStats& s) { return static_cast<double>(s.batches_out); }},
        {"conveyor_bytes_read_total", "counter", "Bytes a stage read from its input file.",
         [](const StageStats& s) { return static_cast<double>(s.bytes_read); }},
        {"conveyor_bytes_written_total", "counter", "Bytes a stage wrote to its output.",
         [](const StageStats& s) { return static_cast<double>(s.bytes_written); }},
        {"conveyor_input_size_bytes", "gauge", "Size of a source's input file, when known.",
         [](const StageStats& s) { return static_cast<double>(s.bytes_total); },
         [](const StageStats& s) { return s.bytes_total > 0; }},
        {"conveyor_stage_busy_seconds_total", "counter",
         "Time a stage spent in its own code (not waiting for input or room downstream).",
         [](const StageStats& s) { return s.busy_seconds; }},
        {"conveyor_stage_active_seconds", "gauge",
         "Time since a stage started, or its whole running time once it ended.",
         [](const StageStats& s) { return s.active_seconds; }},
        {"conveyor_channel_records", "gauge",
         "Records waiting in a stage's input queue (channel or mailbox; dag: buffered edges).",
         [](const StageStats& s) { return static_cast<double>(s.queued_records); },
         [](const StageStats& s) { return !s.source; }},
        {"conveyor_channel_capacity_records", "gauge",
         "Records a stage's input queue holds at most (channel_buffer_size per input edge, or "
         "per mailbox under async).",
         [](const StageStats& s) { return static_cast<double>(s.queue_capacity); },
         [](const StageStats& s) { return s.queue_capacity > 0; }},
    };
    return series;
}

constexpr StageState kStates[] = {
    StageState::Pending,          StageState::Running, StageState::WaitingForInput,
    StageState::WaitingForOutput, StageState::Done,    StageState::Failed};

/// Every stage's extra series, grouped by metric name (one HELP/TYPE per family).
struct Family {
    std::string help;
    SeriesKind kind = SeriesKind::Counter;
    std::string body;
};

void render_extra(Writer& w, const RunStats& stats, MetricsRegistry& metrics) {
    std::vector<std::string> order;
    std::map<std::string, Family> families;
    for (const StageStats& st : stats.stages) {
        StageMetrics* m = metrics.find(st.id);
        if (!m) continue;
        m->extra().for_each([&](const Series& s) {
            auto [it, inserted] = families.try_emplace(s.name);
            Family& f = it->second;
            if (inserted) {
                order.push_back(s.name);
                f.help = s.help;
                f.kind = s.kind;
            }
            if (f.kind != s.kind) return; // two plugins disagree on a name: keep the first
            const std::string labels = extra_labels(s.labels);
            Writer one(stats.pipeline);
            switch (s.kind) {
            case SeriesKind::Counter:
                one.sample(s.name, st.id, labels, std::to_string(s.counter->value()));
                break;
            case SeriesKind::Gauge:
                one.sample(s.name, st.id, labels, std::to_string(s.gauge->value()));
                break;
            case SeriesKind::Histogram: {
                const Histogram::Snapshot snap = s.histogram->snapshot();
                for (std::size_t i = 0; i < snap.bounds.size(); ++i)
                    one.sample(s.name + "_bucket", st.id,
                               labels + ",le=\"" + number(snap.bounds[i]) + "\"",
                               std::to_string(snap.cumulative[i]));
                one.sample(s.name + "_bucket", st.id, labels + ",le=\"+Inf\"",
                           std::to_string(snap.count));
                one.sample(s.name + "_sum", st.id, labels, number(snap.sum));
                one.sample(s.name + "_count", st.id, labels, std::to_string(snap.count));
                break;
            }
            }
            f.body += one.text();
        });
    }
    for (const std::string& name : order) {
        const Family& f = families[name];
        w.family(name,
                 f.kind == SeriesKind::Counter ? "counter"
                 : f.kind == SeriesKind::Gauge ? "gauge"
                                               : "histogram",
                 f.help);
        w.text() += f.body;
    }
}

} // namespace

std::string render_prometheus(const RunStats& stats, MetricsRegistry& metrics) {
    Writer w(stats.pipeline);
    w.family("conveyor_info", "gauge", "Always 1; labels carry the conveyor version and executor.");
    w.sample("conveyor_info", "",
             fmt::format(",version=\"{}\",executor=\"{}\"", escape_label_value(CONVEYOR_VERSION),
                         escape_label_value(stats.executor)),
             "1");
    for (const StageCounter& c : stage_series()) {
        bool header = false;
        for (const StageStats& s : stats.stages) {
            if (c.applies && !c.applies(s)) continue;
            if (!header) w.family(c.name, c.type, c.help);
            header = true;
            w.sample(c.name, s.id, "", number(c.value(s)));
        }
    }
    w.family("conveyor_stage_state", "gauge",
             "1 for the state a stage is in (pending, running, waiting_for_input, "
             "waiting_for_output, done, failed), 0 for the others.");
    for (const StageStats& s : stats.stages)
        for (StageState st : kStates)
            w.sample("conveyor_stage_state", s.id, fmt::format(",state=\"{}\"", to_string(st)),
                     s.state == st ? "1" : "0");
    render_extra(w, stats, metrics);

    const double start = std::chrono::duration<double>(stats.started_at.time_since_epoch()).count();
    w.family("conveyor_run_start_time_seconds", "gauge", "When the run started (Unix time).");
    w.sample("conveyor_run_start_time_seconds", "", "", number(std::round(start * 1000) / 1000));
    w.family("conveyor_run_duration_seconds", "gauge",
             "Wall time of the run so far, or of the whole run once it ended.");
    w.sample("conveyor_run_duration_seconds", "", "", number(stats.wall_seconds));
    if (stats.finished) {
        w.family("conveyor_run_end_time_seconds", "gauge", "When the run ended (Unix time).");
        w.sample("conveyor_run_end_time_seconds", "", "",
                 number(std::round((start + stats.wall_seconds) * 1000) / 1000));
        w.family("conveyor_run_exit_code", "gauge", "The exit code of the run (0 = success).");
        w.sample("conveyor_run_exit_code", "", "", std::to_string(stats.exit_code));
        w.family("conveyor_run_success", "gauge", "1 if the run succeeded (exit code 0), else 0.");
        w.sample("conveyor_run_success", "", "", stats.exit_code == 0 ? "1" : "0");
    }
    return std::move(w.text());
}

} // namespace conveyor::obs
