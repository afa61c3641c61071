#pragma once

// Series a stage defines for itself beyond the common StageMetrics counters: in-flight HTTP
// requests, a latency histogram, responses by status class... A plugin creates its series once
// (when it opens) through StageMetrics::extra() and then updates them lock-free; the exporters
// (/metrics, --metrics-textfile) list them with the stage's label. See http_metrics.hpp for the
// series the http plugin publishes.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor::obs {

/// Extra label pairs of a series, besides `pipeline` and `stage` (which exporters add).
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Thread-safe, lock-free.
class Counter {
public:
    void add(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t value() const noexcept {
        return v_.load(std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t> v_{0};
};

/// A value that goes up and down (requests in flight). Thread-safe, lock-free.
class Gauge {
public:
    void add(std::int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
    void sub(std::int64_t n = 1) noexcept { v_.fetch_sub(n, std::memory_order_relaxed); }
    void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
    [[nodiscard]] std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> v_{0};
};

/// A distribution over fixed buckets (Prometheus histogram semantics: bucket i counts
/// observations <= bound i; a last +Inf bucket is implicit). observe() is lock-free; a
/// snapshot taken while observations land may be off by the ones in flight, never torn.
class Histogram {
public:
    /// `upper_bounds` strictly increasing, finite.
    explicit Histogram(std::vector<double> upper_bounds);

    void observe(double value) noexcept;

    struct Snapshot {
        std::vector<double> bounds;            ///< finite upper bounds
        std::vector<std::uint64_t> cumulative; ///< per bound, then +Inf (= count)
        std::uint64_t count = 0;
        double sum = 0;
    };
    [[nodiscard]] Snapshot snapshot() const;
    [[nodiscard]] const std::vector<double>& bounds() const noexcept { return bounds_; }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_; ///< bounds_.size() + 1 (+Inf)
    std::atomic<double> sum_{0};
};

enum class SeriesKind : std::uint8_t { Counter, Gauge, Histogram };

/// Where a counter is shown besides /metrics: also in the end-of-run summary and
/// --stats-json, as "<label value> N" (gather.apply's records by outcome).
enum class ShownIn : std::uint8_t { Metrics, Summary };

/// One named series (a metric family member) owned by ExtraMetrics.
struct Series {
    std::string name; ///< `conveyor_*`, Prometheus metric-name characters only
    std::string help;
    Labels labels;
    SeriesKind kind = SeriesKind::Counter;
    ShownIn shown = ShownIn::Metrics;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
};

/// The extra series of one stage. Creating a series takes a lock (do it when the stage opens,
/// not per record); asking again for the same name and labels returns the same object, so a
/// stage opened twice keeps counting into one series. References stay valid for the life of
/// the StageMetrics. A name reused with another kind (or another help text) is a programming
/// error (asserted).
class ExtraMetrics {
public:
    Counter& counter(std::string_view name, std::string_view help, Labels labels = {},
                     ShownIn shown = ShownIn::Metrics);
    Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
    Histogram& histogram(std::string_view name, std::string_view help,
                         std::span<const double> upper_bounds, Labels labels = {});

    /// Calls `fn` for every series, in creation order. Thread-safe against concurrent creation
    /// (fn runs under the lock: it must not create series).
    void for_each(const std::function<void(const Series&)>& fn) const;
    [[nodiscard]] bool empty() const;

private:
    Series& find_or_add(std::string_view name, std::string_view help, Labels labels,
                        SeriesKind kind, std::span<const double> bounds);

    mutable std::mutex mu_;
    std::deque<Series> series_;
};

/// True for [a-zA-Z_:][a-zA-Z0-9_:]*, the Prometheus metric-name syntax.
bool is_metric_name(std::string_view name) noexcept;
/// True for [a-zA-Z_][a-zA-Z0-9_]*, the label-name syntax.
bool is_label_name(std::string_view name) noexcept;

} // namespace conveyor::obs
