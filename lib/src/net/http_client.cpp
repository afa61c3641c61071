#include "conveyor/net/http_client.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/net/http_response_reader.hpp"
#include "conveyor/net/url.hpp"
#include "host_lookup.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <unordered_map>
#include <unordered_set>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace conveyor::net {

std::string_view to_string(FailureKind kind) noexcept {
    switch (kind) {
    case FailureKind::None:
        return "none";
    case FailureKind::BadUrl:
        return "bad request";
    case FailureKind::Resolve:
        return "host lookup failed";
    case FailureKind::HostNotFound:
        return "host not found";
    case FailureKind::Connect:
        return "connection failed";
    case FailureKind::Timeout:
        return "timeout";
    case FailureKind::Reset:
        return "connection reset";
    case FailureKind::Tls:
        return "TLS error";
    case FailureKind::TooLarge:
        return "response too large";
    case FailureKind::Protocol:
        return "invalid HTTP response";
    case FailureKind::Cancelled:
        return "cancelled";
    }
    return "unknown";
}

bool is_retryable(FailureKind kind) noexcept {
    switch (kind) {
    case FailureKind::Resolve:
    case FailureKind::Connect:
    case FailureKind::Timeout:
    case FailureKind::Reset:
        return true;
    default:
        return false;
    }
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
    for (const Header& h : headers) {
        if (iequals(h.name, name)) return std::string_view(h.value);
    }
    return std::nullopt;
}

struct TlsContext::Impl {
    ssl::context ctx{ssl::context::tls_client};
    bool verify = true;
};

TlsContext::TlsContext() : impl_(std::make_unique<Impl>()) {}
TlsContext::~TlsContext() = default;

bool TlsContext::verify() const noexcept {
    return impl_->verify;
}

Result<std::shared_ptr<TlsContext>> TlsContext::create(const TlsOptions& options) {
    std::shared_ptr<TlsContext> t(new TlsContext());
    ssl::context& ctx = t->impl_->ctx;
    error_code ec;
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_options(
        ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3, ec);
    t->impl_->verify = options.verify;
    // Without a system store (minimal containers) only ca_file can make verification pass;
    // the handshake then fails with a message saying the certificate could not be verified.
    ctx.set_default_verify_paths(ec);
    if (!options.ca_file.empty()) {
        ctx.load_verify_file(options.ca_file, ec);
        if (ec)
            return fail(ErrorKind::Config, "cannot load ca_file \"" + options.ca_file +
                                               "\": " + ec.message() +
                                               " (it must be a PEM file of CA certificates)");
    }
    ctx.set_verify_mode(options.verify ? ssl::verify_peer : ssl::verify_none, ec);
    return t;
}

namespace {

using Millis = std::chrono::milliseconds;

/// How much one socket read may add to a connection's buffer.
constexpr std::size_t kReadChunk = 64 * 1024;

/// A server that closes a connection this soon after a response that promised keep-alive closes
/// connections after responses (an idle timeout is longer), so a request sent on one may be lost
/// to a close it cannot see coming.
constexpr auto kPromptClose = std::chrono::seconds(1);

/// One TCP (or TLS over TCP) connection and the bytes read past the last response.
struct Connection {
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    /// When it was last put in the pool.
    std::chrono::steady_clock::time_point idle_since{};

    tcp::socket& socket() {
        return secure ? beast::get_lowest_layer(*secure).socket() : plain->socket();
    }
    void close() {
        error_code ec;
        socket().shutdown(tcp::socket::shutdown_both, ec);
        socket().close(ec);
    }
    /// An idle keep-alive connection is still usable if the server has neither closed it nor
    /// sent anything unasked (a readable idle socket means EOF, RST or junk).
    bool idle_usable() {
        if (!socket().is_open() || buffer.size() != 0) return false;
        pollfd p{};
        p.fd = socket().native_handle();
        p.events = POLLIN | POLLRDHUP;
        return ::poll(&p, 1, 0) == 0;
    }
};

/// One send() in progress: what the deadline timer or cancel_all() must interrupt.
struct Operation {
    bool timed_out = false;
    bool cancelled = false;
    bool finished = false;
    Connection* conn = nullptr;
    LookupWait lookup;

