#include "http_fetch.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/net/clock.hpp"
#include "conveyor/net/concurrency_limiter.hpp"
#include "conveyor/net/http_client.hpp"
#include "conveyor/net/token_bucket.hpp"
#include "conveyor/net/url.hpp"
#include "conveyor/obs/http_metrics.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/stream_stage.hpp"

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <exception>
#include <map>
#include <unordered_map>

namespace asio = boost::asio;

namespace conveyor::plugins::http {

namespace {

constexpr std::size_t kNoColumn = static_cast<std::size_t>(-1);
/// How long completed records may wait for companions before they are emitted anyway.
constexpr std::chrono::milliseconds kLinger{20};

std::mutex g_hooks_mu;
TestHooks g_hooks;

TestHooks current_hooks() {
    std::lock_guard lock(g_hooks_mu);
    return g_hooks;
}

template <class T>
void raise_max(std::atomic<T>& a, T v) {
    T cur = a.load(std::memory_order_relaxed);
    while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
}

void add(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) {
    a.fetch_add(n, std::memory_order_relaxed);
}

/// Per input schema: the output layout and the templates bound to the input's columns.
struct SchemaInfo {
    SchemaRef input; ///< keeps the pointer used as cache key alive
    SchemaRef output;
    std::vector<std::size_t> source_column; ///< per output column: input column or kNoColumn
    std::size_t result_col = kNoColumn;
    std::size_t status_col = kNoColumn;
    std::size_t headers_col = kNoColumn;
    net::BoundTemplate url;
    std::optional<net::BoundTemplate> body;
    std::vector<net::BoundTemplate> headers;
};

/// One input batch, kept alive until every one of its records has been emitted (output rows
/// copy its values and share its storage).
struct Chunk {
    Batch batch;
    std::shared_ptr<const SchemaInfo> info;
};

/// A response shared by the records it answers (one per record, or one per group).
struct Response {
    int status = 0;
    std::vector<net::Header> headers;
    std::string body;
};

enum class Outcome : std::uint8_t { Pending, Ok, Null, Removed, Marker };

/// A record between arrival and emission, or a checkpoint marker (Outcome::Marker) that goes
/// out after the records before it.
struct Slot {
    std::shared_ptr<Chunk> chunk;
    std::size_t row = 0;
    Outcome outcome = Outcome::Pending;
    std::uint64_t marker = 0; ///< the checkpoint id of a marker
    std::uint64_t epoch =
        0; ///< the last checkpoint before the record (its dead letter waits for the next)
    std::shared_ptr<const Response> response; ///< the final response, if one arrived
};

/// One request and the records it serves.
struct Job {
    std::vector<std::uint64_t> seqs;
    net::HttpRequest request;
};

SchemaRef output_schema_for(const HttpFetchConfig& cfg, const Schema& in,
                            std::vector<std::size_t>* source, std::size_t* result_col,
                            std::size_t* status_col, std::size_t* headers_col) {
    std::vector<std::string> names = in.names();
    std::vector<std::size_t> src(names.size());
    for (std::size_t i = 0; i < src.size(); ++i)
        src[i] = i;
    auto place = [&](const std::string& name) {
        if (auto c = in.find(name)) {
            src[*c] = kNoColumn; // overwritten by the stage
            return *c;
        }
        names.push_back(name);
        src.push_back(kNoColumn);
        return names.size() - 1;
    };
    const std::size_t r = place(cfg.result_field);
    const std::size_t s = cfg.response_status ? place("response_status") : kNoColumn;
    const std::size_t h = cfg.response_headers ? place("response_headers") : kNoColumn;
    if (source) *source = std::move(src);
    if (result_col) *result_col = r;
    if (status_col) *status_col = s;
    if (headers_col) *headers_col = h;
    return make_schema(std::move(names));
}

/// Everything one run of the stage owns. Lives on the run's strand: every member is touched
/// only from coroutines and handlers running there.
class FetchRun : public std::enable_shared_from_this<FetchRun> {
public:
    /// `halt_on_stop`: batch mode, where a stopped run is resumed (see halted()).
    FetchRun(std::shared_ptr<const HttpFetchConfig> cfg, std::string stage_id, RunContext* run,
             StageMetrics* metrics, const StageErrors* errors, std::size_t input_batch,
             std::shared_ptr<HttpStats> stats, std::shared_ptr<net::TlsContext> tls,
             bool halt_on_stop)
        : halt_on_stop_(halt_on_stop), cfg_(std::move(cfg)), stage_id_(std::move(stage_id)),
          run_(run), metrics_(metrics), errors_(errors), stats_(std::move(stats)),
          tls_(std::move(tls)), limiter_(cfg_->concurrency) {
        if (metrics_) http_metrics_.emplace(*metrics_);
        const std::size_t unit = cfg_->mode == FetchMode::Batch ? cfg_->batch_size : 1;
        const std::size_t in_batch = std::max<std::size_t>(1, input_batch);
        window_cap_ = cfg_->concurrency * unit + in_batch;
        flush_threshold_ = std::max<std::size_t>(1, std::min(cfg_->concurrency * unit, in_batch));
    }

