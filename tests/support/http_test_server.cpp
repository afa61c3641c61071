#include "support/http_test_server.hpp"

#include "conveyor/core/ascii.hpp"
#include "conveyor/format/json_writer.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace conveyor::test {

std::string HttpTestRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return v;
    return {};
}

HttpTestReply HttpTestReply::json(std::string body, int status) {
    HttpTestReply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

HttpTestReply HttpTestReply::text(std::string body, int status) {
    HttpTestReply r;
    r.status = status;
    r.content_type = "text/plain";
    r.body = std::move(body);
    return r;
}

HttpTestReply HttpTestReply::status_only(int status) {
    HttpTestReply r;
    r.status = status;
    r.body = "{\"error\":" + std::to_string(status) + "}";
    return r;
}

HttpTestReply HttpTestReply::retry_after(int status, std::string value) {
    HttpTestReply r = status_only(status);
    r.headers.emplace_back("Retry-After", std::move(value));
    return r;
}

HttpTestReply HttpTestReply::hang() {
    HttpTestReply r;
    r.action = Action::Hang;
    return r;
}

HttpTestReply HttpTestReply::reset() {
    HttpTestReply r;
    r.action = Action::Reset;
    return r;
}

HttpTestReply HttpTestReply::echo(const HttpTestRequest& req) {
    std::string out = "{\"method\":";
    json::append_string(out, req.method);
    out += ",\"target\":";
    json::append_string(out, req.target);
    out += ",\"path\":";
    json::append_string(out, req.path);
    out += ",\"query\":";
    json::append_string(out, req.query);
    out += ",\"headers\":{";
    bool first = true;
    for (const auto& [k, v] : req.headers) {
        if (!first) out += ',';
        first = false;
        json::append_string(out, k);
        out += ':';
        json::append_string(out, v);
    }
    out += "},\"body\":";
    json::append_string(out, req.body);
    out += '}';
    return json(std::move(out));
}

HttpTestReply HttpTestReply::huge(std::size_t bytes) {
    std::string body;
    body.reserve(bytes + 2);
    body += '"';
    body.append(bytes, 'x');
    body += '"';
    return json(std::move(body));
}

namespace {

struct X509Deleter {
    void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

void add_ext(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/// A fresh P-256 key and a self-signed certificate for 127.0.0.1 / localhost, valid one day.
std::pair<std::unique_ptr<X509, X509Deleter>, std::unique_ptr<EVP_PKEY, PkeyDeleter>>
make_cert(const std::string& subject_alt_names) {
    std::unique_ptr<EVP_PKEY, PkeyDeleter> key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error("EVP_EC_gen failed");
    std::unique_ptr<X509, X509Deleter> cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()),
                     static_cast<long>(std::chrono::system_clock::now().time_since_epoch().count() &
                                       0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("conveyor tests"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), NID_subject_key_identifier, "hash");
    add_ext(cert.get(), NID_subject_alt_name, subject_alt_names.c_str());
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        throw std::runtime_error("X509_sign failed");
    return {std::move(cert), std::move(key)};
}

std::string to_pem(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return pem;
}

} // namespace

struct HttpTestServer::Impl {
    Options options;
    std::optional<asio::io_context> ioc;
    std::optional<tcp::acceptor> acceptor;
    std::optional<ssl::context> tls;
    std::string cert_pem;
    std::string sni; ///< under mu
    std::uint16_t port = 0;
    std::thread thread;

    mutable std::mutex mu;
    mutable std::condition_variable cv;
    std::map<std::string, HttpTestHandler, std::greater<>> routes; // longest prefix first
    std::size_t requests = 0;
    std::size_t current = 0;
    std::size_t max_current = 0;
    std::size_t connections = 0;
    std::vector<HttpTestRequest> received;

    // Gate state: touched on the server thread only, except the settings (under mu).
    std::size_t gate_n = 0;
    std::size_t gate_total = 0;
    std::size_t gate_arrived = 0;
    std::vector<asio::steady_timer*> held;
    /// Replies waiting for the request count to reach a threshold (server thread only).
    std::vector<std::pair<std::size_t, asio::steady_timer*>> count_waiters;

    void done_one() {
        std::lock_guard lock(mu);
        --current;
        cv.notify_all();
    }

    HttpTestReply handle(HttpTestRequest& r) {
        HttpTestHandler h;
        {
            std::lock_guard lock(mu);
            r.index = requests++;
            ++current;
            max_current = std::max(max_current, current);
            received.push_back(r);
            for (const auto& [prefix, handler] : routes) {
                if (r.path.starts_with(prefix)) {
                    h = handler;
                    break;
                }
            }
            cv.notify_all();
        }
        // Release replies waiting for this many requests (we are on the server thread).
        const std::size_t seen = r.index + 1;
        for (auto it = count_waiters.begin(); it != count_waiters.end();) {
            if (it->first <= seen) {
                it->second->cancel();
                it = count_waiters.erase(it);
            } else {
                ++it;
            }
        }
        return h ? h(r) : HttpTestReply::echo(r);
    }

    asio::awaitable<void> wait_for_requests(std::size_t n) {
        {
            std::lock_guard lock(mu);
            if (requests >= n) co_return;
        }
        asio::steady_timer timer(*ioc, asio::steady_timer::time_point::max());
        count_waiters.emplace_back(n, &timer);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        count_waiters.erase(std::remove_if(count_waiters.begin(), count_waiters.end(),
                                           [&](const auto& w) { return w.second == &timer; }),
                            count_waiters.end());
    }

    /// Holds the request while the gate is closed (see HttpTestServer::gate).
    asio::awaitable<void> pass_gate() {
        std::size_t n = 0;
        std::size_t total = 0;
        {
            std::lock_guard lock(mu);
            n = gate_n;
            total = gate_total;
            if (n == 0) co_return;
            ++gate_arrived;
        }
        bool release = held.size() + 1 >= n;
        {
            std::lock_guard lock(mu);
            if (gate_arrived >= total) release = true;
        }
        if (release) {
            // This request completes the group: wake the others and go on without waiting.
            for (asio::steady_timer* t : held)
                t->cancel();
            held.clear();
            co_return;
        }
        asio::steady_timer timer(*ioc, asio::steady_timer::time_point::max());
        held.push_back(&timer);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        // On shutdown the wait ends too; drop our entry if still listed.
        held.erase(std::remove(held.begin(), held.end(), &timer), held.end());
    }

    template <class Stream>
    asio::awaitable<void> session(Stream& stream, tcp::socket& socket, std::size_t conn) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64u << 20);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser,
                                                     asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            auto& req = parser.get();
            HttpTestRequest r;
            r.method = std::string(req.method_string());
            r.target = std::string(req.target());
            const std::size_t q = r.target.find('?');
            r.path = r.target.substr(0, q);
            if (q != std::string::npos) r.query = r.target.substr(q + 1);
            for (const auto& f : req)
                r.headers.emplace_back(ascii_lower(f.name_string()), std::string(f.value()));
            r.body = req.body();
            r.connection = conn;
            HttpTestReply reply = handle(r);
            if (reply.hold_until_requests > 0)
                co_await wait_for_requests(reply.hold_until_requests);
            co_await pass_gate();
            if (reply.delay.count() > 0) {
                asio::steady_timer t(*ioc, reply.delay);
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            if (reply.action == HttpTestReply::Action::Hang) {
                // Hold the request until the client goes away (or the server stops).
                char byte = 0;
                co_await socket.async_receive(asio::buffer(&byte, 1),
                                              asio::as_tuple(asio::use_awaitable));
                done_one();
                co_return;
            }
            if (reply.action == HttpTestReply::Action::Reset) {
                error_code ignored;
                socket.set_option(asio::socket_base::linger(true, 0), ignored);
                socket.close(ignored);
                done_one();
                co_return;
            }
            http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
            res.set(http::field::content_type, reply.content_type);
            for (const auto& [k, v] : reply.headers)
                res.insert(k, v);
            res.body() = std::move(reply.body);
            res.keep_alive(req.keep_alive() && !reply.close);
            res.prepare_payload();
            // Counted as answered before the bytes leave: the client cannot send its next
            // request before reading this response, so max_concurrent never overstates.
            done_one();
            error_code wec;
            if (reply.interim.empty() && reply.trailing_bytes.empty()) {
                std::tie(wec, std::ignore) =
                    co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
            } else {
                // One write, so the client finds the interim responses, the response and what
                // follows it together in its buffer.
                std::ostringstream text;
                for (const HttpTestInterim& i : reply.interim) {
                    text << "HTTP/1.1 " << i.status << ' '
                         << http::obsolete_reason(static_cast<http::status>(i.status)) << "\r\n";
                    for (const auto& [k, v] : i.headers)
                        text << k << ": " << v << "\r\n";
                    text << "\r\n";
                }
                text << res << reply.trailing_bytes;
                const std::string bytes = std::move(text).str();
                std::tie(wec, std::ignore) = co_await asio::async_write(
                    stream, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
            }
            if (wec || !res.keep_alive() || reply.silent_close) {
                error_code ignored;
                socket.shutdown(tcp::socket::shutdown_send, ignored);
                co_return;
            }
        }
    }

    asio::awaitable<void> connection(tcp::socket socket, std::size_t conn) {
        if (tls) {
            ssl::stream<tcp::socket> stream(std::move(socket), *tls);
            auto [ec] = co_await stream.async_handshake(ssl::stream_base::server,
                                                        asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            co_await session(stream, stream.next_layer(), conn);
        } else {
            co_await session(socket, socket, conn);
        }
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] =
                co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            std::size_t conn = 0;
            {
                std::lock_guard lock(mu);
                conn = connections++;
            }
            asio::co_spawn(*ioc, connection(std::move(socket), conn), asio::detached);
        }
    }
};

