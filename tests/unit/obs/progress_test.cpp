#include "conveyor/obs/progress.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor::obs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RunStats stats_at(double t, std::uint64_t read, std::uint64_t records) {
    RunStats s;
    s.pipeline = "p";
    s.wall_seconds = t;
    StageStats src;
    src.id = "load";
    src.function = "csv.read";
    src.source = true;
    src.state = StageState::Running;
    src.records_out = records;
    src.bytes_read = read;
    src.bytes_total = 1000;
    StageStats mid;
    mid.id = "keep";
    mid.function = "filter.apply";
    mid.state = StageState::WaitingForOutput;
    mid.records_in = records;
    mid.records_out = records / 2;
    mid.queued_records = 7;
    mid.queue_capacity = 100;
    StageStats done;
    done.id = "early";
    done.function = "json.write";
    done.state = StageState::Done;
    s.stages = {src, mid, done};
    return s;
}

std::vector<std::string> lines(const std::string& frame) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    for (;;) {
        const auto nl = frame.find('\n', pos);
        out.push_back(frame.substr(pos, nl - pos));
        if (nl == std::string::npos) return out;
        pos = nl + 1;
    }
}

TEST(Progress, ShowsALinePerRunningStageWithRatePercentAndEta) {
    MetricsRegistry metrics;
    ProgressDisplay d(RunDescription{}, metrics, {});
    (void)d.frame(stats_at(0.0, 0, 0), 200);
    const std::string f = d.frame(stats_at(1.0, 250, 5000), 200);
    const auto ls = lines(f);
    ASSERT_EQ(ls.size(), 3u) << f << "\n(header + two running stages; a finished one is gone)";
    EXPECT_THAT(ls[0], HasSubstr("'p'"));
    EXPECT_THAT(ls[0], HasSubstr("2 of 3 stages running, 1 done"));
    EXPECT_THAT(ls[1], HasSubstr("load (csv.read)"));
    EXPECT_THAT(ls[1], HasSubstr("5,000 rec"));
    EXPECT_THAT(ls[1], HasSubstr("5000 rec/s"));
    EXPECT_THAT(ls[1], HasSubstr("250 B / 1000 B  25%"));
    EXPECT_THAT(ls[1], HasSubstr("ETA 0:03")) << "750 bytes left at 250 B/s";
    EXPECT_THAT(ls[2], HasSubstr("keep (filter.apply)  in 5,000  out 2,500"));
    EXPECT_THAT(ls[2], HasSubstr("queue 7/100"));
    EXPECT_THAT(ls[2], HasSubstr("[output full]"));
    EXPECT_EQ(f.find('\x1b'), std::string::npos) << "no colour unless asked";
    EXPECT_NE(f.back(), '\n') << "the cursor stays on the last line";
}

TEST(Progress, RateFallsToZeroWhenAStageStalls) {
    MetricsRegistry metrics;
    ProgressDisplay d(RunDescription{}, metrics, {});
    (void)d.frame(stats_at(0.0, 0, 0), 200);
    (void)d.frame(stats_at(1.0, 100, 1000), 200);
    (void)d.frame(stats_at(4.5, 100, 1000), 200);
    const std::string f = d.frame(stats_at(8.0, 100, 1000), 200);
    EXPECT_THAT(lines(f)[1], HasSubstr(" 0 rec/s"));
    EXPECT_THAT(lines(f)[1], HasSubstr("ETA --:--"));
}

TEST(Progress, LinesNeverWrapPastTheTerminalWidth) {
    MetricsRegistry metrics;
    ProgressDisplay::Options o;
    o.color = true;
    ProgressDisplay d(RunDescription{}, metrics, o);
    const std::string f = d.frame(stats_at(1.0, 250, 5000), 40);
    for (const std::string& l : lines(f)) {
        std::string visible;
        for (std::size_t i = 0; i < l.size(); ++i) {
            if (l[i] == '\x1b') {
                while (i < l.size() && l[i] != 'm')
                    ++i;
                continue;
            }
            visible += l[i];
        }
        EXPECT_LE(visible.size(), 39u) << l;
    }
    EXPECT_THAT(f, HasSubstr("\x1b[1m")) << "colour when asked";
}

} // namespace
} // namespace conveyor::obs
