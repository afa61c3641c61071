#pragma once

// http.fetch: one HTTP request per record (mode = "per_row") or per group of records
// (mode = "batch"), up to `concurrency` in flight, the parsed response stored in each record.
// The stage definition, built from validated options (register.cpp); a run of it is a FetchRun
// (fetch_run.hpp).

#include "conveyor/net/backoff.hpp"
#include "conveyor/net/template.hpp"
#include "conveyor/stage/stage.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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

/// The http.fetch stage definition. Immutable. What a run counts goes to its StageMetrics
/// (records in, out, failed, nulled, dropped, dead-lettered and pending; retries) and to the
/// HTTP series of obs::HttpMetrics (attempts, responses by class, failures by cause).
class HttpFetchStage final : public Stage {
public:
    explicit HttpFetchStage(HttpFetchConfig config);
    Result<OpenedStage> open(const OpenContext& ctx) const override;

    [[nodiscard]] const HttpFetchConfig& config() const noexcept { return *config_; }

private:
    std::shared_ptr<const HttpFetchConfig> config_;
};

} // namespace conveyor::plugins::http