    asio::awaitable<Status> run(StreamInput& in, StreamOutput& out) {
        ex_ = co_await asio::this_coro::executor;
        net::ClientOptions copts;
        copts.max_response_bytes = cfg_->max_response_bytes;
        copts.max_idle_per_host = cfg_->concurrency;
        copts.tls = tls_;
        client_ = std::make_unique<net::HttpClient>(ex_, std::move(copts));
        TestHooks hooks = current_hooks();
        clock_ = hooks.make_clock ? hooks.make_clock(ex_) : net::make_steady_clock(ex_);
        random_ = hooks.random ? hooks.random : net::default_random();
        if (cfg_->rate_limit_per_second)
            bucket_.emplace(*cfg_->rate_limit_per_second, *cfg_->rate_limit_per_second,
                            clock_->now());
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

        reader_running_ = true;
        asio::co_spawn(
            ex_, read_loop(in),
            asio::bind_cancellation_slot(reader_cancel_.slot(),
                                         [self = shared_from_this()](std::exception_ptr ep) {
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
            spdlog::warn("stage '{}': stopped before requesting {} record{} it was given; the "
                         "run's last checkpoint comes before them, so --resume requests them",
                         stage_id_, left_out_, left_out_ == 1 ? "" : "s");
        finish_stats();
        if (fatal_) co_return *fatal_;
        co_return Status{};
    }

private:
    // ---- stopping ------------------------------------------------------------------------

    /// Ends everything still going: in-flight requests, sleeps, permit waiters, the reader.
    /// Idempotent; called when the output is done, on a fatal error and on cancellation.
    void stop() {
        if (stopping_) return;
        stopping_ = true;
        if (client_) client_->cancel_all();
        if (clock_) clock_->cancel_all();
        limiter_.close();
        reader_cancel_.emit(asio::cancellation_type::terminal);
        if (linger_) linger_->cancel();
        room_.notify();
        wake_.notify();
    }

    /// Batch mode and the run was asked to stop (first SIGINT/SIGTERM): no new request starts;
    /// the ones in flight finish. The records not requested are not passed on, nor is any
    /// checkpoint marker after them, so the last checkpoint lies before them and a resumed run
    /// requests them. (In streaming mode the run commits what arrived: every record goes on.)
    [[nodiscard]] bool halted() const noexcept {
        return halt_on_stop_ && run_ && run_->stop_requested();
    }

    void set_fatal(Error e) {
        if (!fatal_) fatal_ = std::move(e);
        stop();
    }

    void internal_error(std::exception_ptr ep) {
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            set_fatal(Error(ErrorKind::Internal, std::string("http.fetch: ") + e.what()));
        }
    }

    void finish_stats() {
        stats_->connections_opened.store(client_ ? client_->connections_opened() : 0);
        stats_->records_unfinished.store(unfinished());
        publish_pending();
    }

    /// Records received and not yet emitted or otherwise disposed of.
    [[nodiscard]] std::uint64_t unfinished() const {
        const std::uint64_t accounted = stats_->records_ok.load() + stats_->records_null.load() +
                                        stats_->records_dropped.load() +
                                        stats_->records_dead_lettered.load() +
                                        stats_->records_failed.load();
        const std::uint64_t in = stats_->records_in.load();
        return in > accounted ? in - accounted : 0;
    }
    /// The stage takes records far faster than it finishes them (they wait for responses):
    /// its rates count finished records, so they must know how many are still waiting.
    void publish_pending() {
        if (metrics_) metrics_->records_pending.store(unfinished(), std::memory_order_relaxed);
    }

    // ---- input ---------------------------------------------------------------------------

    asio::awaitable<void> read_loop(StreamInput& in) {
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
            if (!ev->batch || ev->batch->empty()) {
                if (marker != 0) co_await add_marker(marker);
                continue;
            }
            Batch batch = std::move(*ev->batch);
            const std::size_t rows = batch.rows();
            if (metrics_) {
                metrics_->records_in.fetch_add(rows, std::memory_order_relaxed);
                metrics_->batches_in.fetch_add(1, std::memory_order_relaxed);
            }
            add(stats_->records_in, rows);
            publish_pending();
            if (stopping_) break;
            if (halted()) {
                left_out_ += rows;
                break;
            }
            co_await dispatch(std::move(batch));
            // Records left out: the marker after them must not pass.
            if (marker != 0 && left_out_ == 0) co_await add_marker(marker);
        }
    }

    /// A checkpoint marker takes its place in the output after every record that came before
    /// it. Unordered output sends records as they complete, so there the marker waits until
    /// every earlier record has gone out (records after it are not read meanwhile).
    asio::awaitable<void> add_marker(std::uint64_t id) {
        if (!cfg_->ordered)
            while (!stopping_ && !slots_.empty())
                co_await room_.wait();
        if (stopping_) co_return;
        Slot& s = slots_[next_seq_++];
        s.outcome = Outcome::Marker;
        s.marker = id;
        epoch_ = id;
        ready_changed(1);
    }

    std::shared_ptr<const SchemaInfo> schema_info(const SchemaRef& in) {
        if (auto it = schemas_.find(in.get()); it != schemas_.end()) return it->second;
        // Heterogeneous input (JSON) may bring a new schema per batch; chunks keep their own.
        if (schemas_.size() >= 64) schemas_.clear();
        auto info = std::make_shared<SchemaInfo>();
        info->input = in;
        info->output = output_schema_for(*cfg_, *in, &info->source_column, &info->result_col,
                                         &info->status_col, &info->headers_col);
        info->url = net::BoundTemplate(cfg_->url, *in);
        if (cfg_->body) info->body.emplace(*cfg_->body, *in);
        for (const auto& [name, tpl] : cfg_->headers)
            info->headers.emplace_back(tpl, *in);
        schemas_.emplace(in.get(), info);
        return info;
    }

    /// Turns the records of one input batch into requests, taking a permit for each: waits
    /// while the window (records in flight + completed but not yet emitted) is full.
    asio::awaitable<void> dispatch(Batch batch) {
        auto chunk = std::make_shared<Chunk>();
        chunk->info = schema_info(batch.schema_ref());
        chunk->batch = std::move(batch);
        const std::size_t rows = chunk->batch.rows();
        const std::size_t unit = cfg_->mode == FetchMode::Batch ? cfg_->batch_size : 1;
        for (std::size_t r = 0; r < rows && !stopping_; r += unit) {
            const std::size_t n = std::min(unit, rows - r);
            while (!stopping_ && !slots_.empty() && slots_.size() + n > window_cap_)
                co_await room_.wait();
            if (stopping_) break;
            if (halted()) {
                left_out_ += rows - r;
                break;
            }
            // The permit first: waiting for it may outlast a stop request.
            if (!co_await limiter_.acquire()) break;
            if (stopping_ || halted()) {
                limiter_.release();
                if (!stopping_) left_out_ += rows - r;
                break;
            }
            Job job;
            for (std::size_t k = 0; k < n; ++k) {
                const std::uint64_t seq = next_seq_++;
                Slot& s = slots_[seq];
                s.chunk = chunk;
                s.row = r + k;
                s.epoch = epoch_;
                job.seqs.push_back(seq);
            }
            if (Status s = render(*chunk, r, n, job.request); !s) {
                limiter_.release();
                add(stats_->template_errors);
                settle_failure(
                    job,
                    Error(ErrorKind::Runtime, "cannot build the request: " + s.error().message), 0,
                    nullptr);
                continue;
            }
            ++tasks_;
            asio::co_spawn(ex_, run_job(std::move(job)),
                           [self = shared_from_this()](std::exception_ptr ep) {
                               --self->tasks_;
                               if (ep) self->internal_error(ep);
                               self->wake_.notify();
                           });
        }
    }

    Status render(Chunk& chunk, std::size_t row0, std::size_t n, net::HttpRequest& req) {
        const SchemaInfo& info = *chunk.info;
        req.method = cfg_->method;
        if (cfg_->mode == FetchMode::PerRow) {
            const auto row = chunk.batch.row(row0);
            if (Status s = info.url.render(row, net::Escape::Url, req.url); !s)
                return fail(ErrorKind::Data, "url: " + s.error().message);
            for (std::size_t i = 0; i < info.headers.size(); ++i) {
                std::string value;
                if (Status s = info.headers[i].render(row, net::Escape::Header, value); !s)
                    return fail(ErrorKind::Data,
                                "header " + cfg_->headers[i].first + ": " + s.error().message);
                req.headers.push_back({cfg_->headers[i].first, std::move(value)});
            }
            if (info.body) {
                if (Status s = info.body->render(row, net::Escape::Json, req.body); !s)
                    return fail(ErrorKind::Data, "body: " + s.error().message);
            }
        } else {
            // Batch mode: url and headers are literal (checked when the pipeline is loaded);
            // the body's {{ records }} is the group as a JSON array.
            req.url = cfg_->url.text();
            for (const auto& [name, tpl] : cfg_->headers)
                req.headers.push_back({name, tpl.text()});
            auto append_records = [&](std::string& out) {
                out += '[';
                for (std::size_t k = 0; k < n; ++k) {
                    if (k) out += ',';
                    json::append_record(out, chunk.batch.schema(), chunk.batch.row(row0 + k));
                }
                out += ']';
            };
            if (!cfg_->body) {
                append_records(req.body);
            } else {
                for (const auto& part : cfg_->body->parts()) {
                    req.body += part.literal;
                    if (part.is_placeholder()) append_records(req.body);
                }
            }
        }
        if ((cfg_->body || cfg_->mode == FetchMode::Batch) && !cfg_->content_type_given)
            req.headers.push_back({"Content-Type", "application/json"});
        return {};
    }

    // ---- requests ------------------------------------------------------------------------

    struct Verdict {
        bool success = false;
        bool retryable = false;
        std::string cause;
        std::optional<std::chrono::milliseconds> retry_after;
    };

    Verdict judge(const net::HttpResult& res) {
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
            if (v.retryable) {
                if (auto ra = res.response->header("retry-after"))
                    v.retry_after = net::parse_retry_after(*ra, clock_->system_now());
            }
            return v;
        }
        v.retryable = net::is_retryable(res.failure);
        v.cause = res.message;
        return v;
    }

