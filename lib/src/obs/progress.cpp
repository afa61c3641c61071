#include "conveyor/obs/progress.hpp"

#include "conveyor/obs/summary.hpp"
#include "conveyor/obs/terminal.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace conveyor::obs {

namespace {

std::string eta_text(double seconds) {
    if (!(seconds >= 0) || seconds > 360000) return "--:--";
    const auto s = static_cast<std::uint64_t>(std::llround(seconds));
    if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}:{:02}", s / 60, s % 60);
}

bool running(StageState s) {
    return s == StageState::Running || s == StageState::WaitingForInput ||
           s == StageState::WaitingForOutput;
}

} // namespace

ProgressDisplay::ProgressDisplay(RunDescription run, MetricsRegistry& metrics, Options options)
    : run_(std::move(run)), metrics_(metrics), options_(options) {}

ProgressDisplay::~ProgressDisplay() {
    stop();
}

void ProgressDisplay::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { loop(); });
}

void ProgressDisplay::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_ || !thread_.joinable()) {
            stopping_ = true;
            return;
        }
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    StderrWriter::instance().clear_live();
}

void ProgressDisplay::loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        const RunStats stats = collect_stats(run_, metrics_);
        StderrWriter::instance().show_live(frame(stats, terminal_columns(options_.fd)));
        lock.lock();
        // The refresh cadence of the display, woken early by stop().
        cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
}

std::string ProgressDisplay::frame(const RunStats& stats, int columns) {
    const std::size_t width = static_cast<std::size_t>(std::max(columns - 1, 20));
    const char* bold = options_.color ? "\x1b[1m" : "";
    const char* reset = options_.color ? "\x1b[0m" : "";

    std::size_t active = 0, done = 0;
    for (const StageStats& s : stats.stages) {
        active += running(s.state);
        done += s.state == StageState::Done || s.state == StageState::Failed;
    }
    std::string header =
        fmt::format("conveyor: '{}' {}  {} of {} stages running, {} done", stats.pipeline,
                    human_seconds(stats.wall_seconds), active, stats.stages.size(), done);
    if (header.size() > width) header.resize(width);
    std::string out = std::string(bold) + header + reset;

    for (const StageStats& s : stats.stages) {
        Rate& r = rates_[s.id];
        const std::uint64_t records = s.records_handled();
        const double t = stats.wall_seconds;
        r.samples.push_back({t, records, s.bytes_read});
        while (r.samples.size() > 2 && t - r.samples[1].time >= kWindow)
            r.samples.pop_front();
        const Sample& first = r.samples.front();
        if (t > first.time) {
            const double dt = t - first.time;
            r.records_per_s = static_cast<double>(records - std::min(records, first.records)) / dt;
            r.bytes_per_s =
                static_cast<double>(s.bytes_read - std::min(s.bytes_read, first.bytes)) / dt;
        }
        if (!running(s.state)) continue;

        std::string rest;
        if (s.source) {
            rest = fmt::format(" ({})  {} rec  {} rec/s", s.function,
                               group_thousands(s.records_out), human_count(r.records_per_s));
            if (s.bytes_total > 0) {
                const double pct = 100.0 *
                                   static_cast<double>(std::min(s.bytes_read, s.bytes_total)) /
                                   static_cast<double>(s.bytes_total);
                const double left =
                    static_cast<double>(s.bytes_total - std::min(s.bytes_read, s.bytes_total));
                rest += fmt::format("  {} / {}  {:.0f}%  ETA {}", human_bytes(s.bytes_read),
                                    human_bytes(s.bytes_total), pct,
                                    r.bytes_per_s > 0 ? eta_text(left / r.bytes_per_s) : "--:--");
            } else if (s.bytes_read > 0) {
                rest += "  " + human_bytes(s.bytes_read);
            }
        } else {
            rest = fmt::format(" ({})  in {}  out {}  {} rec/s", s.function,
                               group_thousands(s.records_in), group_thousands(s.records_out),
                               human_count(r.records_per_s));
            if (s.queue_capacity > 0)
                rest += fmt::format("  queue {}/{}", s.queued_records, s.queue_capacity);
            else if (s.queued_records > 0)
                rest += fmt::format("  queued {}", group_thousands(s.queued_records));
        }
        // Where a stage waits shows where the pipeline is slow.
        if (s.state == StageState::WaitingForOutput)
            rest += "  [output full]";
        else if (s.state == StageState::WaitingForInput && !s.source)
            rest += "  [idle]";

        std::string id = "  " + s.id;
        if (id.size() >= width) {
            id.resize(width);
            rest.clear();
        } else if (id.size() + rest.size() > width) {
            rest.resize(width - id.size());
        }
        out += "\n";
        out += bold + id + reset + rest;
    }
    return out;
}

} // namespace conveyor::obs
