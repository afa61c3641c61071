#include "conveyor/config/limits.hpp"
#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/ascii.hpp"
#include "conveyor/registry/registry.hpp"
#include "http_fetch.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace conveyor::plugins {

namespace {

using http::FetchMode;
using http::HttpFetchConfig;
using http::OnError;

OptionSpec option(std::string name, OptionType type, OptionValue def, std::string description) {
    OptionSpec o;
    o.name = std::move(name);
    o.type = type;
    o.default_value = std::move(def);
    o.description = std::move(description);
    return o;
}

OptionSpec int_option(std::string name, OptionValue def, double min, double max,
                      std::string description) {
    OptionSpec o = option(std::move(name), OptionType::Int, std::move(def), std::move(description));
    o.min = min;
    o.max = max;
    return o;
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

std::unique_ptr<Stage> build_fetch(BuildContext& ctx) {
    const Options& o = ctx.options();
    HttpFetchConfig cfg;

    if (auto url = net::Template::parse(o.get_string("url")); url) {
        cfg.url = std::move(url).value();
        const std::string prefix = ascii_lower(cfg.url.literal_prefix().substr(0, 8));
        if (!prefix.starts_with("http://") && !prefix.starts_with("https://"))
            ctx.error("url", "must start with http:// or https:// (the scheme cannot come from a "
                             "record field)");
    } else {
        ctx.error("url", "invalid url template: " + url.error().message);
    }

    cfg.method = upper(o.get_string("method"));
    static const std::vector<std::string> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};
    if (std::find(kMethods.begin(), kMethods.end(), cfg.method) == kMethods.end())
        ctx.error("method", "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, not \"" +
                                o.get_string("method") + "\"");

    cfg.mode = o.get_string("mode") == "batch" ? FetchMode::Batch : FetchMode::PerRow;
    if (cfg.mode == FetchMode::Batch && !o.given("method")) cfg.method = "POST";

    cfg.result_field = o.get_string("result_field");
    if (cfg.result_field.empty()) ctx.error("result_field", "must not be empty");

    if (o.given("headers")) {
        for (auto& [name, value] : o.get_string_map("headers")) {
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

    if (o.given("body")) {
        if (auto body = net::Template::parse(o.get_string("body")); body)
            cfg.body = std::move(body).value();
        else
            ctx.error("body", "invalid body template: " + body.error().message);
    }

    if (cfg.mode == FetchMode::Batch) {
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
                    ctx.error("body",
                              "in mode = \"batch\" the body can only use {{ records }} (the "
                              "group's records as a JSON array), not {{ " +
                                  n + " }}");
        }
    }

    cfg.concurrency = o.given("concurrency") ? static_cast<std::size_t>(o.get_int("concurrency"))
                                             : ctx.global().concurrency;
    if (cfg.concurrency == 0) cfg.concurrency = 1;
    cfg.ordered = o.get_bool("ordered");
    cfg.retries = static_cast<std::uint32_t>(o.get_int("retries"));
    cfg.backoff.base_delay = std::chrono::milliseconds{o.get_int("retry_base_delay_ms")};
    cfg.backoff.max_delay = std::chrono::milliseconds{o.get_int("max_retry_delay_ms")};
    cfg.retries_given = o.given("retries");
    cfg.backoff_given = o.given("retry_base_delay_ms") || o.given("max_retry_delay_ms");
    cfg.on_error_given = o.given("on_error");

    if (cfg.on_error_given) {
        const std::string& on_error = o.get_string("on_error");
        cfg.on_error = on_error == "drop"          ? OnError::Drop
                       : on_error == "fail"        ? OnError::Fail
                       : on_error == "dead_letter" ? OnError::DeadLetter
                                                   : OnError::Null;
    }

    if (o.given("timeout_ms") && o.given("timeout_seconds")) {
        ctx.error("timeout_seconds", "give either timeout_ms or timeout_seconds, not both");
    } else if (o.given("timeout_seconds")) {
        const double secs = o.get_double("timeout_seconds");
        if (!(secs > 0) || !std::isfinite(secs))
            ctx.error("timeout_seconds", "must be a positive number of seconds");
        else
            cfg.timeout = std::chrono::milliseconds{
                std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(secs * 1000)))};
    } else {
        cfg.timeout = std::chrono::milliseconds{o.get_int("timeout_ms")};
    }

    cfg.max_response_bytes = static_cast<std::size_t>(o.get_int("max_response_bytes"));
    cfg.response_status = o.get_bool("response_status");
    cfg.response_headers = o.get_bool("response_headers");
    if (o.given("rate_limit_per_second")) {
        const double rate = o.get_double("rate_limit_per_second");
        if (!(rate > 0) || !std::isfinite(rate))
            ctx.error("rate_limit_per_second", "must be a positive number of requests per second");
        else
            cfg.rate_limit_per_second = rate;
    }
    cfg.tls_verify = o.get_bool("tls_verify");
    if (o.given("ca_file")) {
        cfg.ca_file = o.get_string("ca_file");
        if (cfg.ca_file.empty()) ctx.error("ca_file", "must name a PEM file");
        if (!cfg.tls_verify)
            ctx.warning("ca_file", "ca_file has no effect with tls_verify = false");
    }
    cfg.batch_size = static_cast<std::size_t>(o.get_int("batch_size"));
    if (o.given("batch_size") && cfg.mode != FetchMode::Batch)
        ctx.warning("batch_size", "batch_size is used only with mode = \"batch\"");
    for (const std::string& name :
         {std::string("response_status"), std::string("response_headers")})
        if (o.get_bool(name) && name == cfg.result_field)
            ctx.error("result_field", "\"" + name + "\" is also written by " + name + " = true");

