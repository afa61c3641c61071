#include "request_runner.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/net/url.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "response_journal.hpp"

#include <fcntl.h>
#include <utility>

namespace asio = boost::asio;

namespace conveyor::plugins::http {

RequestRunner::RequestRunner(const HttpFetchConfig& cfg, std::string stage_id, RunContext* run,
                             StageMetrics* metrics, std::shared_ptr<net::TlsContext> tls,
                             bool halt_on_stop)
    : cfg_(cfg), stage_id_(std::move(stage_id)), run_(run), metrics_(metrics), tls_(std::move(tls)),
      limiter_(cfg.concurrency), halt_on_stop_(halt_on_stop) {
    if (metrics_) http_metrics_.emplace(*metrics_);
}

void RequestRunner::start(const asio::any_io_executor& ex) {
    net::ClientOptions copts;
    copts.max_response_bytes = cfg_.max_response_bytes;
    copts.max_idle_per_host = cfg_.concurrency;
    copts.tls = tls_;
    client_ = std::make_unique<net::HttpClient>(ex, std::move(copts));
    const RunContext::StageTime* time = run_ ? &run_->stage_time : nullptr;
    clock_ = time && time->make_clock ? time->make_clock() : net::make_steady_clock(ex);
    random_ = time && time->random ? time->random : net::default_random();
    if (cfg_.rate_limit_per_second)
        bucket_.emplace(*cfg_.rate_limit_per_second, *cfg_.rate_limit_per_second, clock_->now());
    // A stop request (first SIGINT/SIGTERM/SIGHUP) makes the run's interrupt descriptor
    // readable: the waits end then (a cancellation is FetchRun::stop()'s).
    const int fd = run_ ? ::fcntl(run_->interrupt_fd(), F_DUPFD_CLOEXEC, 0) : -1;
    if (fd >= 0) {
        stop_watch_.emplace(ex, fd);
        stop_watch_->async_wait(
            asio::posix::descriptor_base::wait_read,
            [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
                if (ec || !alive.lock() || stopping_ || !run_->stop_requested()) return;
                stop_seen_ = true;
                clock_->cancel_all();
            });
    }
}

void RequestRunner::stop() {
    if (stopping_) return;
    stopping_ = true;
    if (stop_watch_) {
        boost::system::error_code ec;
        stop_watch_->close(ec);
    }
    if (client_) client_->cancel_all();
    if (clock_) clock_->cancel_all();
    limiter_.close();
}

Fetched RequestRunner::refused(const net::HttpRequest& request, const Verdict& v,
                               std::uint32_t attempt,
                               std::optional<net::HttpResponse> response) const {
    Fetched f;
    f.kind = Fetched::Kind::Refused;
    f.error = refusal(request, v, attempt);
    f.attempts = attempt + 1;
    f.response = std::move(response);
    return f;
}

void RequestRunner::log_attempt(const net::HttpRequest& request, const net::HttpResult& res,
                                std::chrono::steady_clock::time_point started,
                                std::uint32_t attempt) const {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    spdlog::debug("http.fetch '{}': {} {} -> {} in {} ms (attempt {})", stage_id_, request.method,
                  net::redact_url(request.url),
                  res.ok() ? std::to_string(res.response->status) : res.message, ms, attempt + 1);
}

asio::awaitable<Fetched> RequestRunner::fetch(const net::HttpRequest& request) {
    std::uint32_t attempt = 0;
    for (;;) {
        if (bucket_) {
            const auto wait = bucket_->reserve(clock_->now());
            if (wait > std::chrono::nanoseconds::zero()) {
                // Its own statement: GCC evaluates a co_await inside && even when the left
                // side is false.
                const bool waited = co_await clock_->wait_for(wait);
                if (!waited && stop_seen_ && !stopping_ && halt_on_stop_) {
                    // Batch mode: not started before the stop, so left for --resume.
                    limiter_.release();
                    co_return Fetched{Fetched::Kind::Halted, std::nullopt, std::nullopt, attempt};
                }
            }
        }
        if (stopping_) {
            limiter_.release();
            co_return Fetched{};
        }
        // A response recorded in the run journal by an interrupted run (--resume) is not
        // requested again: a success, or a refusal that asking again would not change.
        RunJournal* journal = run_ ? run_->journal : nullptr;
        const std::string journal_key = journal ? request_key(request) : std::string();
        if (!journal_key.empty()) {
            if (auto recorded = journal->lookup(stage_id_, journal_key)) {
                net::HttpResult again;
                again.response = decode_response(*recorded);
                const Verdict v = again.ok() ? judge(again, clock_->system_now()) : Verdict{};
                if (again.ok() && (v.success || !v.retryable)) {
                    limiter_.release();
                    if (v.success)
                        co_return Fetched{Fetched::Kind::Success, std::move(again.response)};
                    co_return refused(request, v, attempt, std::move(again.response));
                }
            }
        }
        const auto started = std::chrono::steady_clock::now();
        std::optional<obs::HttpMetrics::Request> live;
        if (http_metrics_) live.emplace(&*http_metrics_);
        net::HttpResult res = co_await client_->send(request, cfg_.timeout);
        if (live) count_attempt(*live, res);
        limiter_.release();
        log_attempt(request, res, started, attempt);
        if (stopping_) co_return Fetched{};
        const Verdict v = judge(res, clock_->system_now());
        if (v.success || (res.ok() && !v.retryable)) {
            if (!journal_key.empty()) {
                if (Status st =
                        journal->record(stage_id_, journal_key, encode_response(*res.response));
                    !st) {
                    Fetched f;
                    f.kind = Fetched::Kind::Fatal;
                    f.error = std::move(st).error().in_stage(stage_id_);
                    co_return f;
                }
            }
            if (v.success) co_return Fetched{Fetched::Kind::Success, std::move(res.response)};
        }
        if (!v.retryable || attempt >= cfg_.retries)
            co_return refused(request, v, attempt, std::move(res.response));
        const std::chrono::milliseconds delay = retry_delay(cfg_.backoff, v, attempt, random_);
        if (metrics_) metrics_->retries.fetch_add(1, std::memory_order_relaxed);
        if (!co_await clock_->wait_for(delay)) {
            if (!stop_seen_ || stopping_) co_return Fetched{};
            // The run is stopping: the wait for the next attempt (a Retry-After may ask for
            // minutes) would hold it until the grace period aborts it, losing every output.
            Fetched f = refused(request, v, attempt, std::move(res.response));
            f.kind = Fetched::Kind::Halted;
            f.error->message += " (not tried again: the run was asked to stop)";
            co_return f;
        }
        if (!co_await limiter_.acquire()) co_return Fetched{};
        ++attempt;
    }
}

} // namespace conveyor::plugins::http
