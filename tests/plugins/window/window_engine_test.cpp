// WindowEngine with made-up times: no clock, no waiting. Output is rendered as JSON lines;
// markers are the lines with "window_closed":true.

#include "support/stage_harness.hpp"
#include "window_engine.hpp"

#include <gtest/gtest.h>
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
    return "{\"window_start\":" + start + ",\"window_end\":" + end + ",\"window_closed\":true}\n";
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
    EXPECT_EQ(out.size(), 1u) << "one output batch per input batch";
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
    rows = 0;
    for (const Batch& b : out)
        rows += b.rows();
    EXPECT_GE(rows, 1u);
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

} // namespace
} // namespace conveyor::plugins::window
