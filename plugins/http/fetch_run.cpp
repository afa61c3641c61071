#include "fetch_run.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "request_builder.hpp"

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <utility>

namespace asio = boost::asio;

namespace conveyor::plugins::http {

namespace {

/// How long completed records may wait for companions before they are emitted anyway.
constexpr std::chrono::milliseconds kLinger{20};

/// Records one request serves.
std::size_t unit_of(const HttpFetchConfig& cfg) {
    return cfg.mode == FetchMode::Batch ? cfg.batch_size : 1;
}

/// Records the window holds at most: every request in flight and one input batch.
std::size_t window_capacity(const HttpFetchConfig& cfg, std::size_t input_batch) {
    return cfg.concurrency * unit_of(cfg) + std::max<std::size_t>(1, input_batch);
}

/// Records per output batch: what the requests in flight serve, at most one input batch.
std::size_t flush_threshold(const HttpFetchConfig& cfg, std::size_t input_batch) {
    return std::max<std::size_t>(
        1, std::min(cfg.concurrency * unit_of(cfg), std::max<std::size_t>(1, input_batch)));
}

} // namespace

FetchRun::FetchRun(std::shared_ptr<const HttpFetchConfig> cfg, std::string stage_id,
                   RunContext* run, StageMetrics* metrics, const StageErrors* errors,
                   std::size_t input_batch, std::shared_ptr<net::TlsContext> tls, bool halt_on_stop)
    : halt_on_stop_(halt_on_stop), cfg_(std::move(cfg)), stage_id_(std::move(stage_id)), run_(run),
      metrics_(metrics), errors_(errors), window_cap_(window_capacity(*cfg_, input_batch)),
      schemas_(*cfg_), requests_(*cfg_, stage_id_, run, metrics, std::move(tls), halt_on_stop),
      window_(cfg_->ordered, flush_threshold(*cfg_, input_batch)) {}

asio::awaitable<Status> FetchRun::run(StreamInput& in, StreamOutput& out) {
    ex_ = co_await asio::this_coro::executor;
    requests_.start(ex_);
    linger_.emplace(ex_);

    std::weak_ptr<FetchRun> weak = weak_from_this();
    RunContext::CallbackId cancel_id = 0;
    if (run_) {
        cancel_id = run_->on_cancel([weak, ex = ex_] {
            asio::post(ex, [weak] {
                if (auto self = weak.lock()) self->stop();
            });
        });
    }

    // Nobody wants the answers any more (the gather they were for has let every record go):
    // stop the requests in flight instead of waiting for a slow server.
    out.on_unwanted([weak, ex = ex_] {
        asio::post(ex, [weak] {
            if (auto self = weak.lock()) {
                self->unwanted_ = true;
                self->stop();
            }
        });
    });

    reader_running_ = true;
    asio::co_spawn(
        ex_, read_loop(in),
        asio::bind_cancellation_slot(reader_cancel_.slot(),
                                     [self = shared_from_this()](const std::exception_ptr& ep) {
                                         self->reader_running_ = false;
                                         if (ep) self->internal_error(ep);
                                         self->wake_.notify();
                                     }));

    co_await emit_loop(out);
    stop();
    while (reader_running_ || tasks_ > 0)
        co_await wake_.wait();
    if (run_) run_->remove_on_cancel(cancel_id);
    if (left_out_ > 0)
        spdlog::warn("stage '{}': stopped before requesting (or requesting again) {} record{} "
                     "it was given; the run's last checkpoint comes before them, so --resume "
                     "requests them",
                     stage_id_, left_out_, left_out_ == 1 ? "" : "s");
    // Records whose answers nobody wanted any more were not passed on by choice, as a sink's
    // limit does: filtered, so that in = out + filtered + failed still holds.
    if (unwanted_ && !fatal_ && !(run_ && run_->cancelled())) {
        const std::uint64_t n = unfinished();
        if (metrics_) metrics_->records_filtered.fetch_add(n, std::memory_order_relaxed);
        disposed_ += n;
    }
    publish_pending();
    if (fatal_) co_return *fatal_;
    co_return Status{};
}

/// Ends everything still going: in-flight requests, sleeps, permit waiters, the reader.
/// Idempotent; called when the output is done, on a fatal error and on cancellation.
void FetchRun::stop() {
    if (stopping_) return;
    stopping_ = true;
    requests_.stop();
    reader_cancel_.emit(asio::cancellation_type::terminal);
    if (linger_) linger_->cancel();
    room_.notify();
    wake_.notify();
}

/// Batch mode and the run was asked to stop (first SIGINT/SIGTERM): no new request starts;
/// the ones in flight finish. The records not requested are not passed on, nor is any
/// checkpoint marker after them, so the last checkpoint lies before them and a resumed run
/// requests them. (In streaming mode the run commits what arrived: every record goes on.)
bool FetchRun::halted() const noexcept {
    return halt_on_stop_ && run_ && run_->stop_requested();
}

void FetchRun::set_fatal(Error e) {
    if (!fatal_) fatal_ = std::move(e);
    stop();
}

void FetchRun::internal_error(const std::exception_ptr& ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const std::exception& e) {
        set_fatal(Error(ErrorKind::Internal, std::string("http.fetch: ") + e.what()));
    }
}

