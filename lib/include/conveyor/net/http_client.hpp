#pragma once

// An HTTP/1.1 client for I/O stages: keep-alive connections pooled per host:port(:tls), TLS
// through OpenSSL with certificate and host name verification, one deadline per request,
// response bodies bounded. Boost.Beast does the protocol work, hidden in http_client.cpp; this
// header exposes only Asio's awaitable and executor types.

#include "conveyor/core/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::net {

struct Header {
    std::string name;
    std::string value;
};

struct HttpRequest {
    std::string method = "GET"; ///< GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS
    std::string url;            ///< absolute http:// or https:// URL
    std::vector<Header> headers;
    std::string body; ///< sent with Content-Length when not empty
};

struct HttpResponse {
    int status = 0;
    std::string reason;
    std::vector<Header> headers; ///< in arrival order, names as the server wrote them
    std::string body;

    /// The first header named `name` (case-insensitive), if any.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

/// Why a request got no response.
enum class FailureKind : std::uint8_t {
    None,
    BadUrl, ///< the URL does not parse
    /// The host name could not be looked up for now (the resolver did not answer, EAI_AGAIN,
    /// or failed otherwise): asking again later may work.
    Resolve,
    /// The resolver says the host name does not exist (EAI_NONAME): no later attempt will
    /// find it, so it is permanent for that URL.
    HostNotFound,
    Connect,   ///< TCP connect failed (refused, unreachable)
    Timeout,   ///< the deadline passed (connect + TLS + write + read)
    Reset,     ///< the connection broke before the whole response arrived
    Tls,       ///< TLS handshake or certificate verification failed
    TooLarge,  ///< the response body exceeds max_response_bytes
    Protocol,  ///< the response is not valid HTTP/1.x
    Cancelled, ///< cancel_all() was called
};

std::string_view to_string(FailureKind kind) noexcept;

/// Transient failures are worth retrying: resolve (not HostNotFound), connect, timeout, reset.
bool is_retryable(FailureKind kind) noexcept;

struct HttpResult {
    std::optional<HttpResponse> response; ///< any status; empty on failure
    FailureKind failure = FailureKind::None;
    std::string message; ///< what failed, in plain words (no header values, URL redacted)

    [[nodiscard]] bool ok() const noexcept { return response.has_value(); }
};

struct TlsOptions {
    bool verify = true;  ///< verify the certificate chain and the host name
    std::string ca_file; ///< PEM file of trusted CAs, in addition to the system store
};

/// An OpenSSL client context: built once per stage run (loading the CA store is slow) and
/// shared by its connections.
class TlsContext {
public:
    ~TlsContext();
    /// Fails (ErrorKind::Config) when `ca_file` cannot be loaded.
    static Result<std::shared_ptr<TlsContext>> create(const TlsOptions& options);
    [[nodiscard]] bool verify() const noexcept;
    struct Impl;
    [[nodiscard]] Impl& impl() noexcept { return *impl_; }

private:
    TlsContext();
    std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
    /// Bounds the response body as received and again after its gzip/deflate content coding is
    /// undone (FailureKind::TooLarge either way).
    std::size_t max_response_bytes = 10u << 20;
    /// Idle keep-alive connections kept per host:port(:tls); more are closed.
    std::size_t max_idle_per_host = 64;
    std::string user_agent = "conveyor/" CONVEYOR_VERSION;
    /// Needed for https:// URLs; created on first use with default options when null.
    std::shared_ptr<TlsContext> tls;
};

/// Not thread-safe: create it on, and call it only from, one strand (an I/O stage's).
class HttpClient {
public:
    HttpClient(boost::asio::any_io_executor executor, ClientOptions options);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// Sends `request` and reads the whole response within `timeout` (DNS, connect, TLS
    /// handshake, write and read all count). Reuses an idle connection to the same
    /// host:port(:tls) when one is still open (checked without blocking before each reuse). A
    /// request that fails on a reused connection before any byte of a response is sent once
    /// more on a new connection when that cannot make the server act on it twice: always for
    /// GET, HEAD, PUT, DELETE, OPTIONS and TRACE; for any other method (POST, PATCH) only when
    /// no byte of it was written. Once a server has closed a connection within a second of a
    /// response that promised keep-alive, requests of those other methods get a connection of
    /// their own to it (for this client's life), so that they are not lost to the next such
    /// close. Interim 1xx responses are
    /// skipped (an unasked 101 is FailureKind::Protocol); a body sent with Content-Encoding gzip
    /// or deflate (offered through Accept-Encoding unless the request sets that header) comes
    /// back decoded, any other coding is FailureKind::Protocol. A connection that delivered
    /// bytes past the final response is closed, never reused. Never throws for network errors:
    /// they come back as HttpResult::failure. Cancellation: cancel_all().
    boost::asio::awaitable<HttpResult> send(const HttpRequest& request,
                                            std::chrono::milliseconds timeout);

    /// Aborts every request in flight (they complete with FailureKind::Cancelled), closes idle
    /// connections, and makes later sends fail at once.
    void cancel_all();

    /// TCP connections opened so far (connection reuse shows as fewer connections than requests).
    [[nodiscard]] std::uint64_t connections_opened() const noexcept;

    /// Host name lookups made so far. Requests that need the same host:port while its lookup is
    /// in progress wait for that one; its addresses are then remembered for 30 s, and a name
    /// the resolver says does not exist for 10 s (a temporary failure is not remembered).
    [[nodiscard]] std::uint64_t host_lookups() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace conveyor::net
