#pragma once

// What the answer to one attempt means for its request: a success, a refusal, or worth another
// attempt (and after how long); and how the attempt is counted in the stage's HTTP series.

#include "conveyor/core/error.hpp"
#include "conveyor/net/backoff.hpp"
#include "conveyor/net/http_client.hpp"
#include "conveyor/obs/http_metrics.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace conveyor::plugins::http {

/// The judgement of one attempt.
struct Verdict {
    bool success = false;   ///< a 2xx response
    bool retryable = false; ///< 408, 429, 5xx, or a transient transport failure
    std::string cause;      ///< why it is not a success: "HTTP 503 Service Unavailable", ...
    /// A retryable response's Retry-After, relative to now (a date in the past gives zero).
    std::optional<std::chrono::milliseconds> retry_after;
};

/// Judges `res`; `now` is the wall-clock time a Retry-After date is relative to.
Verdict judge(const net::HttpResult& res, std::chrono::system_clock::time_point now);

/// The error a request ends with after `attempt` + 1 attempts: TempFail when asking again
/// later could help, Runtime otherwise. The URL is redacted (no credentials, no secrets).
Error refusal(const net::HttpRequest& request, const Verdict& v, std::uint32_t attempt);

/// The wait before retry number `attempt` (0 for the first retry): the server's Retry-After
/// (capped at the backoff's max_delay) or else the backoff with full jitter.
std::chrono::milliseconds retry_delay(const net::BackoffPolicy& backoff, const Verdict& v,
                                      std::uint32_t attempt, const net::UniformRandom& random);

/// Ends `live` with the attempt's outcome: its status class, or why it got no response.
void count_attempt(obs::HttpMetrics::Request& live, const net::HttpResult& res) noexcept;

} // namespace conveyor::plugins::http
