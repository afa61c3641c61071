#pragma once

// An in-process HTTP/1.1 server on 127.0.0.1 (ephemeral port) for http.fetch and net tests.
// Runs on its own thread; the destructor stops it. Each request is answered by the handler
// whose path prefix matches longest (default: echo). Faults are scripted per path or per
// request count: fixed delays (server-side timers), any status with headers (429 +
// Retry-After), interim 1xx responses before the answer and raw bytes after it, hang (never
// answer), reset (RST), non-JSON, huge or compressed bodies, and a gate that holds requests
// until N are in flight at once (to observe a concurrency limit exactly, without timing).
// Optional TLS with a self-signed certificate for 127.0.0.1 generated at start-up with the
// OpenSSL C API. Keep Asio/Beast out of this header.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor::test {

struct HttpTestRequest {
    std::string method;
    std::string target; ///< as received: path and query, still percent-encoded
    std::string path;   ///< target before '?'
    std::string query;  ///< target after '?' (without it)
    std::vector<std::pair<std::string, std::string>> headers; ///< names lower-cased
    std::string body;
    std::size_t index = 0;      ///< order of arrival, from 0, over the server's life
    std::size_t connection = 0; ///< which connection (from 0) carried it

    /// The first header `name` (lower-case), or "" when absent.
    [[nodiscard]] std::string header(std::string_view name) const;
};

/// An interim (1xx) response written before the final one, e.g. 100 Continue or 103 Early Hints.
struct HttpTestInterim {
    int status = 100;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpTestReply {
    enum class Action { Respond, Hang, Reset };
    Action action = Action::Respond;
    int status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds delay{0}; ///< before answering (a server-side timer)
    bool close = false;                 ///< "Connection: close" and close after answering
    bool silent_close = false;          ///< close after answering, though keep-alive was promised
    /// Answer only once this many requests have arrived in total (counted over the server's
    /// life); 0 = no wait. Makes "this record finishes last" deterministic.
    std::size_t hold_until_requests = 0;
    /// Written before the response, in order (with it, in one write).
    std::vector<HttpTestInterim> interim;
    /// Raw bytes written right after the response, in the same write: e.g. a second response
    /// nobody asked for.
    std::string trailing_bytes;

    static HttpTestReply json(std::string body, int status = 200);
    static HttpTestReply text(std::string body, int status = 200);
    static HttpTestReply status_only(int status);
    /// `status` (429 or 503) with a Retry-After header.
    static HttpTestReply retry_after(int status, std::string value);
    static HttpTestReply hang();
    /// Reads the request, then resets the connection (RST) without answering.
    static HttpTestReply reset();
    /// A JSON object {"method","target","path","query","headers":{...},"body"} of the request.
    static HttpTestReply echo(const HttpTestRequest& req);
    /// A JSON string value of `bytes` bytes (plus quotes).
    static HttpTestReply huge(std::size_t bytes);

    HttpTestReply&& after(std::chrono::milliseconds d) && {
        delay = d;
        return std::move(*this);
    }
};

using HttpTestHandler = std::function<HttpTestReply(const HttpTestRequest&)>;

class HttpTestServer {
public:
    struct Options {
        bool tls = false;
        /// subjectAltName of the generated certificate (OpenSSL config syntax).
        std::string subject_alt_names = "IP:127.0.0.1,DNS:localhost";
    };
    HttpTestServer();
    explicit HttpTestServer(Options options);
    ~HttpTestServer();
    HttpTestServer(const HttpTestServer&) = delete;
    HttpTestServer& operator=(const HttpTestServer&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept;
    /// "http://127.0.0.1:PORT" + path (https:// in TLS mode).
    [[nodiscard]] std::string url(std::string_view path = "") const;

    /// Answers requests whose path starts with `prefix` (longest prefix wins). Handlers run on
    /// the server thread, one at a time.
    void route(std::string prefix, HttpTestHandler handler);

    /// Holds every request (after its handler ran, before its delay) until `n` requests are
    /// held at once, or `total` requests have arrived since gate() was called; then releases
    /// all held. Requests arriving afterwards are held again until `n` are held.
    void gate(std::size_t n, std::size_t total);
    /// Releases every held request and turns the gate off.
    void open_gate();

    [[nodiscard]] std::size_t requests() const;
    /// Requests received and not yet answered (held, delayed, hanging).
    [[nodiscard]] std::size_t current_concurrent() const;
    [[nodiscard]] std::size_t max_concurrent() const;
    [[nodiscard]] std::size_t connections_opened() const;
    [[nodiscard]] std::vector<HttpTestRequest> received() const;
    /// Blocks until at least `n` requests are in flight (received, unanswered) or `timeout`
    /// passes; returns whether they are. For tests that must act while requests hang.
    bool wait_for_concurrent(std::size_t n, std::chrono::milliseconds timeout) const;
    /// Blocks until at least `n` requests have been answered (over the server's life) or
    /// `timeout` passes; returns whether they have.
    bool wait_for_answered(std::size_t n, std::chrono::milliseconds timeout) const;

    /// TLS mode: the self-signed certificate (PEM); writes it to `path` and returns `path`.
    [[nodiscard]] const std::string& certificate_pem() const;
    /// TLS mode: the server name (SNI) the last client asked for ("" when none).
    [[nodiscard]] std::string last_sni() const;
    std::string write_certificate(const std::string& path) const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace conveyor::test