    void count(const net::HttpResult& res) {
        if (res.ok()) {
            const int st = res.response->status;
            if (st >= 200 && st < 300)
                add(stats_->responses_2xx);
            else if (st >= 300 && st < 400)
                add(stats_->responses_3xx);
            else if (st >= 400 && st < 500)
                add(stats_->responses_4xx);
            else if (st >= 500 && st < 600)
                add(stats_->responses_5xx);
            else
                add(stats_->responses_other);
            return;
        }
        switch (res.failure) {
        case net::FailureKind::Timeout:
            add(stats_->timeouts);
            break;
        case net::FailureKind::Resolve:
        case net::FailureKind::Connect:
            add(stats_->connect_errors);
            break;
        case net::FailureKind::Reset:
            add(stats_->resets);
            break;
        case net::FailureKind::Tls:
            add(stats_->tls_errors);
            break;
        case net::FailureKind::TooLarge:
            add(stats_->too_large);
            break;
        default:
            break;
        }
    }

    /// The error a request ends with after `attempt` + 1 attempts.
    static Error refusal(const Job& job, const Verdict& v, std::uint32_t attempt) {
        const ErrorKind kind = v.retryable ? ErrorKind::TempFail : ErrorKind::Runtime;
        std::string message =
            job.request.method + " " + net::redact_url(job.request.url) + " failed";
        if (attempt > 0) message += " after " + std::to_string(attempt + 1) + " attempts";
        message += ": " + v.cause;
        return Error(kind, std::move(message));
    }

