// Live metrics: /metrics is scraped while a run is blocked on its input (stdin, fed by the
// test), then the final numbers land in --metrics-textfile and --stats-json.

#include "../unit/obs/http_get.hpp"
#include "../unit/obs/prometheus_text.hpp"
#include "../unit/obs/spawn.hpp"
#include "conveyor/core/arena.hpp"
#include "conveyor/format/json_parser.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <regex>

namespace conveyor {
namespace {

using test::Spawned;
using test::TempDir;
using ::testing::HasSubstr;

constexpr const char* kPipeline = R"([pipeline]
name = "live"

[global]
executor = "channel"
channel_buffer_size = 50

[[stages]]
id = "load"
function = "json.read"
[stages.config]
path = "-"
format = "jsonl"

[[stages]]
id = "big"
function = "filter.apply"
inputs = ["load"]
[stages.config]
column = "n"
operator = ">="
value = 2

[[stages]]
id = "save"
function = "json.write"
inputs = ["big"]
[stages.config]
path = "out.jsonl"
)";

const std::string kLabels = "pipeline=\"live\",stage=";

/// Scrapes until `ready` holds for the parsed text, or the deadline passes (each round is a
/// full HTTP exchange; no sleeping).
std::optional<test::PromText> scrape_until(unsigned short port,
                                           const std::function<bool(const test::PromText&)>& ready,
                                           std::string& last) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < end) {
        auto r = test::http_request(port, "GET", "/metrics");
        if (!r || r->status != 200) continue;
        last = r->body;
        test::PromText p = test::parse_prometheus(r->body);
        if (!p.error.empty()) return p;
        if (ready(p)) return p;
    }
    return std::nullopt;
}

TEST(ObserveMetrics, EndpointServesLiveCountersDuringTheRunAndFilesGetTheFinalOnes) {
    TempDir dir;
    dir.write("p.toml", kPipeline);
    Spawned::Options o;
    o.cwd = dir.path();
    Spawned run({"run", "p.toml", "--metrics-addr", "127.0.0.1:0", "--metrics-textfile",
                 "metrics/live.prom", "--stats-json", "stats.json"},
                o);
    ASSERT_TRUE(run.started());
    ASSERT_TRUE(run.wait_for_stderr("/metrics\n", std::chrono::seconds(20))) << run.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(run.err, m, std::regex(R"(http://127\.0\.0\.1:(\d+)/metrics)")))
        << run.err;
    const auto port = static_cast<unsigned short>(std::stoi(m[1]));

    // The source is blocked on stdin: the run is live. Feed part of the input and watch the
    // counters move.
    const std::string part = "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n";
    run.write_stdin(part);
    std::string last;
    auto live = scrape_until(
        port,
        [&](const test::PromText& p) {
            // json.read reads its first record while opening; then the run starts and the source
            // waits on stdin for more, running.
            auto read = p.value("conveyor_bytes_read_total{" + kLabels + "\"load\"}");
            auto running =
                p.value("conveyor_stage_state{" + kLabels + "\"load\",state=\"running\"}");
            return read && *read >= static_cast<double>(part.size()) && running == 1.0;
        },
        last);
    ASSERT_TRUE(live) << "the source never showed as running with its bytes read; last scrape:\n"
                      << last;
    ASSERT_EQ(live->error, "") << last;
    EXPECT_EQ(live->value("conveyor_channel_capacity_records{" + kLabels + "\"big\"}"), 50);
    EXPECT_TRUE(live->value("conveyor_channel_records{" + kLabels + "\"save\"}"));
    EXPECT_TRUE(live->value("conveyor_records_in_total{" + kLabels + "\"save\"}"));
    EXPECT_TRUE(live->value("conveyor_run_duration_seconds{pipeline=\"live\"}"));
    EXPECT_FALSE(live->value("conveyor_run_exit_code{pipeline=\"live\"}")) << "not ended yet";
    EXPECT_EQ(live->types.at("conveyor_records_out_total"), "counter");

    run.write_stdin("{\"n\":4}\n");
    run.close_stdin();
    ASSERT_EQ(run.wait(), 0) << run.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")), "{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");

    // Final metrics, for node_exporter's textfile collector: written atomically, no temp files.
    EXPECT_EQ(test::list_dir(dir.file("metrics")), std::vector<std::string>{"live.prom"});
    const std::string text = test::read_file(dir.file("metrics/live.prom"));
    const test::PromText fin = test::parse_prometheus(text);
    ASSERT_EQ(fin.error, "") << text;
    EXPECT_EQ(fin.value("conveyor_records_out_total{" + kLabels + "\"load\"}"), 4);
    EXPECT_EQ(fin.value("conveyor_records_filtered_total{" + kLabels + "\"big\"}"), 1);
    EXPECT_EQ(fin.value("conveyor_records_in_total{" + kLabels + "\"save\"}"), 3);
    EXPECT_EQ(fin.value("conveyor_stage_state{" + kLabels + "\"save\",state=\"done\"}"), 1);
    EXPECT_EQ(fin.value("conveyor_run_exit_code{pipeline=\"live\"}"), 0);
    EXPECT_EQ(fin.value("conveyor_run_success{pipeline=\"live\"}"), 1);
    EXPECT_GE(*fin.value("conveyor_run_end_time_seconds{pipeline=\"live\"}"),
              *fin.value("conveyor_run_start_time_seconds{pipeline=\"live\"}"));

    // The same numbers as JSON.
    const std::string json = test::read_file(dir.file("stats.json"));
    Arena arena;
    json::Parser parser;
    Result<Value> doc = parser.parse(json, arena);
    ASSERT_TRUE(doc) << json;
    EXPECT_EQ(doc->find("status")->as_string(), "ok");
    EXPECT_EQ(doc->find("pipeline")->as_string(), "live");
    EXPECT_EQ(doc->find("executor")->as_string(), "channel");
    const auto stages = doc->find("stages")->as_array();
    ASSERT_EQ(stages.size(), 3u);
    EXPECT_EQ(stages[0].find("records")->find("out")->as_int(), 4);
    EXPECT_EQ(stages[0].find("bytes")->find("read")->as_int(),
              static_cast<std::int64_t>(part.size() + 8));
    EXPECT_EQ(stages[1].find("records")->find("filtered")->as_int(), 1);
    EXPECT_EQ(stages[2].find("role")->as_string(), "sink");
    EXPECT_GT(stages[2].find("bytes")->find("written")->as_int(), 0);
}

