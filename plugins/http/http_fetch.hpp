#pragma once

// http.fetch: one HTTP request per record (mode = "per_row") or per group of records
// (mode = "batch"), up to `concurrency` in flight, the parsed response stored in each record.
// The stage definition (built from validated options) and its per-run counters; the run itself
// lives in http_fetch.cpp.

#include "conveyor/net/backoff.hpp"
#include "conveyor/net/template.hpp"
#include "conveyor/stage/stage.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace conveyor::net {
class Clock;
}

namespace conveyor::plugins::http {

enum class FetchMode : std::uint8_t { PerRow, Batch };

/// What happens to a record whose request failed after every retry.
enum class OnError : std::uint8_t {
    Null,       ///< keep the record, result_field = null (the earlier tool's behaviour)
    Drop,       ///< remove the record (counted)
    Fail,       ///< the stage fails (TempFail for transient causes: exit 75)
    DeadLetter, ///< the record and the error go to [error_handling] dead_letter_queue
};

/// A validated http.fetch configuration (see register.cpp for the option table).
struct HttpFetchConfig {
    net::Template url;
    std::string method = "GET";
    FetchMode mode = FetchMode::PerRow;
    std::string result_field = "http_result";
    std::vector<std::pair<std::string, net::Template>> headers;
    std::optional<net::Template> body;
    bool content_type_given = false; ///< a header sets Content-Type
    std::size_t concurrency = 10;
    bool ordered = true;
    std::uint32_t retries = 3;
    net::BackoffPolicy backoff;
    OnError on_error = OnError::Null;
    /// Which of on_error, retries and the backoff were set in [stages.config]; the others
    /// follow the stage's error handling when the stage opens (see HttpFetchStage::open).
    bool on_error_given = false;
    bool retries_given = false;
    bool backoff_given = false;
    std::chrono::milliseconds timeout{30000};
    std::size_t max_response_bytes = 10u << 20;
    bool response_status = false;
    bool response_headers = false;
    std::optional<double> rate_limit_per_second;
    bool tls_verify = true;
    std::string ca_file;
    std::size_t batch_size = 100; ///< records per request in mode = "batch"
};

/// Every outcome of one run, counted. Written on the stage's strand, readable from any thread
/// (during or after the run). Invariant once the run has ended:
///   records_in = records_ok + records_null + records_dropped + records_dead_lettered
///                + records_failed + records_unfinished
/// where records_ok + records_null = records emitted (counted when emitted), and
/// records_unfinished counts records the stage had received but not emitted or otherwise
/// disposed of when it stopped early (on_error = "fail", cancellation, downstream gone).
///
/// The stage also adds to its StageMetrics: records_in/batches_in (a stream stage counts its
/// own input), and records_failed = every record whose request failed after its last attempt,
/// whatever on_error then did with it (null, drop, dead_letter or fail).
struct HttpStats {
    std::atomic<std::uint64_t> records_in{0};
    std::atomic<std::uint64_t> requests_sent{0}; ///< attempts, retries included
    std::atomic<std::uint64_t> responses_2xx{0};
    std::atomic<std::uint64_t> responses_3xx{0};
    std::atomic<std::uint64_t> responses_4xx{0};
    std::atomic<std::uint64_t> responses_5xx{0};
    std::atomic<std::uint64_t> responses_other{0};
    std::atomic<std::uint64_t> retries{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> connect_errors{0}; ///< resolve + connect
    std::atomic<std::uint64_t> resets{0};
    std::atomic<std::uint64_t> tls_errors{0};
    std::atomic<std::uint64_t> too_large{0};
    std::atomic<std::uint64_t> template_errors{0};
    std::atomic<std::uint64_t> rate_limit_waits{0};
    std::atomic<std::uint64_t> records_ok{0};
    std::atomic<std::uint64_t> records_null{0};
    std::atomic<std::uint64_t> records_dropped{0};
    std::atomic<std::uint64_t> records_dead_lettered{0};
    std::atomic<std::uint64_t> records_failed{0};
    std::atomic<std::uint64_t> records_unfinished{0};
    std::atomic<std::uint64_t> max_in_flight{0};
    std::atomic<std::uint64_t> connections_opened{0};
    /// Responses taken from the run journal of an interrupted run (--resume), not requested.
    std::atomic<std::uint64_t> journal_hits{0};
};

/// The http.fetch stage definition. Immutable apart from `last_stats()` bookkeeping.
class HttpFetchStage final : public Stage {
public:
    explicit HttpFetchStage(HttpFetchConfig config);
    Result<OpenedStage> open(const OpenContext& ctx) const override;

    [[nodiscard]] const HttpFetchConfig& config() const noexcept { return *config_; }
    /// The counters of the most recent run opened from this definition (nullptr before any).
    [[nodiscard]] std::shared_ptr<const HttpStats> last_stats() const;

private:
    std::shared_ptr<const HttpFetchConfig> config_;
    mutable std::mutex mu_;
    mutable std::shared_ptr<HttpStats> last_stats_;
};

/// TEST ONLY. Replaces the clock (retry backoff, Retry-After, rate limiting) and the random
/// source (full jitter) of every http.fetch run opened afterwards, so tests check the delays
/// asked for without sleeping. Not thread-safe: set it before a run and reset it (with {})
/// after; production code never calls it.
struct TestHooks {
    std::function<std::unique_ptr<net::Clock>(boost::asio::any_io_executor)> make_clock;
    net::UniformRandom random;
};
void set_test_hooks(TestHooks hooks);

} // namespace conveyor::plugins::http
