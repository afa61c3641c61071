#pragma once

// The series an HTTP stage (http.fetch) publishes, so /metrics and --metrics-textfile show
// in-flight requests and latency per stage. Usage in the plugin:
//
//   // when the stage opens (ctx.metrics may be null in unit tests):
//   std::optional<obs::HttpMetrics> http;
//   if (ctx.metrics) http.emplace(*ctx.metrics);
//
//   // around every attempt (the first one and each retry):
//   obs::HttpMetrics::Request req(http ? &*http : nullptr);
//   ... send, await the response ...
//   req.finish(response.status);   // or req.finish_error(cause) when no response came
//
//   // and on the common counters of StageMetrics:
//   ctx.metrics->retries += 1;                      // each retry
//   ctx.metrics->records_failed += 1;               // a record given up on
//   ctx.metrics->records_dead_lettered += 1;        // ... and sent to the dead-letter queue
//
// Everything here is lock-free after construction and may be used from any thread.

#include "conveyor/obs/extra_metrics.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace conveyor {
struct StageMetrics;
}

namespace conveyor::obs {

class HttpMetrics {
public:
    /// Creates (or finds) the stage's HTTP series:
    ///   conveyor_http_requests_in_flight              gauge
    ///   conveyor_http_requests_total                  counter (every attempt)
    ///   conveyor_http_responses_total{class="2xx"}    counter per status class 1xx..5xx,
    ///                                                 class="error" for transport failures
    ///   conveyor_http_request_errors_total{cause="timeout"}
    ///                                                 counter per Failure: the class="error"
    ///                                                 responses by cause
    ///   conveyor_http_request_duration_seconds        histogram (5 ms .. 60 s)
    explicit HttpMetrics(StageMetrics& metrics);

    /// Why a request got no response. Resolve and connect failures are both Connect; a
    /// response with a status outside 100..599, a cancelled request and any other failure
    /// are Other.
    enum class Failure : std::uint8_t { Timeout, Connect, Reset, Tls, TooLarge, Other };
    static constexpr std::size_t kFailures = 6;

    /// Counts one request from construction to finish(); observes its duration. A request
    /// destroyed without finishing counts as a transport error (cancelled, exception).
    /// `metrics` may be null: then it does nothing.
    class Request {
    public:
        explicit Request(HttpMetrics* metrics);
        ~Request();
        Request(const Request&) = delete;
        Request& operator=(const Request&) = delete;

        /// The request got a response with this HTTP status.
        void finish(unsigned status) noexcept;
        /// The request failed without a response (timeout, reset, DNS...).
        void finish_error(Failure cause = Failure::Other) noexcept;

    private:
        void end(Counter* outcome, Failure cause) noexcept;
        HttpMetrics* m_;
        std::chrono::steady_clock::time_point start_;
        bool done_ = false;
    };

    Gauge& in_flight;
    Counter& requests;
    Histogram& duration;
    /// Responses with status 100..599 by class; others and transport failures count as error.
    Counter& responses(unsigned status) noexcept;
    Counter& errors;
    /// The responses counted in `errors`, by cause (they add up to `errors`).
    Counter& errors_by(Failure cause) noexcept;

    /// The histogram's upper bounds, in seconds.
    static const std::vector<double>& duration_buckets();

private:
    Counter* by_class_[5];
    Counter* by_cause_[kFailures];
};

} // namespace conveyor::obs
