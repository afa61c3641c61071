#include "conveyor/obs/extra_metrics.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace conveyor::obs {

namespace {

bool name_char(char c, bool first, bool colon) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (alpha || (colon && c == ':')) return true;
    return !first && c >= '0' && c <= '9';
}

} // namespace

bool is_metric_name(std::string_view name) noexcept {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (!name_char(name[i], i == 0, true)) return false;
    return true;
}

bool is_label_name(std::string_view name) noexcept {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (!name_char(name[i], i == 0, false)) return false;
    return true;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    assert(std::is_sorted(bounds_.begin(), bounds_.end()));
    assert(std::adjacent_find(bounds_.begin(), bounds_.end()) == bounds_.end());
    assert(std::all_of(bounds_.begin(), bounds_.end(), [](double b) { return std::isfinite(b); }));
}

void Histogram::observe(double value) noexcept {
    // First bound >= value; past the end is the +Inf bucket.
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    const auto i = static_cast<std::size_t>(it - bounds_.begin());
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    s.bounds = bounds_;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

Series& ExtraMetrics::find_or_add(std::string_view name, std::string_view help, Labels labels,
                                  SeriesKind kind, std::span<const double> bounds) {
    assert(is_metric_name(name));
    assert(std::all_of(labels.begin(), labels.end(), [](const auto& l) {
        return is_label_name(l.first) && l.first != "stage" && l.first != "pipeline";
    }));
    std::lock_guard lock(mu_);
    for (Series& s : series_) {
        if (s.name != name) continue;
        assert(s.kind == kind && "a metric name is used with two kinds");
        assert(s.help == help && "a metric name is used with two help texts");
        if (s.labels == labels) return s;
    }
    Series& s = series_.emplace_back();
    s.name = std::string(name);
    s.help = std::string(help);
    s.labels = std::move(labels);
    s.kind = kind;
    switch (kind) {
    case SeriesKind::Counter:
        s.counter = std::make_unique<Counter>();
        break;
    case SeriesKind::Gauge:
        s.gauge = std::make_unique<Gauge>();
        break;
    case SeriesKind::Histogram:
        s.histogram =
            std::make_unique<Histogram>(std::vector<double>(bounds.begin(), bounds.end()));
        break;
    }
    return s;
}

Counter& ExtraMetrics::counter(std::string_view name, std::string_view help, Labels labels,
                               ShownIn shown) {
    Series& s = find_or_add(name, help, std::move(labels), SeriesKind::Counter, {});
    s.shown = shown;
    return *s.counter;
}

Gauge& ExtraMetrics::gauge(std::string_view name, std::string_view help, Labels labels) {
    return *find_or_add(name, help, std::move(labels), SeriesKind::Gauge, {}).gauge;
}

Histogram& ExtraMetrics::histogram(std::string_view name, std::string_view help,
                                   std::span<const double> upper_bounds, Labels labels) {
    Series& s = find_or_add(name, help, std::move(labels), SeriesKind::Histogram, upper_bounds);
    assert(std::equal(s.histogram->bounds().begin(), s.histogram->bounds().end(),
                      upper_bounds.begin(), upper_bounds.end()));
    return *s.histogram;
}

void ExtraMetrics::for_each(const std::function<void(const Series&)>& fn) const {
    std::lock_guard lock(mu_);
    for (const Series& s : series_)
        fn(s);
}

bool ExtraMetrics::empty() const {
    std::lock_guard lock(mu_);
    return series_.empty();
}

} // namespace conveyor::obs
