#include "conveyor/config/limits.hpp"
#include "conveyor/core/ascii.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "http_fetch.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace conveyor::plugins {

namespace {

using http::FetchMode;
using http::HttpFetchConfig;
using http::OnError;

/// http.fetch's options as its table fills them. A member with an initializer has that
/// default; an optional one without is absent unless the pipeline gives it.
struct HttpFetchOptions {
    std::string url;
    std::string method = "GET";
    FetchMode mode = FetchMode::PerRow;
    std::string result_field = "http_result";
    std::optional<StringPairs> headers;
    std::optional<std::string> body;
    /// Filled from [global] concurrency by the loader when not given (`inherits`).
    std::optional<std::size_t> concurrency;
    bool ordered = true;
    std::uint32_t retries = 3;
    std::int64_t retry_base_delay_ms = 100;
    std::int64_t max_retry_delay_ms = 10000;
    /// Absent: the stage's error strategy decides when it opens.
    std::optional<OnError> on_error;
    std::int64_t timeout_ms = 30000;
    std::optional<double> timeout_seconds;
    std::size_t max_response_bytes = 10u << 20;
    bool response_status = false;
    bool response_headers = false;
    std::optional<double> rate_limit_per_second;
    bool tls_verify = true;
    std::optional<std::string> ca_file;
    std::size_t batch_size = 100;
};

const OptionTable<HttpFetchOptions>& fetch_options() {
    using O = HttpFetchOptions;
    static const auto table =
        OptionTable<O>()
            .add("url", &O::url,
                 {.description = "URL template, e.g. \"https://api.example.com/users/{{ id }}\".",
                  .required = true})
            .add("method", &O::method,
                 {.description = "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (POST by default "
                                 "in mode = \"batch\")."})
            .add_choice(
                "mode", &O::mode, {{"per_row", FetchMode::PerRow}, {"batch", FetchMode::Batch}},
                {.description = "\"per_row\": one request per record; \"batch\": one request per "
                                "group of batch_size records, whose body's {{ records }} is the "
                                "group as a JSON array (the whole body when no body is given); the "
                                "response is attached to every record of the group."})
            .add("result_field", &O::result_field,
                 {.description = "Field that receives the parsed response (null on failure with "
                                 "on_error = \"null\")."})
            .add("headers", &O::headers,
                 {.description = "Request headers; values are templates. Never logged."})
            .add("body", &O::body,
                 {.description = "Request body template (values JSON-escaped, strings without "
                                 "quotes). Content-Type defaults to application/json."})
            .add("concurrency", &O::concurrency,
                 {.description = "Requests in flight at most (default: [global] concurrency).",
                  .min = 1,
                  .max = config::kMaxConcurrency,
                  .inherits = "concurrency"})
            .add("ordered", &O::ordered,
                 {.description = "Emit records in input order (false: as responses arrive)."})
            .add("retries", &O::retries,
                 {.description = "Retries after the first attempt for transient failures.",
                  .min = 0,
                  .max = 100})
            .add("retry_base_delay_ms", &O::retry_base_delay_ms,
                 {.description = "Backoff base: retry n waits a random time in [0, min("
                                 "max_retry_delay_ms, retry_base_delay_ms * 2^n)].",
                  .min = 0,
                  .max = 3600000,
                  .unit = OptionUnit::Milliseconds})
            .add("max_retry_delay_ms", &O::max_retry_delay_ms,
                 {.description = "Longest wait before a retry (also caps Retry-After).",
                  .min = 0,
                  .max = 3600000,
                  .unit = OptionUnit::Milliseconds})
            .add_choice("on_error", &O::on_error,
                        {{"null", OnError::Null},
                         {"drop", OnError::Drop},
                         {"fail", OnError::Fail},
                         {"dead_letter", OnError::DeadLetter}},
                        {.description =
                             "After the last attempt: \"null\" (keep the record with a null "
                             "result, the earlier tool's behaviour), \"drop\", \"fail\" or "
                             "\"dead_letter\" (needs [error_handling] dead_letter_queue). "
                             "Default: what the stage's error strategy says (stop: fail; "
                             "continue: dead_letter, or drop without a queue)."})
            .add("timeout_ms", &O::timeout_ms,
                 {.description = "Deadline per attempt: connect, TLS, sending and the whole "
                                 "response.",
                  .min = 1,
                  .max = 86400000,
                  .unit = OptionUnit::Milliseconds})
            // timeout_ms's range: a longer deadline would overflow when turned into
            // milliseconds.
            .add("timeout_seconds", &O::timeout_seconds,
                 {.description = "The same deadline in seconds (the earlier tool's key); give "
                                 "either this or timeout_ms.",
                  .min = 0.001,
                  .max = 86400,
                  .unit = OptionUnit::Seconds,
                  .aliases = {"timeout"}})
            .add("max_response_bytes", &O::max_response_bytes,
                 {.description = "Larger response bodies are an error for that record, before "
                                 "and after undoing a gzip or deflate Content-Encoding.",
                  .min = 0,
                  .max = 4.0e9})
            .add("response_status", &O::response_status,
                 {.description = "Add field response_status (the final HTTP status)."})
            .add("response_headers", &O::response_headers,
                 {.description = "Add field response_headers (object, lower-case names)."})
            // Below the minimum the waits of queued requests no longer fit the timer's
            // nanoseconds (a rate of 1e-10 overflowed into no limit at all); above the maximum
            // the bucket's arithmetic loses whole tokens.
            .add("rate_limit_per_second", &O::rate_limit_per_second,
                 {.description = "Request rate cap for the stage, retries included (token "
                                 "bucket, bursts of at most one second's worth); from 0.001 (one "
                                 "request every 1000 s) to 1e9.",
                  .min = 0.001,
                  .max = 1e9})
            .add("tls_verify", &O::tls_verify,
                 {.description = "Verify server certificates and host names (https)."})
            .add("ca_file", &O::ca_file,
                 {.description = "PEM file of extra trusted CA certificates (self-signed "
                                 "servers)."})
            .add("batch_size", &O::batch_size,
                 {.description = "Records per request in mode = \"batch\".",
                  .min = 1,
                  .max = 1000000});
    return table;
}

bool is_token_char(unsigned char c) {
    return std::isalnum(c) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

/// The URL template, whose scheme must be written out (a record field cannot choose it).
void read_url(BuildContext& ctx, const std::string& text, HttpFetchConfig& cfg) {
    auto url = net::Template::parse(text);
    if (!url) {
        ctx.error("url", "invalid url template: " + url.error().message);
        return;
    }
    cfg.url = std::move(url).value();
    const std::string prefix = ascii_lower(cfg.url.literal_prefix().substr(0, 8));
    if (!prefix.starts_with("http://") && !prefix.starts_with("https://"))
        ctx.error("url", "must start with http:// or https:// (the scheme cannot come from a "
                         "record field)");
}

/// Header names must be HTTP tokens, not ones conveyor sets itself; values are templates
/// without line breaks.
void read_headers(BuildContext& ctx, const StringPairs& headers, HttpFetchConfig& cfg) {
    for (const auto& [name, value] : headers) {
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
                return is_token_char(static_cast<unsigned char>(c));
            })) {
            ctx.error("headers", "\"" + name + "\" is not a valid header name");
            continue;
        }
        const std::string lname = ascii_lower(name);
        if (lname == "host" || lname == "content-length" || lname == "transfer-encoding") {
            ctx.error("headers", "header \"" + name +
                                     "\" is set by conveyor from the URL and body; remove it");
            continue;
        }
        if (value.find_first_of("\r\n") != std::string::npos) {
            ctx.error("headers", "the value of header \"" + name + "\" contains a line break");
            continue;
        }
        if (lname == "content-type") cfg.content_type_given = true;
        auto tpl = net::Template::parse(value);
        if (!tpl) {
            ctx.error("headers",
                      "invalid template for header \"" + name + "\": " + tpl.error().message);
            continue;
        }
        cfg.headers.emplace_back(name, std::move(tpl).value());
    }
}

