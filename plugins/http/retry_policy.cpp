#include "retry_policy.hpp"

#include "conveyor/net/url.hpp"

#include <algorithm>
#include <utility>

namespace conveyor::plugins::http {

namespace {

obs::HttpMetrics::Failure failure_of(net::FailureKind kind) noexcept {
    using Failure = obs::HttpMetrics::Failure;
    switch (kind) {
    case net::FailureKind::Timeout:
        return Failure::Timeout;
    case net::FailureKind::Resolve:
    case net::FailureKind::HostNotFound: // the series' cause "connect" covers name lookups
    case net::FailureKind::Connect:
        return Failure::Connect;
    case net::FailureKind::Reset:
        return Failure::Reset;
    case net::FailureKind::Tls:
        return Failure::Tls;
    case net::FailureKind::TooLarge:
        return Failure::TooLarge;
    default:
        return Failure::Other;
    }
}

} // namespace

Verdict judge(const net::HttpResult& res, std::chrono::system_clock::time_point now) {
    Verdict v;
    if (res.ok()) {
        const int st = res.response->status;
        if (st >= 200 && st < 300) {
            v.success = true;
            return v;
        }
        v.retryable = st == 408 || st == 429 || (st >= 500 && st < 600);
        v.cause = "HTTP " + std::to_string(st);
        if (!res.response->reason.empty()) v.cause += " " + res.response->reason;
        if (st >= 300 && st < 400) {
            // "HTTP 302 Found" alone leaves the user guessing: redirects are not followed, so
            // say where the server points (credentials and secret query values redacted).
            v.cause += " (http.fetch does not follow redirects";
            if (auto location = res.response->header("location"); location && !location->empty())
                v.cause +=
                    "; the server points to " + net::redact_url(*location) + ": set url to it";
            v.cause += ")";
        }
        if (v.retryable) {
            if (auto ra = res.response->header("retry-after"))
                v.retry_after = net::parse_retry_after(*ra, now);
        }
        return v;
    }
    v.retryable = net::is_retryable(res.failure);
    v.cause = res.message;
    return v;
}

Error refusal(const net::HttpRequest& request, const Verdict& v, std::uint32_t attempt) {
    const ErrorKind kind = v.retryable ? ErrorKind::TempFail : ErrorKind::Runtime;
    std::string message = request.method + " " + net::redact_url(request.url) + " failed";
    if (attempt > 0) message += " after " + std::to_string(attempt + 1) + " attempts";
    message += ": " + v.cause;
    return Error(kind, std::move(message));
}

std::chrono::milliseconds retry_delay(const net::BackoffPolicy& backoff, const Verdict& v,
                                      std::uint32_t attempt, const net::UniformRandom& random) {
    return v.retry_after ? std::min(*v.retry_after, backoff.max_delay)
                         : backoff.delay(attempt, random);
}

void count_attempt(obs::HttpMetrics::Request& live, const net::HttpResult& res) noexcept {
    if (res.ok())
        live.finish(static_cast<unsigned>(res.response->status));
    else
        live.finish_error(failure_of(res.failure));
}

} // namespace conveyor::plugins::http