TEST(ObserveMetrics, AFailedRunStillLeavesItsMetricsAndStats) {
    TempDir dir;
    std::string p = kPipeline;
    p.replace(p.find("path = \"-\""), 10, "path = \"missing.jsonl\"");
    dir.write("p.toml", p);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor(
        {"run", "p.toml", "-q", "--metrics-textfile", "m.prom", "--stats-json", "s.json"}, o);
    EXPECT_EQ(r.exit_code, 66) << r.err;
    const test::PromText fin = test::parse_prometheus(test::read_file(dir.file("m.prom")));
    ASSERT_EQ(fin.error, "");
    EXPECT_EQ(fin.value("conveyor_run_exit_code{pipeline=\"live\"}"), 66);
    EXPECT_EQ(fin.value("conveyor_run_success{pipeline=\"live\"}"), 0);
    const std::string s = test::read_file(dir.file("s.json"));
    EXPECT_THAT(s, HasSubstr("\"status\":\"failed\""));
    EXPECT_THAT(s, HasSubstr("\"exit_code\":66"));
    EXPECT_THAT(s, HasSubstr("missing.jsonl"));
}

TEST(ObserveMetrics, BadAddressIsAUsageErrorAndRunsNothing) {
    TempDir dir;
    dir.write("p.toml", kPipeline);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor({"run", "p.toml", "--metrics-addr", "example.com:80"}, o);
    EXPECT_EQ(r.exit_code, 64);
    EXPECT_THAT(r.err, HasSubstr("--metrics-addr 'example.com:80'"));
    EXPECT_FALSE(test::file_exists(dir.file("out.jsonl")));
}

TEST(ObserveMetrics, TextfileWithoutPromSuffixIsWrittenWithAWarning) {
    TempDir dir;
    dir.write("in.jsonl", "{\"n\":5}\n");
    std::string p = kPipeline;
    p.replace(p.find("path = \"-\""), 10, "path = \"in.jsonl\"");
    dir.write("p.toml", p);
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor({"run", "p.toml", "-q", "--metrics-textfile", "m.txt"}, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr(".prom"));
    EXPECT_TRUE(test::file_exists(dir.file("m.txt")));
}

TEST(ObserveMetrics, BytesReadOfAChunkedReadWithRecordErrorsIsTheFileSize) {
    // csv.read and json.read on two workers in small chunks, with rows the serial reader must
    // read (to dead-letter them) in many chunks: each byte of the file is counted once, though
    // the serial reader reads ahead of where the chunks take over again.
    TempDir dir;
    std::string csv = "id,a,b\n";
    std::string jsonl;
    for (int i = 0; i < 20000; ++i) {
        const std::string n = std::to_string(i);
        csv += i % 700 == 3 ? n + ",short\n" : n + "," + std::string(1 + i % 13, 'x') + ",7\n";
        jsonl += i % 700 == 3
                     ? "{\"id\":" + n + ",}\n"
                     : "{\"id\":" + n + ",\"a\":\"" + std::string(1 + i % 13, 'x') + "\"}\n";
    }
    dir.write("in.csv", csv);
    dir.write("in.jsonl", jsonl);
    dir.write("p.toml", R"([global]
workers = 2
[error_handling]
strategy = "continue"
[[stages]]
id = "c"
function = "csv.read"
[stages.config]
path = "in.csv"
chunk_size = 4096
[[stages]]
id = "j"
function = "json.read"
[stages.config]
path = "in.jsonl"
format = "jsonl"
[[stages]]
id = "out"
function = "json.write"
inputs = ["c", "j"]
[stages.config]
path = "out.jsonl"
)");
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor({"run", "p.toml", "-q", "--metrics-textfile", "m.prom"}, o);
    ASSERT_EQ(r.exit_code, 3) << r.err; // completed with failed records
    const test::PromText fin = test::parse_prometheus(test::read_file(dir.file("m.prom")));
    ASSERT_EQ(fin.error, "");
    EXPECT_EQ(fin.value("conveyor_bytes_read_total{pipeline=\"p\",stage=\"c\"}"),
              static_cast<double>(csv.size()));
    EXPECT_EQ(fin.value("conveyor_bytes_read_total{pipeline=\"p\",stage=\"j\"}"),
              static_cast<double>(jsonl.size()));
    EXPECT_EQ(fin.value("conveyor_records_out_total{pipeline=\"p\",stage=\"c\"}"), 20000 - 29);
}

} // namespace
} // namespace conveyor