    /// One request with its retries. Entered holding a permit; gives it back while it sleeps
    /// between attempts and takes one again before the next.
    asio::awaitable<void> run_job(Job job) {
        std::uint32_t attempt = 0;
        for (;;) {
            if (bucket_) {
                const auto wait = bucket_->reserve(clock_->now());
                if (wait > std::chrono::nanoseconds::zero()) {
                    add(stats_->rate_limit_waits);
                    co_await clock_->wait_for(wait);
                }
            }
            if (stopping_) {
                limiter_.release();
                co_return;
            }
            // A response recorded in the run journal by an interrupted run (--resume) is not
            // requested again: a success, or a refusal that asking again would not change.
            const std::string journal_key =
                run_ && run_->journal ? request_key(job.request) : std::string();
            if (!journal_key.empty()) {
                if (auto recorded = run_->journal->lookup(stage_id_, journal_key)) {
                    net::HttpResult again;
                    again.response = decode_response(*recorded);
                    const Verdict v = again.ok() ? judge(again) : Verdict{};
                    if (again.ok() && (v.success || !v.retryable)) {
                        limiter_.release();
                        add(stats_->journal_hits);
                        if (v.success)
                            settle_success(job, std::move(*again.response));
                        else
                            settle_failure(job, refusal(job, v, attempt), attempt + 1,
                                           to_response(std::move(*again.response)));
                        co_return;
                    }
                }
            }
            ++in_flight_;
            raise_max(stats_->max_in_flight, static_cast<std::uint64_t>(in_flight_));
            add(stats_->requests_sent);
            const auto started = std::chrono::steady_clock::now();
            std::optional<obs::HttpMetrics::Request> live;
            if (http_metrics_) live.emplace(&*http_metrics_);
            net::HttpResult res = co_await client_->send(job.request, cfg_->timeout);
            if (live) {
                if (res.ok())
                    live->finish(static_cast<unsigned>(res.response->status));
                else
                    live->finish_error();
            }
            --in_flight_;
            limiter_.release();
            if (spdlog::should_log(spdlog::level::debug)) {
                const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count();
                spdlog::debug("http.fetch '{}': {} {} -> {} in {} ms (attempt {})", stage_id_,
                              job.request.method, net::redact_url(job.request.url),
                              res.ok() ? std::to_string(res.response->status) : res.message, ms,
                              attempt + 1);
            }
            if (stopping_) co_return;
            count(res);
            Verdict v = judge(res);
            if (v.success || (res.ok() && !v.retryable)) {
                if (!journal_key.empty()) {
                    if (Status st = run_->journal->record(stage_id_, journal_key,
                                                          encode_response(*res.response));
                        !st) {
                        set_fatal(std::move(st).error().in_stage(stage_id_));
                        co_return;
                    }
                }
                if (v.success) {
                    settle_success(job, std::move(*res.response));
                    co_return;
                }
            }
            std::shared_ptr<const Response> final_response;
            if (res.ok()) final_response = to_response(std::move(*res.response));
            if (!v.retryable || attempt >= cfg_->retries) {
                settle_failure(job, refusal(job, v, attempt), attempt + 1, final_response);
                co_return;
            }
            const std::chrono::milliseconds delay =
                v.retry_after ? std::min(*v.retry_after, cfg_->backoff.max_delay)
                              : cfg_->backoff.delay(attempt, random_);
            add(stats_->retries);
            if (metrics_) metrics_->retries.fetch_add(1, std::memory_order_relaxed);
            if (!co_await clock_->wait_for(delay)) co_return;
            if (!co_await limiter_.acquire()) co_return;
            ++attempt;
        }
    }

