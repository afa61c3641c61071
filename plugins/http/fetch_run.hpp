#pragma once

// One run of http.fetch: reads the input, turns records into requests (request_builder),
// has them fetched (request_runner), settles each record by its outcome and on_error, and
// passes the records on through the window (fetch_window), checkpoint markers included.

#include "conveyor/core/error.hpp"
#include "conveyor/net/concurrency_limiter.hpp"
#include "conveyor/net/http_client.hpp"
#include "conveyor/stage/stream_stage.hpp"
#include "fetch_schema.hpp"
#include "fetch_window.hpp"
#include "http_fetch.hpp"
#include "request_runner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {
class RunContext;
class StageErrors;
struct StageMetrics;
} // namespace conveyor

namespace conveyor::plugins::http {

/// Everything one run of the stage owns. Lives on the run's strand: every member is touched
/// only from coroutines and handlers running there.
class FetchRun : public std::enable_shared_from_this<FetchRun> {
public:
    /// `run`, `metrics` and `errors` may be null (unit tests). `input_batch`: records per
    /// input batch, which sizes the window. `halt_on_stop`: batch mode, where a stopped run is
    /// resumed (see halted()).
    FetchRun(std::shared_ptr<const HttpFetchConfig> cfg, std::string stage_id, RunContext* run,
             StageMetrics* metrics, const StageErrors* errors, std::size_t input_batch,
             std::shared_ptr<net::TlsContext> tls, bool halt_on_stop);

    /// Runs the stage until its input ends and every record has gone out, or until it fails
    /// or the run is cancelled (RunContext::on_cancel stops it on its strand).
    boost::asio::awaitable<Status> run(StreamInput& in, StreamOutput& out);

private:
    /// One request and the records it serves.
    struct Job {
        std::vector<std::uint64_t> seqs;
        net::HttpRequest request;
    };

    void stop();
    [[nodiscard]] bool halted() const noexcept;
    void set_fatal(Error e);
    void internal_error(const std::exception_ptr& ep);
    [[nodiscard]] std::uint64_t unfinished() const noexcept;
    void publish_pending();

    boost::asio::awaitable<void> read_loop(StreamInput& in);
    boost::asio::awaitable<void> add_marker(std::uint64_t id);
    void add_infos(std::vector<BatchInfo> infos);
    boost::asio::awaitable<void> dispatch(Batch batch);
    boost::asio::awaitable<void> run_job(Job job);
    void settle_success(const Job& job, net::HttpResponse resp);
    void settle_failure(const Job& job, Error error, std::uint32_t attempts,
                        const std::shared_ptr<const Response>& response);
    void ready_changed(std::size_t settled);
    boost::asio::awaitable<void> emit_loop(StreamOutput& out);
    void arm_linger();

    bool halt_on_stop_;
    std::shared_ptr<const HttpFetchConfig> cfg_;
    std::string stage_id_;
    RunContext* run_;
    StageMetrics* metrics_;
    const StageErrors* errors_;
    std::size_t window_cap_; ///< records in flight + settled and not yet emitted, at most
    SchemaCache schemas_;
    RequestRunner requests_;
    FetchWindow window_;

    boost::asio::any_io_executor ex_;
    net::WakeSignal wake_; ///< the emitter: something became ready, a task ended, stop
    net::WakeSignal room_; ///< the reader: the window has room again, stop
    boost::asio::cancellation_signal reader_cancel_;
    std::optional<boost::asio::steady_timer> linger_;
    bool linger_armed_ = false;
    bool linger_expired_ = false;

    std::uint64_t epoch_ = 0; ///< the last checkpoint marker read
    std::size_t tasks_ = 0;   ///< run_job coroutines running
    bool reader_running_ = false;
    bool stopping_ = false;
    bool unwanted_ = false; ///< the consumer needs no more answers (a gather let every record go)
    std::uint64_t received_ = 0; ///< records taken from the input
    std::uint64_t disposed_ = 0; ///< records dropped, dead-lettered or failed (not emitted)
    std::uint64_t left_out_ = 0; ///< records never requested because of a stop (halted())
    std::optional<Error> fatal_;
};

} // namespace conveyor::plugins::http