/// In mode = "batch" one request carries many records: only the body's {{ records }} may
/// come from them.
void check_batch_templates(BuildContext& ctx, const HttpFetchConfig& cfg) {
    if (cfg.url.has_placeholders())
        ctx.error("url", "in mode = \"batch\" the URL cannot use record fields: one request "
                         "carries many records (put them in the body with {{ records }})");
    for (const auto& [name, tpl] : cfg.headers)
        if (tpl.has_placeholders())
            ctx.error("headers",
                      "in mode = \"batch\" header \"" + name + "\" cannot use record fields");
    if (cfg.body) {
        for (const std::string& n : cfg.body->names())
            if (n != "records")
                ctx.error("body", "in mode = \"batch\" the body can only use {{ records }} (the "
                                  "group's records as a JSON array), not {{ " +
                                      n + " }}");
    }
}

/// The stage from its options; reports what their declarations cannot say: templates, header
/// names, method spelling and the options that depend on each other.
std::unique_ptr<Stage> build_fetch(BuildContext& ctx, const HttpFetchOptions& o) {
    // Whether the pipeline wrote a key that has a default: the filled struct holds the
    // default either way, and `conveyor describe` shows these defaults.
    const Options& given = ctx.options();
    HttpFetchConfig cfg;

    read_url(ctx, o.url, cfg);

    cfg.method = upper(o.method);
    static const std::vector<std::string> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};
    if (std::find(kMethods.begin(), kMethods.end(), cfg.method) == kMethods.end())
        ctx.error("method", "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, not \"" +
                                o.method + "\"");

    cfg.mode = o.mode;
    if (cfg.mode == FetchMode::Batch && !given.given("method")) cfg.method = "POST";

    cfg.result_field = o.result_field;
    if (cfg.result_field.empty()) ctx.error("result_field", "must not be empty");

    if (o.headers) read_headers(ctx, *o.headers, cfg);

    if (o.body) {
        if (auto body = net::Template::parse(*o.body); body)
            cfg.body = std::move(body).value();
        else
            ctx.error("body", "invalid body template: " + body.error().message);
    }

    if (cfg.mode == FetchMode::Batch) check_batch_templates(ctx, cfg);

    // Only a build outside the loader (which fills it from [global]) leaves it absent.
    cfg.concurrency = o.concurrency.value_or(1);
    cfg.ordered = o.ordered;
    cfg.retries = o.retries;
    cfg.backoff.base_delay = std::chrono::milliseconds{o.retry_base_delay_ms};
    cfg.backoff.max_delay = std::chrono::milliseconds{o.max_retry_delay_ms};
    cfg.retries_given = given.given("retries");
    cfg.backoff_given = given.given("retry_base_delay_ms") || given.given("max_retry_delay_ms");
    cfg.on_error_given = o.on_error.has_value();
    cfg.on_error = o.on_error.value_or(OnError::Null);

    if (o.timeout_seconds && given.given("timeout_ms"))
        ctx.error("timeout_seconds", "give either timeout_ms or timeout_seconds, not both");
    else if (o.timeout_seconds)
        cfg.timeout = std::chrono::milliseconds{std::max<std::int64_t>(
            1, static_cast<std::int64_t>(std::llround(*o.timeout_seconds * 1000)))};
    else
        cfg.timeout = std::chrono::milliseconds{o.timeout_ms};

    cfg.max_response_bytes = o.max_response_bytes;
    cfg.response_status = o.response_status;
    cfg.response_headers = o.response_headers;
    cfg.rate_limit_per_second = o.rate_limit_per_second;
    cfg.tls_verify = o.tls_verify;
    if (o.ca_file) {
        cfg.ca_file = *o.ca_file;
        if (cfg.ca_file.empty()) ctx.error("ca_file", "must name a PEM file");
        if (!cfg.tls_verify)
            ctx.warning("ca_file", "ca_file has no effect with tls_verify = false");
    }
    cfg.batch_size = o.batch_size;
    if (given.given("batch_size") && cfg.mode != FetchMode::Batch)
        ctx.warning("batch_size", "batch_size is used only with mode = \"batch\"");
    // The result may not land in a field a response option writes.
    if ((o.response_status && cfg.result_field == "response_status") ||
        (o.response_headers && cfg.result_field == "response_headers"))
        ctx.error("result_field", "\"" + cfg.result_field + "\" is also written by " +
                                      cfg.result_field + " = true");

    if (ctx.failed()) return nullptr;
    return std::make_unique<http::HttpFetchStage>(std::move(cfg));
}

} // namespace