    /// What identifies a request for the run journal: method, URL, headers and body.
    static std::string request_key(const net::HttpRequest& r) {
        std::string k = r.method;
        k += '\n';
        k += r.url;
        for (const auto& h : r.headers) {
            k += '\n';
            k += h.name;
            k += ':';
            k += h.value;
        }
        k += "\n\n";
        k += r.body;
        return RunJournal::fingerprint(k);
    }

    /// A response as one line of JSON for the journal: {"s":200,"h":[["k","v"],...],"b":"..."}.
    static std::string encode_response(const net::HttpResponse& r) {
        std::string out = "{\"s\":";
        json::append_int(out, r.status);
        out += ",\"r\":";
        json::append_string(out, r.reason);
        out += ",\"h\":[";
        for (std::size_t i = 0; i < r.headers.size(); ++i) {
            if (i) out += ',';
            out += '[';
            json::append_string(out, r.headers[i].name);
            out += ',';
            json::append_string(out, r.headers[i].value);
            out += ']';
        }
        out += "],\"b\":";
        json::append_string(out, r.body);
        out += '}';
        return out;
    }

    static std::optional<net::HttpResponse> decode_response(const std::string& text) {
        json::Parser parser;
        Arena arena;
        auto v = parser.parse(text, arena);
        if (!v || v->kind() != Kind::Object) return std::nullopt;
        const Value* s = v->find("s");
        const Value* r = v->find("r");
        const Value* h = v->find("h");
        const Value* b = v->find("b");
        if (!s || s->kind() != Kind::Int || !b || b->kind() != Kind::String || !h ||
            h->kind() != Kind::Array)
            return std::nullopt;
        net::HttpResponse resp;
        resp.status = static_cast<int>(s->as_int());
        if (r && r->kind() == Kind::String) resp.reason = std::string(r->as_string());
        for (const Value& pair : h->as_array()) {
            if (pair.kind() != Kind::Array || pair.as_array().size() != 2) return std::nullopt;
            resp.headers.push_back({std::string(pair.as_array()[0].as_string()),
                                    std::string(pair.as_array()[1].as_string())});
        }
        resp.body = std::string(b->as_string());
        return resp;
    }

    static std::shared_ptr<const Response> to_response(net::HttpResponse r) {
        auto out = std::make_shared<Response>();
        out->status = r.status;
        out->headers = std::move(r.headers);
        out->body = std::move(r.body);
        return out;
    }

    void settle_success(const Job& job, net::HttpResponse resp) {
        auto shared = to_response(std::move(resp));
        for (std::uint64_t seq : job.seqs) {
            Slot& s = slots_.at(seq);
            s.outcome = Outcome::Ok;
            s.response = shared;
        }
        ready_changed(job.seqs.size());
    }