    void abort() {
        if (conn) conn->close();
        lookup.abort();
    }
    [[nodiscard]] bool interrupted() const noexcept { return timed_out || cancelled; }
};

HttpResult failure(FailureKind kind, std::string message) {
    HttpResult r;
    r.failure = kind;
    r.message = std::move(message);
    return r;
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

std::string ssl_error_text(const error_code& ec, SSL* native) {
    std::string text = ec.message();
    if (native) {
        const long v = SSL_get_verify_result(native);
        if (v != X509_V_OK) {
            text += " (";
            text += X509_verify_cert_error_string(v);
            text += ")";
        }
    }
    return text;
}

/// A failed host name lookup: permanent when the resolver says the name does not exist
/// (getaddrinfo's EAI_NONAME, which Asio reports as host_not_found), retryable otherwise
/// (EAI_AGAIN: no answer from the name server, as when the network is down).
HttpResult resolve_failure(const std::string& host, const error_code& ec) {
    if (ec == asio::error::host_not_found)
        return failure(FailureKind::HostNotFound,
                       "cannot resolve host '" + host + "': no such host name");
    return failure(FailureKind::Resolve, "cannot resolve host '" + host + "' for now (" +
                                             ec.message() + "; a temporary failure)");
}

bool is_broken_connection(const error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
           ec == asio::error::not_connected || ec == http::error::end_of_stream ||
           ec == http::error::partial_message || ec == ssl::error::stream_truncated;
}

} // namespace

struct HttpClient::Impl {
    Impl(asio::any_io_executor executor, ClientOptions client_options)
        : ex(std::move(executor)), options(std::move(client_options)), lookups(ex) {}

    asio::any_io_executor ex;
    ClientOptions options;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
    std::unordered_set<Operation*> active;
    /// Pool keys whose server closed a connection within kPromptClose of a response that
    /// promised keep-alive: a request that must not be sent twice gets a connection of its own
    /// there (see run()).
    std::unordered_set<std::string> closes_after_response;
    bool cancelled = false;
    std::uint64_t opened = 0;
    HostLookups lookups;

    /// The outcome of writing a request and reading its response on one connection.
    struct Exchange {
        HttpResult result;
        bool keep_alive = false;
        /// A reused connection failed before any byte of a response: the server had closed it,
        /// or closed it while the request was on its way.
        bool lost_on_reuse = false;
        /// No byte of the request was written (its write failed at once): the server cannot
        /// have received it.
        bool unwritten = false;
    };

    /// An idle connection to `key` that is still open, or null. `idempotent`: whether the
    /// request may be sent twice; one that may not takes none from a server known to close
    /// connections after responses. `idle_for` is set to how long the connection was idle.
    std::unique_ptr<Connection> take_idle(const std::string& key, bool idempotent,
                                          std::chrono::steady_clock::duration& idle_for) {
        auto it = idle.find(key);
        if (it == idle.end()) return nullptr;
        auto& list = it->second;
        const auto now = std::chrono::steady_clock::now();
        while (!list.empty() && (idempotent || !closes_after_response.contains(key))) {
            std::unique_ptr<Connection> c = std::move(list.back());
            list.pop_back();
            if (c->idle_usable()) {
                idle_for = now - c->idle_since;
                return c;
            }
            if (now - c->idle_since < kPromptClose) closes_after_response.insert(key);
            c->close();
        }
        return nullptr;
    }

    void put_idle(const std::string& key, std::unique_ptr<Connection> c) {
        auto& list = idle[key];
        if (list.size() >= options.max_idle_per_host) {
            c->close();
            return;
        }
        c->idle_since = std::chrono::steady_clock::now();
        list.push_back(std::move(c));
    }

