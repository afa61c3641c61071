#include "conveyor/obs/http_metrics.hpp"
#include "conveyor/obs/prometheus.hpp"
#include "prometheus_text.hpp"

#include <gtest/gtest.h>

namespace conveyor::obs {
namespace {

RunDescription two_stages() {
    RunDescription d;
    d.pipeline = "orders \"eu\"";
    d.file = "orders.toml";
    d.executor = "channel";
    d.stages = {{"load", "csv.read", true, false}, {"fetch", "http.fetch", false, false}};
    d.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
    d.started_ns = StageMetrics::now_ns();
    return d;
}

TEST(Prometheus, RendersEveryStageSeriesWithPipelineAndStageLabels) {
    MetricsRegistry metrics;
    StageMetrics& load = metrics.add("load");
    StageMetrics& fetch = metrics.add("fetch");
    load.records_out = 1000;
    load.bytes_read = 4096;
    load.bytes_total = 8192;
    load.set_state(StageState::Running);
    fetch.records_in = 900;
    fetch.queued_records = 40;
    fetch.queue_capacity = 100;
    fetch.retries = 2;

    const RunStats stats = collect_stats(two_stages(), metrics);
    const std::string text = render_prometheus(stats, metrics);
    const test::PromText p = test::parse_prometheus(text);
    ASSERT_EQ(p.error, "") << text;
    const std::string pl = "pipeline=\"orders \\\"eu\\\"\"";
    EXPECT_EQ(p.value("conveyor_records_out_total{" + pl + ",stage=\"load\"}"), 1000);
    EXPECT_EQ(p.value("conveyor_records_in_total{" + pl + ",stage=\"fetch\"}"), 900);
    EXPECT_EQ(p.value("conveyor_bytes_read_total{" + pl + ",stage=\"load\"}"), 4096);
    EXPECT_EQ(p.value("conveyor_input_size_bytes{" + pl + ",stage=\"load\"}"), 8192);
    EXPECT_FALSE(p.value("conveyor_input_size_bytes{" + pl + ",stage=\"fetch\"}"))
        << "no input size where it is unknown";
    EXPECT_EQ(p.value("conveyor_channel_records{" + pl + ",stage=\"fetch\"}"), 40);
    EXPECT_EQ(p.value("conveyor_channel_capacity_records{" + pl + ",stage=\"fetch\"}"), 100);
    EXPECT_EQ(p.value("conveyor_retries_total{" + pl + ",stage=\"fetch\"}"), 2);
    EXPECT_EQ(p.value("conveyor_stage_state{" + pl + ",stage=\"load\",state=\"running\"}"), 1);
    EXPECT_EQ(p.value("conveyor_stage_state{" + pl + ",stage=\"load\",state=\"done\"}"), 0);
    EXPECT_EQ(p.value("conveyor_stage_state{" + pl + ",stage=\"fetch\",state=\"pending\"}"), 1);
    EXPECT_EQ(p.value("conveyor_run_start_time_seconds{" + pl + "}"), 1700000000);
    EXPECT_EQ(p.types.at("conveyor_records_out_total"), "counter");
    EXPECT_EQ(p.types.at("conveyor_channel_records"), "gauge");
    EXPECT_FALSE(p.value("conveyor_run_exit_code{" + pl + "}")) << "only once the run ended";
}

TEST(Prometheus, RendersHttpSeriesAsOneFamilyPerName) {
    MetricsRegistry metrics;
    metrics.add("load");
    StageMetrics& fetch = metrics.add("fetch");
    HttpMetrics http(fetch);
    {
        HttpMetrics::Request r(&http);
        r.finish(200);
    }
    HttpMetrics::Request pending(&http);

    const std::string text = render_prometheus(collect_stats(two_stages(), metrics), metrics);
    const test::PromText p = test::parse_prometheus(text);
    ASSERT_EQ(p.error, "") << text;
    const std::string l = "pipeline=\"orders \\\"eu\\\"\",stage=\"fetch\"";
    EXPECT_EQ(p.types.at("conveyor_http_request_duration_seconds"), "histogram");
    EXPECT_EQ(p.value("conveyor_http_requests_in_flight{" + l + "}"), 1);
    EXPECT_EQ(p.value("conveyor_http_requests_total{" + l + "}"), 2);
    EXPECT_EQ(p.value("conveyor_http_responses_total{" + l + ",class=\"2xx\"}"), 1);
    EXPECT_EQ(p.value("conveyor_http_responses_total{" + l + ",class=\"5xx\"}"), 0);
    EXPECT_EQ(p.value("conveyor_http_request_duration_seconds_count{" + l + "}"), 1);
    EXPECT_EQ(p.value("conveyor_http_request_duration_seconds_bucket{" + l + ",le=\"+Inf\"}"), 1);
    EXPECT_EQ(p.value("conveyor_http_request_duration_seconds_bucket{" + l + ",le=\"60\"}"), 1);
    pending.finish(200);
}

TEST(Prometheus, EscapesLabelValues) {
    EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

} // namespace
} // namespace conveyor::obs
