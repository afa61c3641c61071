#include "conveyor/obs/http_metrics.hpp"

#include "conveyor/obs/metrics.hpp"

namespace conveyor::obs {

namespace {

constexpr std::string_view kResponsesHelp =
    "HTTP responses received, by status class (error: no response: timeout, reset, refused)";
constexpr std::string_view kErrorsHelp =
    "HTTP requests that got no response (the responses of class error), by cause";

} // namespace

const std::vector<double>& HttpMetrics::duration_buckets() {
    static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                1,     2.5,  5,     10,   30,  60};
    return buckets;
}

HttpMetrics::HttpMetrics(StageMetrics& metrics)
    : in_flight(metrics.extra().gauge("conveyor_http_requests_in_flight",
                                      "HTTP requests sent and not yet answered")),
      requests(metrics.extra().counter("conveyor_http_requests_total",
                                       "HTTP requests sent (every attempt, retries included)")),
      duration(metrics.extra().histogram("conveyor_http_request_duration_seconds",
                                         "Time from sending an HTTP request to its response",
                                         duration_buckets())),
      errors(metrics.extra().counter("conveyor_http_responses_total", kResponsesHelp,
                                     {{"class", "error"}})) {
    static const char* const kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 5; ++i)
        by_class_[i] = &metrics.extra().counter("conveyor_http_responses_total", kResponsesHelp,
                                                {{"class", kClasses[i]}});
    static const char* const kCauses[kFailures] = {"timeout", "connect",   "reset",
                                                   "tls",     "too_large", "other"};
    for (std::size_t i = 0; i < kFailures; ++i)
        by_cause_[i] = &metrics.extra().counter("conveyor_http_request_errors_total", kErrorsHelp,
                                                {{"cause", kCauses[i]}});
}

Counter& HttpMetrics::responses(unsigned status) noexcept {
    if (status >= 100 && status < 600) return *by_class_[status / 100 - 1];
    return errors;
}

Counter& HttpMetrics::errors_by(Failure cause) noexcept {
    return *by_cause_[static_cast<std::size_t>(cause)];
}

HttpMetrics::Request::Request(HttpMetrics* metrics)
    : m_(metrics), start_(std::chrono::steady_clock::now()) {
    if (!m_) return;
    m_->in_flight.add();
    m_->requests.add();
}

HttpMetrics::Request::~Request() {
    if (!done_) end(m_ ? &m_->errors : nullptr, Failure::Other);
}

void HttpMetrics::Request::finish(unsigned status) noexcept {
    end(m_ ? &m_->responses(status) : nullptr, Failure::Other);
}

void HttpMetrics::Request::finish_error(Failure cause) noexcept {
    end(m_ ? &m_->errors : nullptr, cause);
}

void HttpMetrics::Request::end(Counter* outcome, Failure cause) noexcept {
    if (done_) return;
    done_ = true;
    if (!m_) return;
    m_->in_flight.sub();
    outcome->add();
    if (outcome == &m_->errors) m_->errors_by(cause).add();
    m_->duration.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

} // namespace conveyor::obs