    void settle_failure(const Job& job, Error error, std::uint32_t attempts,
                        std::shared_ptr<const Response> response) {
        const std::size_t n = job.seqs.size();
        if (metrics_) {
            metrics_->records_failed.fetch_add(n, std::memory_order_relaxed);
            metrics_->first_errors().note(error.message, error.where, n);
        }
        switch (cfg_->on_error) {
        case OnError::Null:
            for (std::uint64_t seq : job.seqs) {
                Slot& s = slots_.at(seq);
                s.outcome = Outcome::Null;
                s.response = response;
            }
            // Still passed on: counted apart so no summary calls them left out.
            if (metrics_) metrics_->records_nulled.fetch_add(n, std::memory_order_relaxed);
            break;
        case OnError::Drop:
            for (std::uint64_t seq : job.seqs)
                slots_.at(seq).outcome = Outcome::Removed;
            add(stats_->records_dropped, n);
            if (metrics_) metrics_->records_dropped.fetch_add(n, std::memory_order_relaxed);
            break;
        case OnError::DeadLetter:
            for (std::uint64_t seq : job.seqs) {
                Slot& s = slots_.at(seq);
                s.outcome = Outcome::Removed;
                const Batch& b = s.chunk->batch;
                if (Status st = run_->dead_letters->add(stage_id_, b.schema(), b.row(s.row), error,
                                                        attempts, s.epoch);
                    !st) {
                    set_fatal(std::move(st).error());
                    return;
                }
                add(stats_->records_dead_lettered);
                if (metrics_)
                    metrics_->records_dead_lettered.fetch_add(1, std::memory_order_relaxed);
            }
            break;
        case OnError::Fail:
            add(stats_->records_failed, n);
            for (std::uint64_t seq : job.seqs)
                slots_.at(seq).outcome = Outcome::Removed;
            set_fatal(std::move(error));
            return;
        }
        if (spdlog::should_log(spdlog::level::debug))
            spdlog::debug("http.fetch '{}': {}", stage_id_, error.message);
        publish_pending();
        ready_changed(n);
    }

    void ready_changed(std::size_t settled) {
        if (cfg_->ordered) {
            for (;;) {
                auto it = slots_.find(ready_end_);
                if (it == slots_.end() || it->second.outcome == Outcome::Pending) break;
                ++ready_end_;
            }
        } else {
            unordered_ready_ += settled;
        }
        wake_.notify();
    }

    // ---- output --------------------------------------------------------------------------

    [[nodiscard]] std::size_t ready_count() const {
        if (cfg_->ordered) return static_cast<std::size_t>(ready_end_ - emitted_end_);
        return unordered_ready_;
    }