    if (ctx.failed()) return nullptr;
    return std::make_unique<http::HttpFetchStage>(std::move(cfg));
}

} // namespace

void register_http(Registry& registry) {
    FunctionDescriptor fn;
    fn.name = "http.fetch";
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
        "backoff and full jitter (Retry-After is honoured); other 4xx are not. After the last "
        "attempt on_error decides: null (keep the record, result null), drop, fail (stop the "
        "run; exit 75 for transient causes) or dead_letter. Without on_error the stage follows "
        "[error_handling] (or its own [stages.error_handling]): strategy \"stop\" fails, "
        "\"continue\" dead-letters (drops without a dead-letter queue), \"retry\" uses "
        "max_retries and retry_delay_seconds and then on_exhausted. HTTPS verifies certificates "
        "against "
        "the system store (ca_file adds a CA; tls_verify = false turns checks off). Debug logs "
        "show each request with credentials redacted; header values are never logged.";
    OptionSpec url = option("url", OptionType::String, {},
                            "URL template, e.g. \"https://api.example.com/users/{{ id }}\".");
    url.required = true;
    fn.options.push_back(std::move(url));
    fn.options.push_back(option("method", OptionType::String, "GET",
                                "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (POST by default "
                                "in mode = \"batch\")."));
    OptionSpec mode = option("mode", OptionType::String, "per_row",
                             "\"per_row\": one request per record; \"batch\": one request per "
                             "group of batch_size records, whose body's {{ records }} is the group "
                             "as a JSON array (the whole body when no body is given); the response "
                             "is attached to every record of the group.");
    mode.choices = {"per_row", "batch"};
    fn.options.push_back(std::move(mode));
    fn.options.push_back(option("result_field", OptionType::String, "http_result",
                                "Field that receives the parsed response (null on failure with "
                                "on_error = \"null\")."));
    fn.options.push_back(option("headers", OptionType::StringMap, {},
                                "Request headers; values are templates. Never logged."));
    fn.options.push_back(option("body", OptionType::String, {},
                                "Request body template (values JSON-escaped, strings without "
                                "quotes). Content-Type defaults to application/json."));
    fn.options.push_back(int_option("concurrency", {}, 1, config::kMaxConcurrency,
                                    "Requests in flight at most (default: [global] concurrency)."));
    fn.options.push_back(option("ordered", OptionType::Bool, true,
                                "Emit records in input order (false: as responses arrive)."));
    fn.options.push_back(int_option("retries", 3, 0, 100,
                                    "Retries after the first attempt for transient failures."));
    fn.options.push_back(int_option("retry_base_delay_ms", 100, 0, 3600000,
                                    "Backoff base: retry n waits a random time in [0, min("
                                    "max_retry_delay_ms, retry_base_delay_ms * 2^n)]."));
    fn.options.push_back(int_option("max_retry_delay_ms", 10000, 0, 3600000,
                                    "Longest wait before a retry (also caps Retry-After)."));
    OptionSpec on_error = option("on_error", OptionType::String, {},
                                 "After the last attempt: \"null\" (keep the record with a null "
                                 "result, the earlier tool's behaviour), \"drop\", \"fail\" or "
                                 "\"dead_letter\" (needs [error_handling] dead_letter_queue). "
                                 "Default: what the stage's error strategy says (stop: fail; "
                                 "continue: dead_letter, or drop without a queue).");
    on_error.choices = {"null", "drop", "fail", "dead_letter"};
    fn.options.push_back(std::move(on_error));
    fn.options.push_back(int_option("timeout_ms", 30000, 1, 86400000,
                                    "Deadline per attempt: connect, TLS, sending and the whole "
                                    "response."));
    OptionSpec timeout_s = option("timeout_seconds", OptionType::Float, {},
                                  "The same deadline in seconds (the earlier tool's key); give "
                                  "either this or timeout_ms.");
    timeout_s.aliases = {"timeout"};
    // timeout_ms's range: a longer deadline would overflow when turned into milliseconds.
    timeout_s.min = 0.001;
    timeout_s.max = 86400;
    fn.options.push_back(std::move(timeout_s));
    fn.options.push_back(int_option("max_response_bytes", 10 * 1024 * 1024, 0, 4.0e9,
                                    "Larger response bodies are an error for that record, "
                                    "before and after undoing a gzip or deflate "
                                    "Content-Encoding."));
    fn.options.push_back(option("response_status", OptionType::Bool, false,
                                "Add field response_status (the final HTTP status)."));
    fn.options.push_back(option("response_headers", OptionType::Bool, false,
                                "Add field response_headers (object, lower-case names)."));
    OptionSpec rate = option("rate_limit_per_second", OptionType::Float, {},
                             "Request rate cap for the stage, retries included (token bucket, "
                             "bursts of at most one second's worth); from 0.001 (one request "
                             "every 1000 s) to 1e9.");
    // Below the minimum the waits of queued requests no longer fit the timer's nanoseconds
    // (a rate of 1e-10 overflowed into no limit at all); above the maximum the bucket's
    // arithmetic loses whole tokens.
    rate.min = 0.001;
    rate.max = 1e9;
    fn.options.push_back(std::move(rate));
    fn.options.push_back(option("tls_verify", OptionType::Bool, true,
                                "Verify server certificates and host names (https)."));
    fn.options.push_back(
        option("ca_file", OptionType::String, {},
               "PEM file of extra trusted CA certificates (self-signed servers)."));
    fn.options.push_back(
        int_option("batch_size", 100, 1, 1000000, "Records per request in mode = \"batch\"."));
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = build_fetch;
    registry.add(std::move(fn));
}

} // namespace conveyor::plugins
