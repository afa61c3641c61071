#include "http_fetch.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/stage/stream_stage.hpp"
#include "fetch_run.hpp"
#include "fetch_schema.hpp"

#include <utility>

namespace asio = boost::asio;

namespace conveyor::plugins::http {

namespace {

/// The stage's StreamOperator: a fresh FetchRun each time the executor runs it.
class FetchOperator final : public StreamOperator {
public:
    FetchOperator(std::shared_ptr<const HttpFetchConfig> cfg, std::string stage_id, RunContext* run,
                  StageMetrics* metrics, const StageErrors* errors, std::size_t input_batch,
                  std::shared_ptr<net::TlsContext> tls, bool halt_on_stop)
        : cfg_(std::move(cfg)), stage_id_(std::move(stage_id)), run_(run), metrics_(metrics),
          errors_(errors), input_batch_(input_batch), tls_(std::move(tls)),
          halt_on_stop_(halt_on_stop) {}

    asio::awaitable<Status> run(StreamInput& in, StreamOutput& out) override {
        auto r = std::make_shared<FetchRun>(cfg_, stage_id_, run_, metrics_, errors_, input_batch_,
                                            tls_, halt_on_stop_);
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
    std::shared_ptr<net::TlsContext> tls_;
    bool halt_on_stop_;
};

/// The configuration with what the options leave open taken from the stage's error handling.
std::shared_ptr<const HttpFetchConfig>
effective_config(const std::shared_ptr<const HttpFetchConfig>& config, const OpenContext& ctx) {
    if (!ctx.errors || (config->on_error_given && config->retries_given && config->backoff_given))
        return config;
    auto c = std::make_shared<HttpFetchConfig>(*config);
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
    return c;
}

} // namespace

HttpFetchStage::HttpFetchStage(HttpFetchConfig config)
    : config_(std::make_shared<const HttpFetchConfig>(std::move(config))) {}

Result<OpenedStage> HttpFetchStage::open(const OpenContext& ctx) const {
    std::shared_ptr<const HttpFetchConfig> effective = effective_config(config_, ctx);
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
    SchemaRef initial;
    bool fixed = false;
    if (!ctx.input_schemas.empty() && ctx.input_schemas[0]) {
        initial = output_layout(cfg, *ctx.input_schemas[0]).schema;
        fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
    }
    OpenedStage opened(std::unique_ptr<StreamOperator>(std::make_unique<FetchOperator>(
                           effective, std::string(ctx.stage_id), ctx.run, ctx.metrics, ctx.errors,
                           ctx.batch_size, std::move(tls), ctx.mode == ExecutionMode::Batch)),
                       std::move(initial));
    opened.fixed_schema = fixed;
    // Markers pass on after the records before them; responses are in the run journal.
    opened.checkpoints = true;
    return opened;
}

} // namespace conveyor::plugins::http