    asio::awaitable<void> emit_loop(StreamOutput& out) {
        for (;;) {
            if (stopping_) co_return;
            const std::size_t ready = ready_count();
            const bool idle = tasks_ == 0;
            if (ready > 0 && (ready >= flush_threshold_ || idle || linger_expired_)) {
                std::vector<Batch> batches = take_ready();
                publish_pending();
                linger_expired_ = false;
                if (linger_armed_) {
                    linger_armed_ = false;
                    linger_->cancel();
                }
                room_.notify();
                for (Batch& b : batches) {
                    if (b.empty() && b.checkpoint_id() == 0) continue;
                    if (metrics_) metrics_->set_state(StageState::WaitingForOutput);
                    const bool more = co_await out.emit(std::move(b));
                    if (metrics_) metrics_->set_state(StageState::Running);
                    if (!more) co_return; // nobody wants more (or the run is cancelled)
                }
                continue;
            }
            // Input over and nothing left that could become ready: done. (Records still
            // pending here were never dispatched because the stage is stopping.)
            if (!reader_running_ && tasks_ == 0 && ready == 0) co_return;
            if (ready > 0 && !linger_armed_) {
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
            co_await wake_.wait();
        }
    }

    Value parse_body(const Response& r, Arena& arena) {
        if (r.body.empty()) return Value::null();
        Result<Value> v = parser_.parse(r.body, arena);
        if (v) return *v;
        return Value::string(arena.copy(r.body));
    }

    Value headers_object(const Response& r, Arena& arena) {
        std::vector<std::pair<std::string, std::string>> merged;
        for (const net::Header& h : r.headers) {
            std::string name = ascii_lower(h.name);
            auto it = std::find_if(merged.begin(), merged.end(),
                                   [&](const auto& m) { return m.first == name; });
            if (it == merged.end())
                merged.emplace_back(std::move(name), h.value);
            else
                it->second += ", " + h.value;
        }
        Member* members = arena.allocate_array<Member>(merged.size());
        for (std::size_t i = 0; i < merged.size(); ++i) {
            members[i].key = arena.copy(merged[i].first);
            members[i].value = Value::string(arena.copy(merged[i].second));
        }
        return Value::object(members, static_cast<std::uint32_t>(merged.size()));
    }

    /// Moves every emittable record into output batches (one per run of equal schemas).
    std::vector<Batch> take_ready() {
        std::vector<Batch> batches;
        std::vector<std::size_t> payload; // per batch: bytes its values point to (for budgets)
        const SchemaInfo* info_of_last = nullptr;
        std::vector<const Chunk*> shared;
        std::unordered_map<const Response*, Value> parsed; // batch mode: one parse per batch
        auto put = [&](Slot& s) {
            if (s.outcome == Outcome::Removed) return;
            if (s.outcome == Outcome::Marker) {
                // On the last batch (its records come before the marker), or alone.
                if (!batches.empty() && batches.back().checkpoint_id() == 0 &&
                    !batches.back().empty()) {
                    batches.back().set_checkpoint(s.marker);
                } else {
                    batches.push_back(Batch::checkpoint_marker(s.marker));
                    payload.push_back(0);
                }
                info_of_last = nullptr; // records after it start a batch of their own
                return;
            }
            // Counted when emitted, so that a stage stopping early reports settled but
            // unemitted records as unfinished.
            add(s.outcome == Outcome::Ok ? stats_->records_ok : stats_->records_null);
            const SchemaInfo& info = *s.chunk->info;
            if (batches.empty() || info_of_last != &info) {
                batches.emplace_back(info.output, flush_threshold_);
                payload.push_back(0);
                info_of_last = &info;
                shared.clear();
                parsed.clear();
            }
            Batch& out = batches.back();
            if (std::find(shared.begin(), shared.end(), s.chunk.get()) == shared.end()) {
                out.share_storage_of(s.chunk->batch);
                shared.push_back(s.chunk.get());
            }
            const auto in_row = s.chunk->batch.row(s.row);
            payload.back() += s.chunk->batch.payload_bytes() / s.chunk->batch.rows();
            auto row = out.append_row();
            for (std::size_t c = 0; c < row.size(); ++c)
                if (info.source_column[c] != kNoColumn) row[c] = in_row[info.source_column[c]];
            Value result = Value::null();
            if (s.outcome == Outcome::Ok) {
                auto it = parsed.find(s.response.get());
                if (it == parsed.end()) {
                    it = parsed.emplace(s.response.get(), parse_body(*s.response, out.arena()))
                             .first;
                    payload.back() += s.response->body.size();
                }
                result = it->second;
            }
            row[info.result_col] = result;
            if (info.status_col != kNoColumn)
                row[info.status_col] =
                    s.response ? Value::integer(s.response->status) : Value::null();
            if (info.headers_col != kNoColumn)
                row[info.headers_col] =
                    s.response ? headers_object(*s.response, out.arena()) : Value::null();
        };
        if (cfg_->ordered) {
            auto it = slots_.begin();
            while (it != slots_.end() && it->first < ready_end_) {
                put(it->second);
                it = slots_.erase(it);
            }
            emitted_end_ = ready_end_;
        } else {
            for (auto it = slots_.begin(); it != slots_.end();) {
                if (it->second.outcome == Outcome::Pending) {
                    ++it;
                    continue;
                }
                put(it->second);
                it = slots_.erase(it);
            }
            unordered_ready_ = 0;
        }
        for (std::size_t i = 0; i < batches.size(); ++i)
            batches[i].set_payload_bytes(payload[i]);
        return batches;
    }

    bool halt_on_stop_;
    std::shared_ptr<const HttpFetchConfig> cfg_;
    std::string stage_id_;
    RunContext* run_;
    StageMetrics* metrics_;
    const StageErrors* errors_;
    std::optional<obs::HttpMetrics> http_metrics_; ///< live series for /metrics
    std::shared_ptr<HttpStats> stats_;
    std::shared_ptr<net::TlsContext> tls_;

    asio::any_io_executor ex_;
    std::unique_ptr<net::HttpClient> client_;
    std::unique_ptr<net::Clock> clock_;
    net::UniformRandom random_;
    std::optional<net::TokenBucket> bucket_;
    net::ConcurrencyLimiter limiter_;
    net::WakeSignal wake_; ///< the emitter: something became ready, a task ended, stop
    net::WakeSignal room_; ///< the reader: the window has room again, stop
    asio::cancellation_signal reader_cancel_;
    std::optional<asio::steady_timer> linger_;
    bool linger_armed_ = false;
    bool linger_expired_ = false;
    json::Parser parser_;

    std::unordered_map<const Schema*, std::shared_ptr<const SchemaInfo>> schemas_;
    std::map<std::uint64_t, Slot> slots_;
    std::uint64_t next_seq_ = 0;
    std::uint64_t epoch_ = 0;       ///< the last checkpoint marker read
    std::uint64_t ready_end_ = 0;   ///< ordered: every seq below is settled
    std::uint64_t emitted_end_ = 0; ///< ordered: every seq below has been emitted
    std::size_t unordered_ready_ = 0;
    std::size_t window_cap_ = 0;
    std::size_t flush_threshold_ = 1;
    std::size_t tasks_ = 0;
    std::size_t in_flight_ = 0;
    bool reader_running_ = false;
    bool stopping_ = false;
    std::uint64_t left_out_ = 0; ///< records never requested because of a stop (halted())
    std::optional<Error> fatal_;
};

class FetchOperator final : public StreamOperator {
public:
    FetchOperator(std::shared_ptr<const HttpFetchConfig> cfg, std::string stage_id, RunContext* run,
                  StageMetrics* metrics, const StageErrors* errors, std::size_t input_batch,
                  std::shared_ptr<HttpStats> stats, std::shared_ptr<net::TlsContext> tls,
                  bool halt_on_stop)
        : cfg_(std::move(cfg)), stage_id_(std::move(stage_id)), run_(run), metrics_(metrics),
          errors_(errors), input_batch_(input_batch), stats_(std::move(stats)),
          tls_(std::move(tls)), halt_on_stop_(halt_on_stop) {}