    [[nodiscard]] ResponseLimits limits() const {
        ResponseLimits l;
        l.max_body_bytes = options.max_response_bytes;
        return l;
    }

    HttpResult interrupted(const Operation& op, Millis timeout) const {
        if (op.cancelled) return failure(FailureKind::Cancelled, "cancelled");
        return failure(FailureKind::Timeout,
                       "no complete response within " + std::to_string(timeout.count()) + " ms");
    }

    asio::awaitable<std::unique_ptr<Connection>> connect(Operation& op, const Url& url,
                                                         HttpResult& error, Millis timeout) {
        std::vector<tcp::endpoint> endpoints;
        error_code ec;
        const asio::ip::address addr = asio::ip::make_address(url.host, ec);
        if (!ec) {
            endpoints.emplace_back(addr, url.port);
        } else {
            LookupResult found = co_await lookups.resolve(url.host, url.port, op.lookup);
            if (op.interrupted()) {
                error = interrupted(op, timeout);
                co_return nullptr;
            }
            if (found.error) {
                error = resolve_failure(url.host, found.error);
                co_return nullptr;
            }
            endpoints = std::move(found.endpoints);
        }
        auto conn = std::make_unique<Connection>();
        if (url.tls) {
            if (!options.tls) {
                auto t = TlsContext::create({});
                if (!t) {
                    error = failure(FailureKind::Tls, t.error().message);
                    co_return nullptr;
                }
                options.tls = std::move(t).value();
            }
            conn->secure.emplace(ex, options.tls->impl().ctx);
        } else {
            conn->plain.emplace(ex);
        }
        op.conn = conn.get();
        if (op.interrupted()) {
            error = interrupted(op, timeout);
            co_return nullptr;
        }
        auto [cec, endpoint] = co_await asio::async_connect(conn->socket(), endpoints,
                                                            asio::as_tuple(asio::use_awaitable));
        if (op.interrupted()) {
            error = interrupted(op, timeout);
            co_return nullptr;
        }
        if (cec) {
            error = failure(FailureKind::Connect,
                            "cannot connect to " + url.host_header() + ": " + cec.message());
            co_return nullptr;
        }
        ++opened;
        error_code ignored;
        conn->socket().set_option(tcp::no_delay(true), ignored);
        if (url.tls) {
            SSL* native = conn->secure->native_handle();
            const bool ip = is_ip_literal(url.host);
            // SNI carries host names only (RFC 6066), never address literals.
            if (!ip) SSL_set_tlsext_host_name(native, url.host.c_str());
            if (options.tls->verify()) {
                X509_VERIFY_PARAM* param = SSL_get0_param(native);
                X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                if (ip)
                    X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
                else
                    X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
            }
            auto [hec] = co_await conn->secure->async_handshake(
                ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
            if (op.interrupted()) {
                error = interrupted(op, timeout);
                co_return nullptr;
            }
            if (hec) {
                if (is_broken_connection(hec))
                    error = failure(FailureKind::Reset, "TLS handshake with " + url.host_header() +
                                                            " failed: " + hec.message());
                else
                    error =
                        failure(FailureKind::Tls, "TLS handshake with " + url.host_header() +
                                                      " failed: " + ssl_error_text(hec, native));
                co_return nullptr;
            }
        }
        co_return conn;
    }

    /// Requests that may be sent again without asking: the server may have acted on one whose
    /// connection died after it was written (a POST must not be made twice behind the user's
    /// back; it goes through the stage's retry policy instead).
    ///
    /// The resend rule, for a request that failed on a reused connection before any byte of a
    /// response arrived: an idempotent request is sent once more on a new connection; any other
    /// only when no byte of it was written (the write itself failed at once), since then the
    /// server cannot have received it. Once written, a reset or close cannot tell a server that
    /// closed the connection before reading the request from one (or a proxy) that acted on it
    /// and then dropped the connection, so it is not resent. The idle check (take_idle) and the
    /// servers known to close after responses (closes_after_response) keep such requests off
    /// connections that are closing.
    static bool idempotent(http::verb verb) {
        switch (verb) {
        case http::verb::get:
        case http::verb::head:
        case http::verb::put:
        case http::verb::delete_:
        case http::verb::options:
        case http::verb::trace:
            return true;
        default:
            return false;
        }
    }

    /// Feeds `reader` from the connection's buffer and then the socket until it is done or has
    /// failed; the socket's end counts as the end of the response. Returns the read error that
    /// stopped it, if any (an interrupted operation shows as one: its socket was closed).
    template <class Stream>
    static asio::awaitable<error_code> read_response(Stream& stream, Connection& conn,
                                                     ResponseReader& reader) {
        for (;;) {
            if (conn.buffer.size() > 0) {
                const auto data = conn.buffer.data();
                conn.buffer.consume(reader.put(
                    std::string_view(static_cast<const char*>(data.data()), data.size())));
                if (reader.state() != ResponseReader::State::NeedMore) co_return error_code{};
            }
            auto [ec, n] = co_await stream.async_read_some(conn.buffer.prepare(kReadChunk),
                                                           asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::eof) {
                reader.put_eof();
                co_return error_code{};
            }
            if (ec) co_return ec;
            conn.buffer.commit(n);
        }
    }

    template <class Stream>
    asio::awaitable<Exchange> exchange_on(Stream& stream, Connection& conn, Operation& op,
                                          const Url& url, http::verb verb, const HttpRequest& rq,
                                          Millis timeout, bool reused) {
        Exchange out;
        http::request<http::string_body> req{verb, url.target, 11};
        req.set(http::field::host, url.host_header());
        bool has_agent = false;
        bool has_auth = false;
        bool has_accept_encoding = false;
        bool wants_close = false;
        for (const Header& h : rq.headers) {
            req.insert(h.name, h.value);
            if (iequals(h.name, "user-agent")) has_agent = true;
            if (iequals(h.name, "authorization")) has_auth = true;
            if (iequals(h.name, "accept-encoding")) has_accept_encoding = true;
            if (iequals(h.name, "connection") && iequals(h.value, "close")) wants_close = true;
        }
        if (!has_agent) req.set(http::field::user_agent, options.user_agent);
        if (!has_auth && !url.userinfo.empty())
            req.set(http::field::authorization,
                    "Basic " + base64_encode(percent_decode(url.userinfo)));
        // Only codings decode_content() can undo are offered (a user's own header wins).
        if (!has_accept_encoding) req.set(http::field::accept_encoding, "gzip, deflate");
        req.body() = rq.body;
        req.prepare_payload();

        auto [wec, written] =
            co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
        if (op.interrupted()) {
            out.result = interrupted(op, timeout);
            co_return out;
        }
        if (wec) {
            out.lost_on_reuse = reused;
            out.unwritten = written == 0;
            out.result =
                failure(FailureKind::Reset, "sending the request failed: " + wec.message());
            co_return out;
        }
        ResponseReader reader(limits(), verb == http::verb::head);
        const error_code rec = co_await read_response(stream, conn, reader);
        if (op.interrupted()) {
            out.result = interrupted(op, timeout);
            co_return out;
        }
        if (rec) {
            out.lost_on_reuse = reused && !reader.got_some();
            if (is_broken_connection(rec)) {
                out.result =
                    failure(FailureKind::Reset,
                            "the connection was closed before the whole response arrived (" +
                                rec.message() + ")");
            } else if (rec.category() == asio::error::get_ssl_category() ||
                       rec.category() == ssl::error::get_stream_category()) {
                out.lost_on_reuse = false;
                out.result = failure(FailureKind::Tls, "TLS error while reading: " + rec.message());
            } else {
                out.result =
                    failure(FailureKind::Reset, "reading the response failed: " + rec.message());
            }
            co_return out;
        }
        const bool done = reader.state() == ResponseReader::State::Done;
        // The connection closed with nothing of a response: the keep-alive connection was stale.
        out.lost_on_reuse = !done && reused && !reader.got_some();
        // Bytes after the final response answer nothing we asked: the connection can no longer
        // tell which response belongs to which request, so it is not used again.
        out.keep_alive = done && reader.keep_alive() && !wants_close && conn.buffer.size() == 0;
        out.result = reader.take_result();
        co_return out;
    }

    asio::awaitable<HttpResult> run(Operation& op, const Url& url, http::verb verb,
                                    const HttpRequest& rq, Millis timeout) {
        const std::string key = url.pool_key();
        const bool repeatable = idempotent(verb);
        std::chrono::steady_clock::duration idle_for{};
        std::unique_ptr<Connection> conn = take_idle(key, repeatable, idle_for);
        bool reused = conn != nullptr;
        for (;;) {
            if (!conn) {
                HttpResult error;
                conn = co_await connect(op, url, error, timeout);
                op.conn = nullptr;
                if (!conn) co_return error;
                reused = false;
            }
            op.conn = conn.get();
            // Two statements, not a conditional expression: GCC 12 bit-copies the result of a
            // ?: whose branches are co_await expressions (a moved std::string then points
            // into freed frame memory).
            Exchange ex;
            if (conn->secure)
                ex = co_await exchange_on(*conn->secure, *conn, op, url, verb, rq, timeout, reused);
            else
                ex = co_await exchange_on(*conn->plain, *conn, op, url, verb, rq, timeout, reused);
            op.conn = nullptr;
            if (ex.lost_on_reuse && !op.interrupted() && idle_for < kPromptClose)
                closes_after_response.insert(key);
            // The resend rule (idempotent()): cannot make the server act on it twice.
            if (ex.lost_on_reuse && (repeatable || ex.unwritten) && !op.interrupted()) {
                // The server had closed this idle connection: try once more on a new one.
                conn->close();
                conn.reset();
                reused = false;
                continue;
            }
            // A connection to a server that closes after responses is no use to a request that
            // must not be sent twice: close it rather than leave it to the server.
            if (ex.result.ok() && ex.keep_alive && !cancelled &&
                (repeatable || !closes_after_response.contains(key)))
                put_idle(key, std::move(conn));
            else
                conn->close();
            co_return std::move(ex.result);
        }
    }
};

HttpClient::HttpClient(asio::any_io_executor executor, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {}

HttpClient::~HttpClient() {
    if (!impl_) return;
    for (auto& [key, list] : impl_->idle)
        for (auto& c : list)
            c->close();
}

asio::awaitable<HttpResult> HttpClient::send(const HttpRequest& request, Millis timeout) {
    Impl& im = *impl_;
    if (im.cancelled) co_return failure(FailureKind::Cancelled, "cancelled");
    Result<Url> url = parse_url(request.url);
    if (!url) co_return failure(FailureKind::BadUrl, url.error().message);
    const http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown)
        co_return failure(FailureKind::BadUrl,
                          "unsupported HTTP method \"" + request.method + "\"");

    auto op = std::make_shared<Operation>();
    im.active.insert(op.get());
    asio::steady_timer deadline(im.ex);
    deadline.expires_after(timeout);
    deadline.async_wait([op](const error_code& ec) {
        if (ec || op->finished) return;
        op->timed_out = true;
        op->abort();
    });
    HttpResult result = co_await im.run(*op, *url, verb, request, timeout);
    op->finished = true;
    im.active.erase(op.get());
    deadline.cancel();
    co_return result;
}

void HttpClient::cancel_all() {
    Impl& im = *impl_;
    im.cancelled = true;
    for (Operation* op : im.active) {
        op->cancelled = true;
        op->abort();
    }
    for (auto& [key, list] : im.idle)
        for (auto& c : list)
            c->close();
    im.idle.clear();
}

std::uint64_t HttpClient::connections_opened() const noexcept {
    return impl_->opened;
}

std::uint64_t HttpClient::host_lookups() const noexcept {
    return impl_->lookups.lookups();
}

} // namespace conveyor::net
