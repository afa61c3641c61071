#include "conveyor/core/arena.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/obs/summary.hpp"

#include <gtest/gtest.h>

namespace conveyor::obs {
namespace {

RunStats sample_stats() {
    RunStats s;
    s.pipeline = "orders";
    s.file = "orders.toml";
    s.executor = "dag";
    s.started_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
    s.wall_seconds = 2.5;
    s.finished = true;
    s.status = "ok";
    StageStats load;
    load.id = "load";
    load.function = "csv.read";
    load.source = true;
    load.state = StageState::Done;
    load.records_out = 1234567;
    load.bytes_read = 3 * 1024 * 1024;
    load.bytes_total = 3 * 1024 * 1024;
    load.busy_seconds = 1.25;
    load.active_seconds = 2.0;
    StageStats save;
    save.id = "save";
    save.function = "json.write";
    save.sink = true;
    save.state = StageState::Done;
    save.records_in = 1234567;
    save.bytes_written = 512;
    save.active_seconds = 2.0;
    s.stages = {load, save};
    return s;
}

TEST(Summary, NumberFormats) {
    EXPECT_EQ(group_thousands(0), "0");
    EXPECT_EQ(group_thousands(999), "999");
    EXPECT_EQ(group_thousands(1000), "1,000");
    EXPECT_EQ(group_thousands(65957), "65,957");
    EXPECT_EQ(group_thousands(1234567), "1,234,567");
    EXPECT_EQ(human_bytes(512), "512 B");
    EXPECT_EQ(human_bytes(1536), "1.5 KiB");
    EXPECT_EQ(human_bytes(std::uint64_t{3} << 30), "3.0 GiB");
    EXPECT_EQ(human_seconds(0.4213), "0.42 s");
    EXPECT_EQ(human_seconds(65), "1m05s");
    EXPECT_EQ(human_seconds(7380), "2h03m");
    EXPECT_EQ(human_count(950), "950");
    EXPECT_EQ(human_count(12345), "12.3k");
    EXPECT_EQ(human_count(4560000), "4.56M");
    EXPECT_EQ(rfc3339_utc(
                  std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123))),
              "2023-11-14T22:13:20.123Z");
}

TEST(Summary, TableHasARowPerStageAndTheWallTime) {
    const std::string t = render_summary_table(sample_stats(), false);
    EXPECT_EQ(t, "stage  function           in        out    bytes    busy   rec/s\n"
                 "load   csv.read            -  1,234,567  3.0 MiB  1.25 s  617.3k\n"
                 "save   json.write  1,234,567          -    512 B  0.00 s  617.3k\n"
                 "total 2.50 s wall time, pipeline 'orders' ok\n");
    EXPECT_EQ(t.find('\x1b'), std::string::npos) << "no colour unless asked";
}

TEST(Summary, TableShowsFailureColumnsOnlyWhenSomeStageHasThem) {
    RunStats s = sample_stats();
    s.stages[1].records_failed = 3;
    s.stages[1].records_dead_lettered = 2;
    s.stages[1].retries = 7;
    s.status = "failed";
    s.stages[1].state = StageState::Failed;
    const std::string t = render_summary_table(s, true);
    EXPECT_NE(t.find("failed"), std::string::npos);
    EXPECT_NE(t.find("dead-lettered"), std::string::npos);
    EXPECT_NE(t.find("retries"), std::string::npos);
    EXPECT_EQ(t.find("filtered"), std::string::npos);
    EXPECT_NE(t.find("\x1b[31m"), std::string::npos) << "a failed stage is red";
    EXPECT_NE(t.find("pipeline 'orders' failed"), std::string::npos);
}

TEST(Summary, TableEndsWithTheStagesWarnings) {
    RunStats s = sample_stats();
    s.stages[0].warnings.push_back({"field 'amout' did not appear", "", 1});
    const std::string t = render_summary_table(s, false);
    EXPECT_NE(t.find("save   json.write  1,234,567          -    512 B  0.00 s  617.3k\n"
                     "warning: stage 'load': field 'amout' did not appear\n"
                     "total 2.50 s wall time"),
              std::string::npos)
        << t;
    EXPECT_NE(render_summary_table(s, true).find("\x1b[33mwarning\x1b[0m: stage 'load'"),
              std::string::npos);
}

TEST(Summary, StatsJsonFollowsTheDocumentedSchema) {
    RunStats s = sample_stats();
    s.stages[1].error = "stage 'save': disk \"full\"";
    s.stages[1].warnings.push_back({"field \"x\" did not appear", "", 1});
    const std::string text = render_stats_json(s);
    Arena arena;
    json::Parser parser;
    Result<Value> doc = parser.parse(text, arena);
    ASSERT_TRUE(doc) << doc.error().to_string() << "\n" << text;
    const Value& v = *doc;
    EXPECT_EQ(v.find("schema_version")->as_int(), 1);
    EXPECT_EQ(v.find("pipeline")->as_string(), "orders");
    EXPECT_EQ(v.find("executor")->as_string(), "dag");
    EXPECT_EQ(v.find("started_at")->as_string(), "2023-11-14T22:13:20.123Z");
    EXPECT_DOUBLE_EQ(v.find("wall_seconds")->as_double(), 2.5);
    EXPECT_EQ(v.find("status")->as_string(), "ok");
    EXPECT_EQ(v.find("exit_code")->as_int(), 0);
    EXPECT_EQ(v.find("error")->kind(), Kind::Null);
    const auto stages = v.find("stages")->as_array();
    ASSERT_EQ(stages.size(), 2u);
    const Value& load = stages[0];
    EXPECT_EQ(load.find("id")->as_string(), "load");
    EXPECT_EQ(load.find("role")->as_string(), "source");
    EXPECT_EQ(load.find("state")->as_string(), "done");
    EXPECT_EQ(load.find("records")->find("out")->as_int(), 1234567);
    EXPECT_EQ(load.find("bytes")->find("input_size")->as_int(), 3 * 1024 * 1024);
    EXPECT_DOUBLE_EQ(load.find("records_per_second")->as_double(), 617283.5);
    const Value& save = stages[1];
    EXPECT_EQ(save.find("role")->as_string(), "sink");
    EXPECT_EQ(save.find("bytes")->find("input_size")->kind(), Kind::Null);
    EXPECT_EQ(save.find("error")->as_string(), "stage 'save': disk \"full\"");
    EXPECT_EQ(load.find("warnings")->as_array().size(), 0u);
    const auto warnings = save.find("warnings")->as_array();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].as_string(), "field \"x\" did not appear");
    EXPECT_EQ(v.find("totals")->find("bytes_written")->as_int(), 512);
}

TEST(Summary, StatsJsonOfAPipelineWithoutStagesIsStillValid) {
    RunStats s;
    s.pipeline = "empty";
    Arena arena;
    json::Parser parser;
    EXPECT_TRUE(parser.parse(render_stats_json(s), arena));
}

TEST(StageStats, ATransformsRateCountsRecordsItFinishedNotRecordsItHolds) {
    // http.fetch under dag: it took 400 records at once, 350 still wait for responses.
    StageStats fetch;
    fetch.id = "fetch";
    fetch.records_in = 400;
    fetch.records_pending = 350;
    fetch.active_seconds = 2.0;
    EXPECT_EQ(fetch.records_handled(), 50u);
    EXPECT_DOUBLE_EQ(fetch.records_per_second(), 25.0);
    fetch.records_pending = 0; // all settled
    EXPECT_DOUBLE_EQ(fetch.records_per_second(), 200.0);
}

} // namespace
} // namespace conveyor::obs
