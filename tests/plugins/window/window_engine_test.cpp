// WindowEngine with made-up times: no clock, no waiting. Output is rendered as JSON lines;
// a window's close (WindowClosed batch metadata) is the line "@window_closed {...}".

#include "support/stage_harness.hpp"
#include "window_engine.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <limits>
#include <random>

namespace conveyor::plugins::window {
namespace {

using test::batch_from_json;
using test::jsonl;

constexpr std::int64_t kT0 = 1714564800000; // 2024-05-01T12:00:00Z

WindowSpec count_spec(WindowType type, std::int64_t size, std::int64_t slide = 0) {
    WindowSpec s;
    s.type = type;
    s.by_count = true;
    s.size = size;
    s.slide = slide;
    return s;
}

WindowSpec event_spec(WindowType type, std::int64_t size_ms, std::int64_t lateness_ms) {
    WindowSpec s;
    s.type = type;
    s.size = size_ms;
    s.time_field = "ts";
    s.allowed_lateness = lateness_ms;
    return s;
}

/// {"v":N} records for the given values.
Batch values(std::initializer_list<int> vs) {
    std::vector<std::string> objs;
    for (int v : vs)
        objs.push_back("{\"v\":" + std::to_string(v) + "}");
    return batch_from_json(objs);
}

/// {"ts":"...","v":N} records at kT0 + seconds.
Batch at_seconds(std::initializer_list<std::pair<int, int>> ts_v) {
    std::vector<std::string> objs;
    for (auto [sec, v] : ts_v)
        objs.push_back("{\"ts\":\"" + format_rfc3339(kT0 + sec * 1000) +
                       "\",\"v\":" + std::to_string(v) + "}");
    return batch_from_json(objs);
}

std::string marker(const std::string& start, const std::string& end) {
    return "@window_closed {\"window_start\":" + start + ",\"window_end\":" + end + "}\n";
}

std::string q(std::int64_t ms) {
    return "\"" + format_rfc3339(ms) + "\"";
}

TEST(WindowEngineTest, TumblingCountWindowsCloseRightAfterTheirLastRecord) {
    WindowEngine e(count_spec(WindowType::Tumbling, 2));
    std::vector<Batch> out;
    e.push(values({1, 2, 3}), 0, out);
    EXPECT_EQ(jsonl(out), "{\"v\":1,\"window_start\":0,\"window_end\":2}\n"
                          "{\"v\":2,\"window_start\":0,\"window_end\":2}\n" +
                              marker("0", "2") + "{\"v\":3,\"window_start\":2,\"window_end\":4}\n");
    ASSERT_EQ(out.size(), 2u) << "the close ends a batch: later records go into the next";
    EXPECT_EQ(out[0].rows(), 2u);
    EXPECT_EQ(out[0].infos().size(), 1u);
    EXPECT_FALSE(out[0].schema().find("window_closed")) << "no marker field in the records";
    out.clear();
    e.finish(out);
    EXPECT_EQ(jsonl(out), marker("2", "3")) << "the last window ends where the input did";
}

TEST(WindowEngineTest, SlidingCountWindowsCopyRecordsIntoEveryWindow) {
    WindowEngine e(count_spec(WindowType::Sliding, 3, 1));
    std::vector<Batch> out;
    e.push(values({10, 11, 12}), 0, out);
    const std::string got = jsonl(out);
    // Record 2 is in windows [0,3), [1,4) and [2,5); window [0,3) closes after it.
    EXPECT_EQ(got, "{\"v\":10,\"window_start\":0,\"window_end\":3}\n"
                   "{\"v\":11,\"window_start\":0,\"window_end\":3}\n"
                   "{\"v\":11,\"window_start\":1,\"window_end\":4}\n"
                   "{\"v\":12,\"window_start\":0,\"window_end\":3}\n"
                   "{\"v\":12,\"window_start\":1,\"window_end\":4}\n"
                   "{\"v\":12,\"window_start\":2,\"window_end\":5}\n" +
                       marker("0", "3"));
}

TEST(WindowEngineTest, ProcessingTimeWindowsCloseWhenTimePassesWithoutInput) {
    WindowSpec s;
    s.size = 10000;
    WindowEngine e(s);
    std::vector<Batch> out;
    EXPECT_FALSE(e.next_deadline());
    e.push(values({1}), kT0 + 3000, out);
    EXPECT_EQ(jsonl(out),
              "{\"v\":1,\"window_start\":" + q(kT0) + ",\"window_end\":" + q(kT0 + 10000) + "}\n");
    ASSERT_TRUE(e.next_deadline());
    EXPECT_EQ(*e.next_deadline(), kT0 + 10000);
    out.clear();
    e.advance(kT0 + 9999, out);
    EXPECT_TRUE(out.empty()) << "not yet";
    e.advance(kT0 + 10000, out);
    EXPECT_EQ(jsonl(out), marker(q(kT0), q(kT0 + 10000)));
    EXPECT_FALSE(e.next_deadline()) << "an empty window produces nothing and needs no timer";
    out.clear();
    e.advance(kT0 + 60000, out);
    EXPECT_TRUE(out.empty());
}

TEST(WindowEngineTest, ProcessingTimeRecordsArrivingLateCloseTheOldWindowFirst) {
    WindowSpec s;
    s.size = 10000;
    WindowEngine e(s);
    std::vector<Batch> out;
    e.push(values({1}), kT0 + 1000, out);
    out.clear();
    e.push(values({2}), kT0 + 12000, out); // the timer has not fired yet
    EXPECT_EQ(jsonl(out), marker(q(kT0), q(kT0 + 10000)) + "{\"v\":2,\"window_start\":" +
                              q(kT0 + 10000) + ",\"window_end\":" + q(kT0 + 20000) + "}\n");
}

TEST(WindowEngineTest, SessionsOnProcessingTimeEndAfterAGap) {
    WindowSpec s;
    s.type = WindowType::Session;
    s.gap = 5000;
    WindowEngine e(s);
    std::vector<Batch> out;
    e.push(values({1}), kT0, out);
    e.push(values({2}), kT0 + 4000, out);
    EXPECT_EQ(*e.next_deadline(), kT0 + 9000);
    e.advance(kT0 + 8999, out);
    EXPECT_EQ(jsonl(out), "{\"v\":1,\"window_start\":" + q(kT0) +
                              ",\"window_end\":null}\n"
                              "{\"v\":2,\"window_start\":" +
                              q(kT0) + ",\"window_end\":null}\n");
    out.clear();
    e.advance(kT0 + 9000, out);
    EXPECT_EQ(jsonl(out), marker(q(kT0), q(kT0 + 9000)));
}

TEST(WindowEngineTest, EventTimeReordersWithinAllowedLateness) {
    WindowEngine e(event_spec(WindowType::Tumbling, 60000, 30000));
    std::vector<Batch> out;
    e.push(at_seconds({{10, 1}, {50, 2}, {40, 3}}), 0, out);
    const std::string w0 = "\"window_start\":" + q(kT0) + ",\"window_end\":" + q(kT0 + 60000);
    EXPECT_EQ(jsonl(out), "{\"ts\":" + q(kT0 + 10000) + ",\"v\":1," + w0 + "}\n")
        << "only what the watermark (50s - 30s = 20s) has passed goes on";
    EXPECT_EQ(e.held_records(), 2u);
    out.clear();
    e.push(at_seconds({{91, 4}}), 0, out); // watermark 61s: window [0, 60s) closes
    EXPECT_EQ(jsonl(out), "{\"ts\":" + q(kT0 + 40000) + ",\"v\":3," + w0 +
                              "}\n"
                              "{\"ts\":" +
                              q(kT0 + 50000) + ",\"v\":2," + w0 + "}\n" +
                              marker(q(kT0), q(kT0 + 60000)));
}

TEST(WindowEngineTest, EventTimeRecordsBeforeTheWatermarkAreDropped) {
    std::vector<std::string> dropped;
    WindowEngine e(event_spec(WindowType::Tumbling, 60000, 10000),
                   [&](WindowEngine::Drop why, const Batch& b, std::size_t row, std::int64_t,
                       std::int64_t wm) {
                       EXPECT_EQ(why, WindowEngine::Drop::Late);
                       EXPECT_EQ(wm, kT0 + 90000);
                       dropped.push_back(std::to_string(b.at(row, 1).as_int()));
                   });
    std::vector<Batch> out;
    e.push(at_seconds({{100, 1}, {95, 2}, {80, 3}, {90, 4}}), 0, out);
    EXPECT_EQ(dropped, std::vector<std::string>{"3"}) << "90s is the watermark itself: not late";
    EXPECT_EQ(e.late_records(), 1u);
    e.finish(out);
    const std::string w =
        "\"window_start\":" + q(kT0 + 60000) + ",\"window_end\":" + q(kT0 + 120000);
    EXPECT_EQ(jsonl(out), "{\"ts\":" + q(kT0 + 90000) + ",\"v\":4," + w +
                              "}\n"
                              "{\"ts\":" +
                              q(kT0 + 95000) + ",\"v\":2," + w +
                              "}\n"
                              "{\"ts\":" +
                              q(kT0 + 100000) + ",\"v\":1," + w + "}\n" +
                              marker(q(kT0 + 60000), q(kT0 + 120000)));
}

TEST(WindowEngineTest, HeldRecordsStayBoundedWhenTimestampsStopAdvancing) {
    WindowSpec s = event_spec(WindowType::Tumbling, 60000, 30000);
    s.max_held = 8;
    WindowEngine e(s);
    std::vector<Batch> out;
    std::size_t rows = 0;
    for (int i = 0; i < 100; ++i) {
        e.push(at_seconds({{5, i}}), 0, out); // the same time, forever
        EXPECT_LE(e.held_records(), 8u);
    }
    for (const Batch& b : out)
        rows += b.rows();
    EXPECT_GE(rows, 92u) << "the oldest went on early";
    EXPECT_GT(e.forced_releases(), 0u);
    EXPECT_EQ(e.late_records(), 0u) << "records at the forced watermark are not late";
    out.clear();
    e.finish(out);
    std::size_t closes = 0;
    for (const Batch& b : out)
        closes += b.infos().size();
    EXPECT_GE(closes, 1u) << "the window closes at the end";
}

TEST(WindowEngineTest, RecordsWithoutATimestampAreDroppedNotFatal) {
    int calls = 0;
    WindowEngine e(
        event_spec(WindowType::Tumbling, 60000, 0),
        [&](WindowEngine::Drop why, const Batch&, std::size_t, std::int64_t, std::int64_t) {
            EXPECT_EQ(why, WindowEngine::Drop::NoTimestamp);
            ++calls;
        });
    std::vector<Batch> out;
    e.push(batch_from_json(
               {"{\"ts\":\"yesterday\"}", "{\"v\":1}", "{\"ts\":null}", "{\"ts\":1714564800}"}),
           0, out);
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(e.untimed_records(), 3u);
    e.finish(out);
    EXPECT_NE(jsonl(out).find(marker(q(kT0), q(kT0 + 60000))), std::string::npos)
        << "epoch seconds are a timestamp";
}

TEST(WindowEngineTest, SessionsOnEventTimeMergeOutOfOrderRecords) {
    WindowSpec s = event_spec(WindowType::Session, 0, 20000);
    s.gap = 10000;
    WindowEngine e(s);
    std::vector<Batch> out;
    // 0s, 15s and 7s: 7s bridges the gap between 0s and 15s, so one session.
    e.push(at_seconds({{0, 1}, {15, 2}, {7, 3}, {60, 4}}), 0, out);
    e.finish(out);
    const std::string got = jsonl(out);
    EXPECT_NE(got.find(marker(q(kT0), q(kT0 + 25000))), std::string::npos) << got;
    EXPECT_NE(got.find(marker(q(kT0 + 60000), q(kT0 + 70000))), std::string::npos) << got;
    EXPECT_EQ(std::count(got.begin(), got.end(), '\n'), 6);
}

TEST(WindowEngineTest, SlidingEventTimeWindows) {
    WindowSpec s = event_spec(WindowType::Sliding, 60000, 0);
    s.slide = 30000;
    WindowEngine e(s);
    std::vector<Batch> out;
    e.push(at_seconds({{45, 1}}), 0, out);
    e.finish(out);
    const std::string got = jsonl(out);
    EXPECT_NE(got.find(marker(q(kT0), q(kT0 + 60000))), std::string::npos) << got;
    EXPECT_NE(got.find(marker(q(kT0 + 30000), q(kT0 + 90000))), std::string::npos) << got;
}

TEST(WindowEngineTest, ExistingWindowFieldsAreReplacedAndSchemasMayDiffer) {
    WindowEngine e(count_spec(WindowType::Tumbling, 10));
    std::vector<Batch> out;
    e.push(batch_from_json({"{\"window_start\":\"old\",\"a\":1}"}), 0, out);
    e.push(batch_from_json({"{\"b\":2}"}), 0, out);
    e.finish(out);
    EXPECT_EQ(jsonl(out), "{\"a\":1,\"window_start\":0,\"window_end\":10}\n"
                          "{\"b\":2,\"window_start\":0,\"window_end\":10}\n" +
                              marker("0", "2"));
}

// How the input is cut into batches never changes the output (nor which records are late).
TEST(WindowEngineTest, BatchBoundariesDoNotChangeTheOutcome) {
    std::mt19937 rng(7);
    std::vector<std::string> records;
    for (int i = 0; i < 400; ++i) {
        const int sec = i * 3 + static_cast<int>(rng() % 40) - 20; // out of order by up to 40s
        records.push_back("{\"ts\":" + std::to_string(kT0 / 1000 + sec) +
                          ",\"i\":" + std::to_string(i) + "}");
    }
    auto run = [&records](std::size_t batch) {
        WindowSpec s = event_spec(WindowType::Sliding, 60000, 15000);
        s.slide = 20000;
        WindowEngine e(s);
        std::vector<Batch> out;
        for (std::size_t i = 0; i < records.size(); i += batch) {
            std::vector<std::string> part(
                records.begin() + static_cast<long>(i),
                records.begin() + static_cast<long>(std::min(records.size(), i + batch)));
            e.push(batch_from_json(part), 0, out);
        }
        e.finish(out);
        return jsonl(out) + "late=" + std::to_string(e.late_records());
    };
    const std::string one = run(1);
    EXPECT_NE(one.find("late="), std::string::npos);
    EXPECT_EQ(run(7), one);
    EXPECT_EQ(run(400), one);
}

/// Output rows across batches.
/// Records plus window closes (each close counts as one, as its marker record used to).
std::size_t rows_of(const std::vector<Batch>& out) {
    std::size_t n = 0;
    for (const Batch& b : out)
        n += b.rows() + b.infos().size();
    return n;
}

/// {"ts":N} records (epoch milliseconds).
Batch at_ms(std::initializer_list<std::int64_t> times) {
    std::vector<std::string> objs;
    for (std::int64_t t : times)
        objs.push_back("{\"ts\":" + std::to_string(t) + "}");
    return batch_from_json(objs);
}

/// Sliding windows on event time (epoch milliseconds) holding each record in exactly
/// kMaxWindowsPerRecord windows: size 10000 s, slide 1 s.
WindowSpec sliding_at_the_limit() {
    WindowSpec s = event_spec(WindowType::Sliding, kMaxWindowsPerRecord * 1000, 0);
    s.slide = 1000;
    s.epoch_unit = EpochUnit::Milliseconds;
    return s;
}

// Issue 13: placing a record scanned every open window for each of its windows (quadratic in
// size / slide). At the limit, 50 records in 10,000 windows each must take well under the
// generous bound below (a fraction of a second); before the fix it took minutes.
TEST(WindowEngineTest, SlidingWindowsAtTheLimitPlaceRecordsInLinearTime) {
    WindowEngine e(sliding_at_the_limit());
    std::vector<Batch> out;
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::string> objs;
    for (int i = 0; i < 50; ++i)
        objs.push_back("{\"ts\":" + std::to_string(kT0 + i * 1000) + "}");
    e.push(batch_from_json(objs), 0, out);
    e.finish(out);
    const auto took = std::chrono::steady_clock::now() - started;
    // Every record in 10,000 windows; windows starting from kT0 - 9999 s to kT0 + 49 s close.
    EXPECT_EQ(rows_of(out), 50u * 10000u + 10049u);
    EXPECT_LT(took, std::chrono::seconds(20));
    // The windows of the last record, in order of start, then the markers in that order.
    const std::string got = jsonl(out);
    EXPECT_NE(got.find(marker(q(kT0 - 9999000), q(kT0 + 1000))), std::string::npos);
    EXPECT_NE(got.find(marker(q(kT0 + 49000), q(kT0 + 10049000))), std::string::npos);
}

// A cancelled run must not wait for a batch whose records each fill 10,000 windows: the engine
// asks its interrupt every few thousand rows and gives up.
TEST(WindowEngineTest, AnInterruptStopsTheEngineWithinAFewThousandRows) {
    WindowEngine e(sliding_at_the_limit());
    int asked = 0;
    e.set_interrupt([&asked] { return ++asked >= 2; });
    std::vector<Batch> out;
    std::vector<std::string> objs;
    for (int i = 0; i < 100; ++i) // a million output rows if it went on
        objs.push_back("{\"ts\":" + std::to_string(kT0 + i * 1000) + "}");
    e.push(batch_from_json(objs), 0, out);
    EXPECT_TRUE(e.interrupted());
    EXPECT_EQ(asked, 2);
    EXPECT_LE(rows_of(out), 2u * 4096u);
    const std::size_t before = rows_of(out);
    e.finish(out);
    e.push(at_ms({kT0}), 0, out);
    EXPECT_EQ(rows_of(out), before) << "an interrupted engine does nothing more";
}

TEST(WindowEngineTest, AnInterruptAlsoStopsClosingManyWindowsAtTheEnd) {
    WindowEngine e(sliding_at_the_limit());
    std::vector<Batch> out;
    e.push(at_ms({kT0}), 0, out); // 10,000 open windows
    bool stop = false;
    e.set_interrupt([&stop] { return stop; });
    stop = true;
    out.clear();
    e.finish(out);
    EXPECT_TRUE(e.interrupted());
    EXPECT_LE(rows_of(out), 4096u) << "not 10,000 markers";
}

/// Pushes `batch` to a fresh engine for `spec` and returns the records it refused as out of
/// range (their row numbers) and the output.
struct RangeOutcome {
    std::vector<std::size_t> refused;
    std::string out;
};
RangeOutcome push_times(const WindowSpec& spec, Batch batch) {
    RangeOutcome r;
    WindowEngine e(spec, [&r](WindowEngine::Drop why, const Batch&, std::size_t row, std::int64_t,
                              std::int64_t) {
        EXPECT_EQ(why, WindowEngine::Drop::OutOfRange);
        r.refused.push_back(row);
    });
    std::vector<Batch> out;
    e.push(std::move(batch), 0, out);
    e.finish(out);
    EXPECT_EQ(e.out_of_range_records(), r.refused.size());
    r.out = jsonl(out);
    return r;
}

// Issue 13: a timestamp near INT64_MAX made start + size overflow (UBSan; window_end before
// window_start, exit 0). Times outside 0000..9999, or whose windows would reach outside, are
// refused (the stage makes them record errors); the others go on.
TEST(WindowEngineTest, TimesOutOfRangeAreRefusedNotOverflowed) {
    WindowSpec tumbling = event_spec(WindowType::Tumbling, 60000, 0);
    tumbling.epoch_unit = EpochUnit::Milliseconds;
    const std::int64_t max = std::numeric_limits<std::int64_t>::max();
    const std::int64_t min = std::numeric_limits<std::int64_t>::min();
    // In time order among those accepted (lateness 0).
    RangeOutcome r =
        push_times(tumbling, at_ms({max, min, max - 1, min + 1, kMinTimeMs - 1, kMinTimeMs, -1, kT0,
                                    kMaxTimeMs - 60000, kMaxTimeMs}));
    // kMaxTimeMs's window would end after 9999-12-31T23:59:59.999Z; kMaxTimeMs - 1 min's
    // does not, barely.
    EXPECT_EQ(r.refused, (std::vector<std::size_t>{0, 1, 2, 3, 4, 9}));
    EXPECT_NE(r.out.find("{\"ts\":" + std::to_string(kMaxTimeMs - 60000) +
                         ",\"window_start\":\"9999-12-31T23:58:00Z\",\"window_end\":"
                         "\"9999-12-31T23:59:00Z\"}"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("{\"ts\":" + std::to_string(kMinTimeMs) +
                         ",\"window_start\":\"0000-01-01T00:00:00Z\",\"window_end\":"
                         "\"0000-01-01T00:01:00Z\"}"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("{\"ts\":-1,\"window_start\":\"1969-12-31T23:59:00Z\",\"window_end\":"
                         "\"1970-01-01T00:00:00Z\"}"),
              std::string::npos)
        << "negative times align down: " << r.out;

    // Sliding: the first window of a time near the start of year 0 would start before it.
    WindowSpec sliding = tumbling;
    sliding.type = WindowType::Sliding;
    sliding.slide = 30000;
    EXPECT_EQ(push_times(sliding, at_ms({kMinTimeMs, kMinTimeMs + 30000})).refused,
              (std::vector<std::size_t>{0}));

    // Sessions: the session's end, last time + gap, must stay in range too.
    WindowSpec session = event_spec(WindowType::Session, 0, 0);
    session.gap = 1000;
    session.epoch_unit = EpochUnit::Milliseconds;
    EXPECT_EQ(push_times(session, at_ms({max, kMaxTimeMs, kMaxTimeMs - 1000})).refused,
              (std::vector<std::size_t>{0, 1}));
}

TEST(WindowEngineTest, HugeEpochNumbersAndFarFutureDatesAreOutOfRangeNotMissing) {
    WindowSpec s = event_spec(WindowType::Tumbling, 60000, 0); // epoch seconds
    RangeOutcome r = push_times(
        s, batch_from_json(
               {"{\"ts\":9223372036854775807}",  // * 1000 overflows
                "{\"ts\":-9223372036854775808}", // likewise, downward
                "{\"ts\":9223372036854775}",     // * 1000 fits, beyond 9999
                "{\"ts\":1e300}", "{\"ts\":-1e300}", "{\"ts\":\"+275760-09-13T00:00:00Z\"}",
                "{\"ts\":\"-001000-01-01T00:00:00Z\"}", "{\"ts\":\"10000-01-01T00:00:00Z\"}",
                "{\"ts\":\"0000-01-01T00:00:00+01:00\"}", // before year 0 in UTC
                "{\"ts\":1714564800}", "{\"ts\":\"9999-12-31T23:58:59Z\"}"})); // in range
    EXPECT_EQ(r.refused, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_NE(r.out.find(marker(q(kT0), q(kT0 + 60000))), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"window_end\":\"9999-12-31T23:59:00Z\""), std::string::npos) << r.out;
}

TEST(WindowEngineTest, ProcessingTimeOutOfRangeIsRefused) {
    WindowSpec s;
    s.size = 60000;
    int refused = 0;
    WindowEngine e(s, [&refused](WindowEngine::Drop why, const Batch&, std::size_t, std::int64_t ts,
                                 std::int64_t) {
        EXPECT_EQ(why, WindowEngine::Drop::OutOfRange);
        EXPECT_EQ(ts, std::numeric_limits<std::int64_t>::max());
        ++refused;
    });
    std::vector<Batch> out;
    e.push(values({1, 2}), std::numeric_limits<std::int64_t>::max(), out);
    EXPECT_EQ(refused, 2);
    EXPECT_TRUE(out.empty());
}

// The watermark is the latest time minus allowed_lateness: no overflow for any lateness.
TEST(WindowEngineTest, AHugeLatenessSaturatesTheWatermark) {
    WindowSpec s =
        event_spec(WindowType::Tumbling, 60000, std::numeric_limits<std::int64_t>::max());
    s.epoch_unit = EpochUnit::Milliseconds;
    WindowEngine e(s);
    std::vector<Batch> out;
    e.push(at_ms({-5000, kMinTimeMs + 5000}), 0, out);
    EXPECT_TRUE(out.empty()) << "held: nothing is ever behind the watermark";
    ASSERT_TRUE(e.watermark());
    EXPECT_EQ(*e.watermark(), std::numeric_limits<std::int64_t>::min());
    e.finish(out);
    EXPECT_EQ(rows_of(out), 4u);
}

// Count windows: k * slide + size used to overflow for a huge size.
TEST(WindowEngineTest, CountWindowEndsSaturateInsteadOfOverflowing) {
    WindowEngine e(count_spec(WindowType::Sliding, std::numeric_limits<std::int64_t>::max(), 1));
    std::vector<Batch> out;
    e.push(values({1, 2}), 0, out);
    const std::string max = std::to_string(std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(jsonl(out), "{\"v\":1,\"window_start\":0,\"window_end\":" + max +
                              "}\n"
                              "{\"v\":2,\"window_start\":0,\"window_end\":" +
                              max +
                              "}\n"
                              "{\"v\":2,\"window_start\":1,\"window_end\":" +
                              max + "}\n");
    out.clear();
    e.finish(out);
    EXPECT_EQ(jsonl(out), marker("0", "2") + marker("1", "2"));
}

TEST(TimeTextTest, Durations) {
    EXPECT_EQ(parse_duration_ms("250ms"), 250);
    EXPECT_EQ(parse_duration_ms("10s"), 10000);
    EXPECT_EQ(parse_duration_ms("5m"), 300000);
    EXPECT_EQ(parse_duration_ms("2h"), 7200000);
    EXPECT_EQ(parse_duration_ms("1d"), 86400000);
    EXPECT_EQ(parse_duration_ms("0s"), 0);
    EXPECT_FALSE(parse_duration_ms("10"));
    EXPECT_FALSE(parse_duration_ms("1.5s"));
    EXPECT_FALSE(parse_duration_ms("-1s"));
    EXPECT_FALSE(parse_duration_ms("s"));
    EXPECT_FALSE(parse_duration_ms("10 s"));
}

TEST(TimeTextTest, Rfc3339) {
    EXPECT_EQ(parse_rfc3339_ms("2024-05-01T12:00:00Z"), kT0);
    EXPECT_EQ(parse_rfc3339_ms("2024-05-01 12:00:00"), kT0);
    EXPECT_EQ(parse_rfc3339_ms("2024-05-01T14:00:00.250+02:00"), kT0 + 250);
    EXPECT_EQ(parse_rfc3339_ms("2024-05-01T11:30:00.1234-00:30"), kT0 + 123);
    EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59Z"), -1000);
    EXPECT_FALSE(parse_rfc3339_ms("2024-05-01"));
    EXPECT_FALSE(parse_rfc3339_ms("2024-13-01T00:00:00Z"));
    EXPECT_FALSE(parse_rfc3339_ms("2024-05-01T12:00:00Zjunk"));
    EXPECT_EQ(format_rfc3339(kT0), "2024-05-01T12:00:00Z");
    EXPECT_EQ(format_rfc3339(kT0 + 5), "2024-05-01T12:00:00.005Z");
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    for (std::int64_t ms : {std::int64_t{0}, kT0, kT0 + 999, std::int64_t{951782400000}})
        EXPECT_EQ(parse_rfc3339_ms(format_rfc3339(ms)), ms) << ms;
}

TEST(TimeTextTest, Timestamps) {
    EXPECT_EQ(timestamp_ms(Value::integer(1714564800), EpochUnit::Seconds), kT0);
    EXPECT_EQ(timestamp_ms(Value::integer(kT0), EpochUnit::Milliseconds), kT0);
    EXPECT_EQ(timestamp_ms(Value::real(1714564800.5), EpochUnit::Seconds), kT0 + 500);
    EXPECT_FALSE(timestamp_ms(Value::null(), EpochUnit::Seconds));
    EXPECT_FALSE(timestamp_ms(Value::boolean(true), EpochUnit::Seconds));
}

TEST(TimeTextTest, TimestampsTellOutOfRangeFromNotATime) {
    using S = Timestamp::Status;
    const std::int64_t max = std::numeric_limits<std::int64_t>::max();
    const std::int64_t min = std::numeric_limits<std::int64_t>::min();
    auto status = [](const Value& v, EpochUnit unit = EpochUnit::Seconds) {
        return read_timestamp(v, unit).status;
    };
    EXPECT_EQ(status(Value::integer(max)), S::OutOfRange);
    EXPECT_EQ(status(Value::integer(min)), S::OutOfRange);
    EXPECT_EQ(status(Value::integer(max / 1000)), S::OutOfRange);
    EXPECT_EQ(status(Value::integer(max), EpochUnit::Milliseconds), S::OutOfRange);
    EXPECT_EQ(status(Value::integer(min), EpochUnit::Milliseconds), S::OutOfRange);
    EXPECT_EQ(status(Value::integer(kMaxTimeMs), EpochUnit::Milliseconds), S::Ok);
    EXPECT_EQ(status(Value::integer(kMaxTimeMs + 1), EpochUnit::Milliseconds), S::OutOfRange);
    EXPECT_EQ(status(Value::integer(kMinTimeMs), EpochUnit::Milliseconds), S::Ok);
    EXPECT_EQ(status(Value::integer(kMinTimeMs - 1), EpochUnit::Milliseconds), S::OutOfRange);
    EXPECT_EQ(status(Value::real(9.3e18)), S::OutOfRange);
    EXPECT_EQ(status(Value::real(-9.3e18), EpochUnit::Milliseconds), S::OutOfRange);
    EXPECT_EQ(status(Value::string("+275760-09-13T00:00:00Z")), S::OutOfRange);
    EXPECT_EQ(status(Value::string("12024-05-01T12:00:00Z")), S::OutOfRange);
    EXPECT_EQ(status(Value::string("9999-12-31T23:59:59.999Z")), S::Ok);
    EXPECT_EQ(status(Value::string("9999-12-31T23:59:59-00:01")), S::OutOfRange);
    EXPECT_EQ(status(Value::string("-000001-12-31T00:00:00Z")), S::OutOfRange);
    EXPECT_EQ(status(Value::string("+2024-05-01T12:00:00Z")), S::NotATime) << "in range";
    EXPECT_EQ(status(Value::string("+10000-05-01")), S::NotATime) << "no time of day";
    EXPECT_EQ(status(Value::string("120240501")), S::NotATime);
    EXPECT_EQ(status(Value::null()), S::NotATime);
    EXPECT_EQ(format_rfc3339(kMinTimeMs), "0000-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(kMaxTimeMs), "9999-12-31T23:59:59.999Z");
    EXPECT_EQ(parse_rfc3339_ms("0000-01-01T00:00:00Z"), kMinTimeMs);
}

} // namespace
} // namespace conveyor::plugins::window