/// Records received and not yet emitted or otherwise disposed of.
std::uint64_t FetchRun::unfinished() const noexcept {
    const std::uint64_t done = window_.records_emitted() + disposed_;
    return received_ > done ? received_ - done : 0;
}

/// The stage takes records far faster than it finishes them (they wait for responses): its
/// rates count finished records, so they must know how many are still waiting.
void FetchRun::publish_pending() {
    if (metrics_) metrics_->records_pending.store(unfinished(), std::memory_order_relaxed);
}

asio::awaitable<void> FetchRun::read_loop(StreamInput& in) {
    // Once stop() has cancelled this coroutine, awaiting must not throw: the loop notices
    // stopping_ instead.
    co_await asio::this_coro::throw_if_cancelled(false);
    // Checkpoints: records before the first marker come after the checkpoint resumed from.
    if (errors_) epoch_ = errors_->checkpoint_epoch();
    while (!stopping_ && left_out_ == 0) {
        std::optional<InputEvent> ev = co_await in.next();
        if (!ev) break;
        // A checkpoint marker, alone or after the batch's records.
        const std::uint64_t marker = ev->batch ? ev->batch->take_checkpoint() : 0;
        // Metadata after the records (a gather's LineageMark, a window's close) follows them
        // out, before the marker (as the stage driver passes it on).
        std::vector<BatchInfo> infos;
        if (ev->batch) infos = ev->batch->take_infos();
        if (!ev->batch || ev->batch->empty()) {
            if (!infos.empty()) add_infos(std::move(infos));
            if (marker != 0) co_await add_marker(marker);
            continue;
        }
        Batch batch = std::move(*ev->batch);
        const std::size_t rows = batch.rows();
        if (metrics_) {
            metrics_->records_in.fetch_add(rows, std::memory_order_relaxed);
            metrics_->batches_in.fetch_add(1, std::memory_order_relaxed);
        }
        received_ += rows;
        publish_pending();
        if (stopping_) break;
        if (halted()) {
            left_out_ += rows;
            break;
        }
        co_await dispatch(std::move(batch));
        if (!infos.empty() && left_out_ == 0) add_infos(std::move(infos));
        // Records left out: the marker after them must not pass.
        if (marker != 0 && left_out_ == 0) co_await add_marker(marker);
    }
}

void FetchRun::add_infos(std::vector<BatchInfo> infos) {
    if (stopping_) return;
    window_.add_infos(std::move(infos));
    wake_.notify();
}

/// A checkpoint marker takes its place in the output after every record that came before it.
/// Unordered output sends records as they complete, so there the marker waits until every
/// earlier record has gone out (records after it are not read meanwhile).
asio::awaitable<void> FetchRun::add_marker(std::uint64_t id) {
    // (A record left unanswered by a stop never leaves the window: the marker is dropped.)
    if (!cfg_->ordered)
        while (!stopping_ && left_out_ == 0 && !window_.empty())
            co_await room_.wait();
    if (stopping_ || left_out_ > 0) co_return;
    window_.add_marker(id);
    epoch_ = id;
    wake_.notify();
}

/// Turns the records of one input batch into requests, taking a permit for each: waits while
/// the window (records in flight + completed but not yet emitted) is full.
asio::awaitable<void> FetchRun::dispatch(Batch batch) {
    auto chunk = std::make_shared<Chunk>();
    chunk->info = schemas_.get(batch.schema_ref());
    chunk->batch = std::move(batch);
    const std::size_t rows = chunk->batch.rows();
    const std::size_t unit = unit_of(*cfg_);
    for (std::size_t r = 0; r < rows && !stopping_; r += unit) {
        const std::size_t n = std::min(unit, rows - r);
        while (!stopping_ && !window_.empty() && window_.size() + n > window_cap_)
            co_await room_.wait();
        if (stopping_) break;
        if (halted()) {
            left_out_ += rows - r;
            break;
        }
        // The permit first: waiting for it may outlast a stop request.
        if (!co_await requests_.acquire()) break;
        if (stopping_ || halted()) {
            requests_.release();
            if (!stopping_) left_out_ += rows - r;
            break;
        }
        Job job;
        for (std::size_t k = 0; k < n; ++k)
            job.seqs.push_back(window_.add_record(chunk, r + k, epoch_));
        if (Status s = build_request(*cfg_, *chunk->info, chunk->batch, r, n, job.request); !s) {
            requests_.release();
            settle_failure(
                job, Error(ErrorKind::Runtime, "cannot build the request: " + s.error().message), 0,
                nullptr);
            continue;
        }
        ++tasks_;
        asio::co_spawn(ex_, run_job(std::move(job)),
                       [self = shared_from_this()](const std::exception_ptr& ep) {
                           --self->tasks_;
                           if (ep) self->internal_error(ep);
                           self->wake_.notify();
                       });
    }
}

