#pragma once

// The attempts of http.fetch's requests: the permits that bound them (concurrency), the rate
// limit, the answers recorded in the run journal (--resume), the retries with their waits,
// and the stage's HTTP series. One per stage run; lives on the run's strand.

#include "conveyor/core/error.hpp"
#include "conveyor/net/backoff.hpp"
#include "conveyor/net/clock.hpp"
#include "conveyor/net/concurrency_limiter.hpp"
#include "conveyor/net/http_client.hpp"
#include "conveyor/net/token_bucket.hpp"
#include "conveyor/obs/http_metrics.hpp"
#include "http_fetch.hpp"
#include "retry_policy.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace conveyor {
class RunContext;
struct StageMetrics;
} // namespace conveyor

namespace conveyor::plugins::http {

/// How one request ended, after its last attempt.
struct Fetched {
    enum class Kind : std::uint8_t {
        Stopped, ///< the run is stopping: nothing to settle
        Success, ///< `response` is the answer (a 2xx)
        Refused, ///< given up: `error`, after `attempts`, with the last `response` if any came
        Fatal,   ///< the stage must fail with `error` (the journal could not be written)
        /// The run was asked to stop (SIGINT/SIGTERM/SIGHUP) while the request waited to be
        /// tried again (a retry's backoff or Retry-After) or, in batch mode, to be tried at all
        /// (the rate limit): it is not tried. `error`: its last failure, when it was tried.
        Halted,
    };
    Kind kind = Kind::Stopped;
    std::optional<net::HttpResponse> response;
    std::optional<Error> error;
    std::uint32_t attempts = 0;
};

class RequestRunner {
public:
    /// `run` and `metrics` may be null (unit tests); `cfg` must outlive the runner.
    /// `halt_on_stop`: batch mode, where a request that has not started when the run is asked
    /// to stop is left for `--resume` (in streaming mode it still goes, rate limit or not).
    RequestRunner(const HttpFetchConfig& cfg, std::string stage_id, RunContext* run,
                  StageMetrics* metrics, std::shared_ptr<net::TlsContext> tls,
                  bool halt_on_stop = false);

    /// Makes the client, the clock (RunContext::stage_time or the real one), the random source
    /// and the rate limit on `ex`, the run's strand: every other call comes from there.
    void start(const boost::asio::any_io_executor& ex);

    /// Takes a permit, waiting while `concurrency` are held. False once stop() was called.
    boost::asio::awaitable<bool> acquire() { return limiter_.acquire(); }
    void release() { limiter_.release(); }

    /// One request with its retries. Entered holding a permit and returns without it: gives it
    /// back while it sleeps between attempts and takes one again before the next. `request`
    /// must stay alive until the returned awaitable completes. Cancellation: stop().
    boost::asio::awaitable<Fetched> fetch(const net::HttpRequest& request);

    /// Ends every request in flight, every wait and every permit waiter; fetch() then returns
    /// Stopped. Idempotent.
    void stop();

private:
    Fetched refused(const net::HttpRequest& request, const Verdict& v, std::uint32_t attempt,
                    std::optional<net::HttpResponse> response) const;
    void log_attempt(const net::HttpRequest& request, const net::HttpResult& res,
                     std::chrono::steady_clock::time_point started, std::uint32_t attempt) const;

    const HttpFetchConfig& cfg_;
    std::string stage_id_;
    RunContext* run_;
    StageMetrics* metrics_;
    std::shared_ptr<net::TlsContext> tls_;
    std::optional<obs::HttpMetrics> http_metrics_; ///< live series for /metrics

    std::unique_ptr<net::HttpClient> client_;
    std::unique_ptr<net::Clock> clock_;
    net::UniformRandom random_;
    std::optional<net::TokenBucket> bucket_;
    net::ConcurrencyLimiter limiter_;
    bool stopping_ = false;
    bool halt_on_stop_;
    /// The run was asked to stop: waits between attempts (and for the rate limit) have ended,
    /// so that a Retry-After of minutes does not hold the run until the grace period aborts it.
    bool stop_seen_ = false;
    /// Watches the run's interrupt descriptor (readable once a stop is requested).
    std::optional<boost::asio::posix::stream_descriptor> stop_watch_;
    /// Expires with the runner: a completion of stop_watch_ already queued then does nothing.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

} // namespace conveyor::plugins::http