/// http.fetch's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor http_fetch_descriptor() {
    FunctionDescriptor fn;
    fn.name = "http.fetch";
    fn.keeps_lineage = true;
    fn.asynchronous = true; // a coroutine on the I/O thread (requests in flight)
    fn.role = StageRole::Transform;
    fn.summary = "Call an HTTP API for each record (or group of records) and keep the response";
    fn.description =
        "Sends one HTTP request per record (mode = \"per_row\") or per group of batch_size "
        "records (mode = \"batch\"), up to `concurrency` at once over pooled keep-alive "
        "connections, and stores the response body, parsed as JSON (or as a string when it is not "
        "JSON), in result_field. Templates fill {{ field }} (or {{ user.name }} for nested "
        "objects) from the record: percent-encoded in the URL (a value can never change the "
        "path or query; a value that makes a path segment \".\" or \"..\" is sent as %2E), "
        "JSON-escaped in the body, raw in headers (a line break is an error). A "
        "missing field is an error for that record. Output keeps input order unless ordered = "
        "false. Timeouts, connection errors, 408, 429 and 5xx are retried with exponential "
        "backoff and full jitter (Retry-After is honoured); other 4xx are not, nor is a host "
        "name that does not exist (a lookup that fails for now is). After the last "
        "attempt on_error decides: null (keep the record, result null), drop, fail (stop the "
        "run; exit 75 for transient causes) or dead_letter. Without on_error the stage follows "
        "[error_handling] (or its own [stages.error_handling]): strategy \"stop\" fails, "
        "\"continue\" dead-letters (drops without a dead-letter queue), \"retry\" uses "
        "max_retries and retry_delay_seconds and then on_exhausted. HTTPS verifies certificates "
        "against "
        "the system store (ca_file adds a CA; tls_verify = false turns checks off). Debug logs "
        "show each request with credentials redacted; header values are never logged.";
    fn.options = fetch_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(fetch_options(), build_fetch);
    return fn;
}

void register_http(Registry& registry) {
    registry.add("http.fetch", http_fetch_descriptor);
}

} // namespace conveyor::plugins
