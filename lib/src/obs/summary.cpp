#include "conveyor/obs/summary.hpp"

#include "conveyor/format/json_writer.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fmt/format.h>

namespace conveyor::obs {

std::string group_thousands(std::uint64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string human_bytes(std::uint64_t n) {
    if (n < 1024) return fmt::format("{} B", n);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = static_cast<double>(n) / 1024;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return fmt::format("{:.1f} {}", v, units[u]);
}

std::string human_seconds(double s) {
    if (!(s >= 0)) s = 0;
    if (s < 60) return fmt::format("{:.2f} s", s);
    const auto total = static_cast<std::uint64_t>(s);
    if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
    return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
}

std::string human_count(double n) {
    if (!(n >= 0)) n = 0;
    if (n < 10000) return fmt::format("{:.0f}", n);
    if (n < 1e6) return fmt::format("{:.1f}k", n / 1e3);
    if (n < 1e9) return fmt::format("{:.2f}M", n / 1e6);
    return fmt::format("{:.2f}G", n / 1e9);
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

namespace {

std::string_view role(const StageStats& s) {
    return s.source ? "source" : s.sink ? "sink" : "transform";
}

struct Column {
    std::string title;
    bool left = false;
    std::vector<std::string> cells;
};

/// The summary's columns with their cells, a row per stage; the counting columns only when
/// some stage has a count in them.
std::vector<Column> summary_columns(const RunStats& stats) {
    auto any = [&](auto field) {
        return std::any_of(stats.stages.begin(), stats.stages.end(),
                           [&](const StageStats& s) { return field(s) != 0; });
    };
    const bool show_filtered = any([](const StageStats& s) { return s.records_filtered; });
    const bool show_failed = any([](const StageStats& s) { return s.records_failed; });
    const bool show_dead = any([](const StageStats& s) { return s.records_dead_lettered; });
    const bool show_dropped = any([](const StageStats& s) { return s.records_dropped; });
    const bool show_nulled = any([](const StageStats& s) { return s.records_nulled; });
    const bool show_retries = any([](const StageStats& s) { return s.retries; });
    const bool show_spilled = any([](const StageStats& s) { return s.records_spilled; });

    std::vector<Column> cols;
    auto add = [&](std::string title, bool left = false) -> Column& {
        cols.push_back(Column{std::move(title), left, {}});
        return cols.back();
    };
    add("stage", true);
    add("function", true);
    add("in");
    add("out");
    if (show_filtered) add("filtered");
    if (show_failed) add("failed");
    if (show_dead) add("dead-lettered");
    if (show_dropped) add("dropped");
    if (show_nulled) add("null result");
    if (show_retries) add("retries");
    if (show_spilled) add("spilled");
    add("bytes");
    add("busy");
    add("rec/s");

    for (const StageStats& s : stats.stages) {
        std::size_t c = 0;
        auto cell = [&](std::string text) { cols[c++].cells.push_back(std::move(text)); };
        cell(s.id);
        cell(s.function);
        cell(s.source ? "-" : group_thousands(s.records_in));
        cell(s.sink && s.records_out == 0 ? "-" : group_thousands(s.records_out));
        if (show_filtered) cell(group_thousands(s.records_filtered));
        if (show_failed) cell(group_thousands(s.records_failed));
        if (show_dead) cell(group_thousands(s.records_dead_lettered));
        if (show_dropped) cell(group_thousands(s.records_dropped));
        if (show_nulled) cell(group_thousands(s.records_nulled));
        if (show_retries) cell(group_thousands(s.retries));
        if (show_spilled) cell(group_thousands(s.records_spilled));
        const std::uint64_t bytes = s.bytes_read + s.bytes_written;
        cell(bytes ? human_bytes(bytes) : "-");
        cell(human_seconds(s.busy_seconds));
        cell(s.active_seconds > 0 ? human_count(s.records_per_second()) : "-");
    }

    return cols;
}

/// The columns as aligned text: a bold title line, then the stages (a failed one in red).
std::string render_columns(const std::vector<Column>& cols, const RunStats& stats, bool color) {
    std::vector<std::size_t> width;
    for (const Column& col : cols) {
        std::size_t w = col.title.size();
        for (const std::string& cell : col.cells)
            w = std::max(w, cell.size());
        width.push_back(w);
    }
    const char* bold = color ? "\x1b[1m" : "";
    const char* red = color ? "\x1b[31m" : "";
    const char* reset = color ? "\x1b[0m" : "";
    auto pad = [](const std::string& text, std::size_t w, bool left) {
        const std::string fill(w > text.size() ? w - text.size() : 0, ' ');
        return left ? text + fill : fill + text;
    };

    std::string out = bold;
    for (std::size_t c = 0; c < cols.size(); ++c)
        out += (c ? "  " : "") + pad(cols[c].title, width[c], cols[c].left);
    // No trailing spaces after the last (right-aligned) column.
    out += reset;
    out += '\n';
    for (std::size_t r = 0; r < stats.stages.size(); ++r) {
        const bool failed = stats.stages[r].state == StageState::Failed || stats.stages[r].error;
        if (failed) out += red;
        for (std::size_t c = 0; c < cols.size(); ++c)
            out += (c ? "  " : "") + pad(cols[c].cells[r], width[c], cols[c].left);
        if (failed) out += reset;
        out += '\n';
    }
    return out;
}

/// "outputs of 'x': x.a 3, x.b 4" and "records of 'x': ..." lines, a stage each.
std::string render_counts(const RunStats& stats) {
    std::string out;
    for (const StageStats& s : stats.stages) {
        if (s.named_outputs.empty()) continue;
        out += fmt::format("outputs of '{}':", s.id);
        for (std::size_t k = 0; k < s.named_outputs.size(); ++k)
            out += fmt::format("{} {}.{} {}", k ? "," : "", s.id, s.named_outputs[k].first,
                               group_thousands(s.named_outputs[k].second));
        out += '\n';
    }
    for (const StageStats& s : stats.stages) {
        if (s.outcomes.empty()) continue;
        out += fmt::format("records of '{}':", s.id);
        for (std::size_t k = 0; k < s.outcomes.size(); ++k)
            out += fmt::format("{} {} {}", k ? "," : "", s.outcomes[k].first,
                               group_thousands(s.outcomes[k].second));
        out += '\n';
    }
    return out;
}

} // namespace

std::string render_summary_table(const RunStats& stats, bool color) {
    std::string out = render_columns(summary_columns(stats), stats, color);
    out += render_counts(stats);
    const char* bold = color ? "\x1b[1m" : "";
    const char* reset = color ? "\x1b[0m" : "";
    out += render_stage_warnings(stats, color);
    std::string outcome = stats.status;
    if (stats.status == "completed_with_failures") outcome = "completed with failures";
    out += fmt::format("{}total{} {} wall time, pipeline '{}' {}{}\n", bold, reset,
                       human_seconds(stats.wall_seconds), stats.pipeline,
                       stats.finished ? "" : "still ", outcome);
    return out;
}

std::string render_stage_warnings(const RunStats& stats, bool color) {
    std::string out;
    for (const StageStats& s : stats.stages)
        for (const FirstErrors::Entry& w : s.warnings)
            out += fmt::format("{}warning{}: stage '{}': {}\n", color ? "\x1b[33m" : "",
                               color ? "\x1b[0m" : "", s.id, w.message);
    return out;
}

std::string describe_outcomes(const StageStats& s) {
    const std::uint64_t settled = s.records_nulled + s.records_dead_lettered + s.records_dropped;
    // The rest failed the stage (stop strategy) or were lost with a sink's failed write.
    const std::uint64_t failed = s.records_failed > settled ? s.records_failed - settled : 0;
    std::vector<std::string> parts;
    auto part = [&](std::uint64_t n, std::string_view words) {
        if (n) parts.push_back(fmt::format("{} {}", group_thousands(n), words));
    };
    part(s.records_nulled, "kept with null result");
    part(s.records_dropped, "dropped");
    part(s.records_dead_lettered, "dead-lettered");
    part(failed, "failed");
    if (parts.empty()) return {};
    part(s.records_filtered, "filtered");

    std::string out =
        s.source ? fmt::format("{} record{} out: ", group_thousands(s.records_out),
                               s.records_out == 1 ? "" : "s")
                 : fmt::format("{} record{} in, {} out: ", group_thousands(s.records_in),
                               s.records_in == 1 ? "" : "s", group_thousands(s.records_out));
    for (std::size_t i = 0; i < parts.size(); ++i)
        out += (i ? ", " : "") + parts[i];
    if (s.first_errors.empty()) return out;
    out += s.first_errors.size() == 1 ? "; error: " : "; first errors: ";
    for (std::size_t i = 0; i < s.first_errors.size(); ++i) {
        const FirstErrors::Entry& e = s.first_errors[i];
        if (i) out += ", ";
        json::append_string(out, e.message);
        // Where the first such record was, and how many failed alike.
        std::string note = e.at;
        if (e.count > 1)
            note += fmt::format("{}{} records", note.empty() ? "" : ", ", group_thousands(e.count));
        if (!note.empty()) out += " (" + note + ")";
    }
    return out;
}

namespace {

/// The --stats-json text, written piece by piece: each value ends with ',' and close()
/// replaces the last one by the bracket that ends its object or array.
struct StatsJson {
    std::string o;

    void key(std::string_view k) {
        json::append_string(o, k);
        o += ':';
    }
    void str(std::string_view k, std::string_view v) {
        key(k);
        json::append_string(o, v);
        o += ',';
    }
    void num(std::string_view k, std::uint64_t v) {
        key(k);
        o += std::to_string(v);
        o += ',';
    }
    void dbl(std::string_view k, double v) {
        key(k);
        // Microsecond precision is plenty and keeps the numbers short.
        json::append_double(o, std::isfinite(v) ? std::round(v * 1e6) / 1e6 : 0.0);
        o += ',';
    }
    void opt_str(std::string_view k, const std::optional<std::string>& v) {
        key(k);
        if (v)
            json::append_string(o, *v);
        else
            o += "null";
        o += ',';
    }
    void close(char c) {
        if (o.back() == ',')
            o.back() = c;
        else
            o += c;
    }
    /// `"k":{"name":n,...},` from pairs of name and count.
    template <class Pairs>
    void counts(std::string_view k, const Pairs& pairs) {
        key(k);
        o += '{';
        for (const auto& [name, n] : pairs)
            num(name, n);
        close('}');
        o += ',';
    }

    void stage(const StageStats& s);
};

void StatsJson::stage(const StageStats& s) {
    o += "\n  {";
    str("id", s.id);
    str("function", s.function);
    str("role", role(s));
    str("state", to_string(s.state));
    key("records");
    o += '{';
    num("in", s.records_in);
    num("out", s.records_out);
    num("filtered", s.records_filtered);
    num("failed", s.records_failed);
    num("dead_lettered", s.records_dead_lettered);
    num("dropped", s.records_dropped);
    num("nulled", s.records_nulled);
    num("spilled", s.records_spilled);
    close('}');
    o += ',';
    if (!s.named_outputs.empty()) counts("outputs", s.named_outputs);
    if (!s.outcomes.empty()) counts("outcomes", s.outcomes);
    num("retries", s.retries);
    key("batches");
    o += '{';
    num("in", s.batches_in);
    num("out", s.batches_out);
    close('}');
    o += ',';
    key("bytes");
    o += '{';
    num("read", s.bytes_read);
    num("written", s.bytes_written);
    key("input_size");
    o += s.bytes_total ? std::to_string(s.bytes_total) : "null";
    o += '}';
    o += ',';
    dbl("busy_seconds", s.busy_seconds);
    dbl("active_seconds", s.active_seconds);
    dbl("records_per_second", s.records_per_second());
    opt_str("error", s.error);
    key("errors");
    o += '[';
    for (const FirstErrors::Entry& e : s.first_errors) {
        o += '{';
        str("message", e.message);
        opt_str("at", e.at.empty() ? std::nullopt : std::optional<std::string>(e.at));
        num("count", e.count);
        close('}');
        o += ',';
    }
    close(']');
    o += ',';
    key("warnings");
    o += '[';
    for (const FirstErrors::Entry& w : s.warnings) {
        json::append_string(o, w.message);
        o += ',';
    }
    close(']');
    close('}');
    o += ',';
}

} // namespace

std::string render_stats_json(const RunStats& stats) {
    StatsJson w;
    std::string& o = w.o;
    o += '{';
    w.num("schema_version", 1);
    w.str("pipeline", stats.pipeline);
    w.str("file", stats.file);
    w.str("executor", stats.executor);
    w.str("started_at", rfc3339_utc(stats.started_at));
    w.dbl("wall_seconds", stats.wall_seconds);
    w.str("status", stats.status);
    w.key("exit_code");
    o += std::to_string(stats.exit_code) + ",";
    w.opt_str("error", stats.error);
    w.key("stages");
    o += '[';
    std::uint64_t failed = 0, dead = 0, dropped = 0, nulled = 0, retries = 0, read = 0, written = 0;
    for (const StageStats& s : stats.stages) {
        w.stage(s);
        failed += s.records_failed;
        dropped += s.records_dropped;
        nulled += s.records_nulled;
        dead += s.records_dead_lettered;
        retries += s.retries;
        read += s.bytes_read;
        written += s.bytes_written;
    }
    if (o.back() == ',') o.back() = '\n';
    o += "],\n";
    w.key("totals");
    o += '{';
    w.num("records_failed", failed);
    w.num("records_dead_lettered", dead);
    w.num("records_dropped", dropped);
    w.num("records_nulled", nulled);
    w.num("retries", retries);
    w.num("bytes_read", read);
    w.num("bytes_written", written);
    w.close('}');
    o += "}\n";
    return std::move(o);
}

} // namespace conveyor::obs