HttpTestServer::HttpTestServer() : HttpTestServer(Options{}) {}

HttpTestServer::HttpTestServer(Options options) : impl_(std::make_shared<Impl>()) {
    Impl& im = *impl_;
    im.options = options;
    im.ioc.emplace(1);
    if (options.tls) {
        auto [cert, key] = make_cert(options.subject_alt_names);
        im.cert_pem = to_pem(cert.get());
        im.tls.emplace(ssl::context::tls_server);
        SSL_CTX_use_certificate(im.tls->native_handle(), cert.get());
        SSL_CTX_use_PrivateKey(im.tls->native_handle(), key.get());
        // Record the server name each client asks for (SNI); never reject.
        SSL_CTX_set_tlsext_servername_arg(im.tls->native_handle(), &im);
        SSL_CTX_set_tlsext_servername_callback(
            im.tls->native_handle(), +[](SSL* ssl, int*, void* arg) -> int {
                auto* self = static_cast<Impl*>(arg);
                const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
                std::lock_guard lock(self->mu);
                self->sni = name ? name : "";
                return SSL_TLSEXT_ERR_OK;
            });
    }
    im.acceptor.emplace(*im.ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    im.port = im.acceptor->local_endpoint().port();
    asio::co_spawn(*im.ioc, im.accept_loop(), asio::detached);
    im.thread = std::thread([&im] { im.ioc->run(); });
}

HttpTestServer::~HttpTestServer() {
    Impl& im = *impl_;
    im.ioc->stop();
    im.thread.join();
    // Suspended sessions are destroyed with the io_context, before what they point to.
    im.held.clear();
    im.count_waiters.clear();
    im.acceptor.reset();
    im.ioc.reset();
}

std::uint16_t HttpTestServer::port() const noexcept {
    return impl_->port;
}

std::string HttpTestServer::url(std::string_view path) const {
    return std::string(impl_->options.tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

void HttpTestServer::route(std::string prefix, HttpTestHandler handler) {
    std::lock_guard lock(impl_->mu);
    impl_->routes[std::move(prefix)] = std::move(handler);
}

void HttpTestServer::gate(std::size_t n, std::size_t total) {
    std::lock_guard lock(impl_->mu);
    impl_->gate_n = n;
    impl_->gate_total = total;
    impl_->gate_arrived = 0;
}

void HttpTestServer::open_gate() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->gate_n = 0;
    }
    Impl* im = impl_.get();
    asio::post(*im->ioc, [im] {
        for (asio::steady_timer* t : im->held)
            t->cancel();
        im->held.clear();
    });
}

std::size_t HttpTestServer::requests() const {
    std::lock_guard lock(impl_->mu);
    return impl_->requests;
}

std::size_t HttpTestServer::current_concurrent() const {
    std::lock_guard lock(impl_->mu);
    return impl_->current;
}

std::size_t HttpTestServer::max_concurrent() const {
    std::lock_guard lock(impl_->mu);
    return impl_->max_current;
}

std::size_t HttpTestServer::connections_opened() const {
    std::lock_guard lock(impl_->mu);
    return impl_->connections;
}

std::vector<HttpTestRequest> HttpTestServer::received() const {
    std::lock_guard lock(impl_->mu);
    return impl_->received;
}

bool HttpTestServer::wait_for_concurrent(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mu);
    return impl_->cv.wait_for(lock, timeout, [&] { return impl_->current >= n; });
}

bool HttpTestServer::wait_for_answered(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mu);
    return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests - impl_->current >= n; });
}

const std::string& HttpTestServer::certificate_pem() const {
    return impl_->cert_pem;
}

std::string HttpTestServer::last_sni() const {
    std::lock_guard lock(impl_->mu);
    return impl_->sni;
}

std::string HttpTestServer::write_certificate(const std::string& path) const {
    std::ofstream out(path, std::ios::binary);
    out << impl_->cert_pem;
    return path;
}

} // namespace conveyor::test