    asio::awaitable<Status> run(StreamInput& in, StreamOutput& out) override {
        auto r = std::make_shared<FetchRun>(cfg_, stage_id_, run_, metrics_, errors_, input_batch_,
                                            stats_, tls_, halt_on_stop_);
        Status s = co_await r->run(in, out);
        co_return s;
    }

private:
    std::shared_ptr<const HttpFetchConfig> cfg_;
    std::string stage_id_;
    RunContext* run_;
    StageMetrics* metrics_;
    const StageErrors* errors_;
    std::size_t input_batch_;
    std::shared_ptr<HttpStats> stats_;
    std::shared_ptr<net::TlsContext> tls_;
    bool halt_on_stop_;
};

} // namespace

HttpFetchStage::HttpFetchStage(HttpFetchConfig config)
    : config_(std::make_shared<const HttpFetchConfig>(std::move(config))) {}

std::shared_ptr<const HttpStats> HttpFetchStage::last_stats() const {
    std::lock_guard lock(mu_);
    return last_stats_;
}

Result<OpenedStage> HttpFetchStage::open(const OpenContext& ctx) const {
    // What the options leave open follows the stage's error handling.
    std::shared_ptr<const HttpFetchConfig> effective = config_;
    if (ctx.errors &&
        (!config_->on_error_given || !config_->retries_given || !config_->backoff_given)) {
        auto c = std::make_shared<HttpFetchConfig>(*config_);
        const ErrorHandlingSpec& policy = ctx.errors->policy();
        if (!c->on_error_given) {
            const bool has_dlq = ctx.run && ctx.run->dead_letters;
            c->on_error = !policy.continues() ? OnError::Fail
                          : has_dlq           ? OnError::DeadLetter
                                              : OnError::Drop;
        }
        if (policy.strategy == ErrorStrategy::Retry) {
            if (!c->retries_given) c->retries = policy.max_retries;
            if (!c->backoff_given) {
                c->backoff.base_delay = std::chrono::milliseconds(
                    static_cast<std::int64_t>(policy.retry_delay_seconds * 1000));
                c->backoff.max_delay = std::chrono::milliseconds(
                    static_cast<std::int64_t>(policy.max_retry_delay_seconds * 1000));
            }
        }
        effective = std::move(c);
    }
    const HttpFetchConfig& cfg = *effective;
    if (cfg.on_error == OnError::DeadLetter && (!ctx.run || !ctx.run->dead_letters))
        return fail(ErrorKind::Config,
                    "on_error = \"dead_letter\" needs the dead-letter queue: enable it with "
                    "[error_handling] dead_letter_queue = { enabled = true, path = \"...\" }");
    std::shared_ptr<net::TlsContext> tls;
    const bool https = cfg.url.literal_prefix().size() >= 8 &&
                       (cfg.url.literal_prefix().substr(0, 8) == "https://" ||
                        cfg.url.literal_prefix().substr(0, 8) == "HTTPS://");
    if (https || !cfg.ca_file.empty()) {
        auto t = net::TlsContext::create({cfg.tls_verify, cfg.ca_file});
        if (!t) return std::move(t).error();
        tls = std::move(t).value();
    }
    auto stats = std::make_shared<HttpStats>();
    {
        std::lock_guard lock(mu_);
        last_stats_ = stats;
    }
    SchemaRef initial;
    bool fixed = false;
    if (!ctx.input_schemas.empty() && ctx.input_schemas[0]) {
        initial = output_schema_for(cfg, *ctx.input_schemas[0], nullptr, nullptr, nullptr, nullptr);
        fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
    }
    OpenedStage opened(
        std::unique_ptr<StreamOperator>(std::make_unique<FetchOperator>(
            effective, std::string(ctx.stage_id), ctx.run, ctx.metrics, ctx.errors, ctx.batch_size,
            std::move(stats), std::move(tls), ctx.mode == ExecutionMode::Batch)),
        std::move(initial));
    opened.fixed_schema = fixed;
    // Markers pass on after the records before them; responses are in the run journal.
    opened.checkpoints = true;
    return opened;
}

void set_test_hooks(TestHooks hooks) {
    std::lock_guard lock(g_hooks_mu);
    g_hooks = std::move(hooks);
}

} // namespace conveyor::plugins::http
