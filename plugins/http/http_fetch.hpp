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

/// A validated http.fetch configuration. build_fetch (register.cpp) sets every member from the
/// options; their defaults live once, in its option table's struct (HttpFetchOptions).
struct HttpFetchConfig {
    net::Template url;
    std::string method;
    FetchMode mode{};
    std::string result_field;
    std::vector<std::pair<std::string, net::Template>> headers;
    std::optional<net::Template> body;
    bool content_type_given = false; ///< a header sets Content-Type
    std::size_t concurrency = 0;
    bool ordered = false;
    std::uint32_t retries = 0;
    net::BackoffPolicy backoff;
    OnError on_error{};
    /// Which of on_error, retries and the backoff were set in [stages.config]; the others
    /// follow the stage's error handling when the stage opens (see HttpFetchStage::open).
    bool on_error_given = false;
    bool retries_given = false;
    bool backoff_given = false;
    std::chrono::milliseconds timeout{};
    std::size_t max_response_bytes = 0;
    bool response_status = false;
    bool response_headers = false;
    std::optional<double> rate_limit_per_second;
    bool tls_verify = true; ///< kept on here too: never off by accident
    std::string ca_file;
    std::size_t batch_size = 0; ///< records per request in mode = "batch"
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
