#include "conveyor/obs/extra_metrics.hpp"
#include "conveyor/obs/http_metrics.hpp"
#include "conveyor/obs/metrics.hpp"

#include <gtest/gtest.h>
#include <thread>
#include <vector>

namespace conveyor::obs {
namespace {

TEST(Histogram, CountsEachObservationInItsBucketCumulatively) {
    Histogram h({0.1, 1, 10});
    for (double v : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0})
        h.observe(v);
    const Histogram::Snapshot s = h.snapshot();
    EXPECT_EQ(s.bounds, (std::vector<double>{0.1, 1, 10}));
    // <= 0.1: 0.05 and 0.1 (bounds are inclusive); <= 1: + 0.5; <= 10: + 2; +Inf: all.
    EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 6}));
    EXPECT_EQ(s.count, 6u);
    EXPECT_DOUBLE_EQ(s.sum, 52.65);
}

TEST(Histogram, ConcurrentObservationsAreAllCounted) {
    Histogram h({1, 2});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&h] {
            for (int i = 0; i < 10000; ++i)
                h.observe(1.5);
        });
    for (auto& t : threads)
        t.join();
    const auto s = h.snapshot();
    EXPECT_EQ(s.count, 40000u);
    EXPECT_EQ(s.cumulative[0], 0u);
    EXPECT_EQ(s.cumulative[1], 40000u);
    EXPECT_DOUBLE_EQ(s.sum, 60000.0);
}

TEST(ExtraMetrics, SameNameAndLabelsGiveTheSameSeries) {
    ExtraMetrics m;
    Counter& a = m.counter("conveyor_x_total", "x");
    Counter& b = m.counter("conveyor_x_total", "x");
    Counter& other = m.counter("conveyor_x_total", "x", {{"class", "2xx"}});
    EXPECT_EQ(&a, &b);
    EXPECT_NE(&a, &other);
    a.add(3);
    other.add();
    std::vector<std::string> seen;
    m.for_each([&](const Series& s) {
        seen.push_back(s.name + (s.labels.empty() ? "" : "/" + s.labels[0].second) + "=" +
                       std::to_string(s.counter->value()));
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"conveyor_x_total=3", "conveyor_x_total/2xx=1"}));
}

TEST(ExtraMetrics, NamesFollowThePrometheusSyntax) {
    EXPECT_TRUE(is_metric_name("conveyor_http_requests_total"));
    EXPECT_TRUE(is_metric_name("a:b_c9"));
    EXPECT_FALSE(is_metric_name("9abc"));
    EXPECT_FALSE(is_metric_name("conveyor-x"));
    EXPECT_FALSE(is_metric_name(""));
    EXPECT_TRUE(is_label_name("class"));
    EXPECT_FALSE(is_label_name("a:b"));
}

TEST(HttpMetrics, RequestsCountInFlightAndByStatusClass) {
    StageMetrics stage("fetch");
    HttpMetrics http(stage);
    {
        HttpMetrics::Request a(&http);
        HttpMetrics::Request b(&http);
        EXPECT_EQ(http.in_flight.value(), 2);
        a.finish(200);
        EXPECT_EQ(http.in_flight.value(), 1);
        b.finish(503);
        b.finish(200); // a second finish is ignored
    }
    { HttpMetrics::Request dropped(&http); } // destroyed unfinished: a transport error
    {
        HttpMetrics::Request failed(&http);
        failed.finish_error();
    }
    EXPECT_EQ(http.in_flight.value(), 0);
    EXPECT_EQ(http.requests.value(), 4u);
    EXPECT_EQ(http.responses(200).value(), 1u);
    EXPECT_EQ(http.responses(599).value(), 1u);
    EXPECT_EQ(http.errors.value(), 2u);
    EXPECT_EQ(http.duration.snapshot().count, 4u);

    // A second HttpMetrics on the same stage (a reopened stage) shares the series.
    HttpMetrics again(stage);
    EXPECT_EQ(&again.requests, &http.requests);
    // Without metrics (unit tests of the plugin) a request does nothing.
    HttpMetrics::Request none(nullptr);
    none.finish(200);
}

TEST(StageMetrics, StateChangesRecordStartAndEndOnce) {
    StageMetrics m("s");
    EXPECT_EQ(m.started_ns.load(), 0);
    m.set_state(StageState::Running);
    const auto start = m.started_ns.load();
    EXPECT_GT(start, 0);
    m.set_state(StageState::WaitingForInput);
    m.set_state(StageState::Running);
    EXPECT_EQ(m.started_ns.load(), start) << "the start is the first time it ran";
    EXPECT_EQ(m.ended_ns.load(), 0);
    m.set_state(StageState::Done);
    EXPECT_GE(m.ended_ns.load(), start);
    EXPECT_EQ(to_string(m.get_state()), "done");
}

} // namespace
} // namespace conveyor::obs
