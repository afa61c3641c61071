#pragma once

// The live progress display on a terminal: one line per running stage (records so far,
// records/s; for file sources bytes read, percent and ETA), redrawn a few times a second on
// stderr through StderrWriter. Only used when stderr is a terminal that can redraw in place
// (the CLI decides: see obs/terminal.hpp).

#include "conveyor/obs/run_stats.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace conveyor::obs {

class ProgressDisplay {
public:
    struct Options {
        bool color = false;
        std::chrono::milliseconds interval{250};
        int fd = 2; ///< where the terminal width is read from
    };
    ProgressDisplay(RunDescription run, MetricsRegistry& metrics, Options options);
    ~ProgressDisplay(); ///< stop()s
    ProgressDisplay(const ProgressDisplay&) = delete;
    ProgressDisplay& operator=(const ProgressDisplay&) = delete;

    /// Starts the refresh thread (draws the first frame at once).
    void start();
    /// Stops the thread and erases the display. Idempotent.
    void stop();

    /// The frame for `stats` at `columns` wide (exposed for tests). Updates the rate state.
    std::string frame(const RunStats& stats, int columns);

private:
    /// Recent (time, records, bytes) samples of a stage: rates are taken over the last
    /// kWindow seconds, so a stalled stage shows 0 rec/s soon, not a slowly fading average.
    struct Sample {
        double time;
        std::uint64_t records;
        std::uint64_t bytes;
    };
    struct Rate {
        std::deque<Sample> samples;
        double records_per_s = 0;
        double bytes_per_s = 0;
    };
    static constexpr double kWindow = 3.0;
    void loop();

    RunDescription run_;
    MetricsRegistry& metrics_;
    Options options_;
    std::map<std::string, Rate> rates_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace conveyor::obs