asio::awaitable<void> FetchRun::run_job(Job job) {
    Fetched f = co_await requests_.fetch(job.request);
    switch (f.kind) {
    case Fetched::Kind::Stopped:
        break;
    case Fetched::Kind::Success:
        settle_success(job, std::move(*f.response));
        break;
    case Fetched::Kind::Refused:
        settle_failure(job, std::move(*f.error), f.attempts,
                       f.response ? to_response(std::move(*f.response)) : nullptr);
        break;
    case Fetched::Kind::Fatal:
        set_fatal(std::move(*f.error));
        break;
    case Fetched::Kind::Halted:
        if (halt_on_stop_ || !f.error) {
            // Batch mode: the records stay unanswered, and neither they nor any checkpoint
            // marker after them go out, so --resume asks for them again.
            left_out_ += job.seqs.size();
            room_.notify();
        } else {
            // Streaming mode commits what arrived: the record failed for good, and on_error
            // says what becomes of it (a dead letter can be replayed).
            settle_failure(job, std::move(*f.error), f.attempts,
                           f.response ? to_response(std::move(*f.response)) : nullptr);
        }
        break;
    }
}

void FetchRun::settle_success(const Job& job, net::HttpResponse resp) {
    auto shared = to_response(std::move(resp));
    for (std::uint64_t seq : job.seqs) {
        Slot& s = window_.at(seq);
        s.outcome = Outcome::Ok;
        s.response = shared;
    }
    ready_changed(job.seqs.size());
}

/// The records of `job` failed for good: on_error decides what becomes of them.
void FetchRun::settle_failure(const Job& job, Error error, std::uint32_t attempts,
                              const std::shared_ptr<const Response>& response) {
    const std::size_t n = job.seqs.size();
    if (metrics_) {
        metrics_->records_failed.fetch_add(n, std::memory_order_relaxed);
        metrics_->first_errors().note(error.message, error.where, n);
    }
    switch (cfg_->on_error) {
    case OnError::Null:
        for (std::uint64_t seq : job.seqs) {
            Slot& s = window_.at(seq);
            s.outcome = Outcome::Null;
            s.response = response;
        }
        // Still passed on: counted apart so no summary calls them left out.
        if (metrics_) metrics_->records_nulled.fetch_add(n, std::memory_order_relaxed);
        break;
    case OnError::Drop:
        for (std::uint64_t seq : job.seqs)
            window_.at(seq).outcome = Outcome::Removed;
        disposed_ += n;
        if (metrics_) metrics_->records_dropped.fetch_add(n, std::memory_order_relaxed);
        break;
    case OnError::DeadLetter:
        for (std::uint64_t seq : job.seqs) {
            Slot& s = window_.at(seq);
            s.outcome = Outcome::Removed;
            const Batch& b = s.chunk->batch;
            if (Status st = run_->dead_letters->add(stage_id_, b.schema(), b.row(s.row), error,
                                                    attempts, s.epoch);
                !st) {
                set_fatal(std::move(st).error());
                return;
            }
            ++disposed_;
            if (metrics_) metrics_->records_dead_lettered.fetch_add(1, std::memory_order_relaxed);
        }
        break;
    case OnError::Fail:
        disposed_ += n;
        for (std::uint64_t seq : job.seqs)
            window_.at(seq).outcome = Outcome::Removed;
        set_fatal(std::move(error));
        return;
    }
    if (spdlog::should_log(spdlog::level::debug))
        spdlog::debug("http.fetch '{}': {}", stage_id_, error.message);
    publish_pending();
    ready_changed(n);
}

void FetchRun::ready_changed(std::size_t settled) {
    window_.settled(settled);
    wake_.notify();
}

asio::awaitable<void> FetchRun::emit_loop(StreamOutput& out) {
    for (;;) {
        if (stopping_) co_return;
        const std::size_t ready = window_.ready();
        const bool idle = tasks_ == 0;
        if (ready > 0 && (ready >= window_.flush_threshold() || idle || linger_expired_)) {
            std::vector<Batch> batches = window_.take_ready();
            publish_pending();
            linger_expired_ = false;
            if (linger_armed_) {
                linger_armed_ = false;
                linger_->cancel();
            }
            room_.notify();
            for (Batch& b : batches) {
                if (b.empty() && b.checkpoint_id() == 0 && b.infos().empty()) continue;
                if (metrics_) metrics_->set_state(StageState::WaitingForOutput);
                const bool more = co_await out.emit(std::move(b));
                if (metrics_) metrics_->set_state(StageState::Running);
                if (!more) co_return; // nobody wants more (or the run is cancelled)
            }
            continue;
        }
        // Input over and nothing left that could become ready: done. (Records still pending
        // here were never dispatched because the stage is stopping.)
        if (!reader_running_ && tasks_ == 0 && ready == 0) co_return;
        if (ready > 0 && !linger_armed_) arm_linger();
        co_await wake_.wait();
    }
}

/// Settled records wait at most kLinger for companions before they go out in a batch.
void FetchRun::arm_linger() {
    linger_armed_ = true;
    linger_->expires_after(kLinger);
    linger_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        if (ec) return;
        if (auto self = weak.lock()) {
            self->linger_armed_ = false;
            self->linger_expired_ = true;
            self->wake_.notify();
        }
    });
}

} // namespace conveyor::plugins::http
