#include "conveyor/obs/metrics_server.hpp"

#include "conveyor/obs/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <exception>
#include <fmt/format.h>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace conveyor::obs {

struct MetricsServer::Impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    Render render;
    std::string bound;
    std::thread thread;
    bool stopped = false;
};

namespace {

constexpr auto kTimeout = std::chrono::seconds(10);
constexpr std::size_t kRequestLimit = 16 * 1024; // headers and body of a request

http::response<http::string_body> respond(const http::request<http::string_body>& req,
                                          const MetricsServer::Render& render) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "conveyor");
    const bool head = req.method() == http::verb::head;
    std::string_view target(req.target().data(), req.target().size());
    if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (req.method() != http::verb::get && !head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "only GET and HEAD are supported\n";
    } else if (target == "/metrics") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = render();
    } else if (target == "/") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "conveyor: metrics at /metrics (Prometheus text format)\n";
    } else {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "not found: metrics are at /metrics\n";
    }
    res.prepare_payload();
    if (head) res.body().clear(); // Content-Length still tells the size
    return res;
}

/// One connection: requests answered in order until the client closes, a request is
/// malformed or too large, or kTimeout passes without progress.
asio::awaitable<void> session(tcp::socket socket, MetricsServer::Impl& impl) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(kRequestLimit);
    const auto token = asio::as_tuple(asio::use_awaitable);
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(kRequestLimit);
        parser.body_limit(kRequestLimit);
        stream.expires_after(kTimeout);
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, token);
        (void)rn;
        if (rec) break; // closed, timed out or malformed: nothing to answer
        http::request<http::string_body> req = parser.release();
        http::response<http::string_body> res = respond(req, impl.render);
        const bool keep_alive = res.keep_alive();
        stream.expires_after(kTimeout);
        auto [wec, wn] = co_await http::async_write(stream, res, token);
        (void)wn;
        if (wec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void log_session_end(const std::exception_ptr& ep) {
    if (!ep) return;
    try {
        std::rethrow_exception(ep);
    } catch (const std::exception& e) {
        spdlog::warn("metrics server: a connection failed: {}", e.what());
    }
}

asio::awaitable<void> accept_loop(MetricsServer::Impl& impl) {
    const auto token = asio::as_tuple(asio::use_awaitable);
    for (;;) {
        auto [ec, socket] = co_await impl.acceptor.async_accept(token);
        if (ec == asio::error::operation_aborted || !impl.acceptor.is_open()) co_return;
        if (ec) {
            // Out of file descriptors and the like: back off briefly instead of spinning.
            spdlog::warn("metrics server: accept failed: {}", ec.message());
            asio::steady_timer pause(impl.io, std::chrono::milliseconds(100));
            co_await pause.async_wait(token);
            continue;
        }
        asio::co_spawn(impl.io, session(std::move(socket), impl), log_session_end);
    }
}

} // namespace

Result<MetricsServer::Address> MetricsServer::parse_address(std::string_view text) {
    auto bad = [&](std::string_view why) -> Result<Address> {
        return Error(ErrorKind::Usage,
                     fmt::format("--metrics-addr '{}': {} (expected HOST:PORT with an IP address, "
                                 "e.g. 127.0.0.1:9464)",
                                 text, why));
    };
    std::string_view host = "127.0.0.1";
    std::string_view port = text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return bad("an IPv6 address must be written [ADDRESS]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        if (text.find(':') != colon) return bad("write IPv6 addresses in brackets");
        if (colon > 0) host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host == "localhost") host = "127.0.0.1";
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535)
        return bad("the port must be a number from 0 to 65535");
    boost::system::error_code aec;
    const auto ip = asio::ip::make_address(std::string(host), aec);
    if (aec) return bad("'" + std::string(host) + "' is not an IP address");
    Address a;
    a.host = ip.to_string();
    a.port = static_cast<unsigned short>(value);
    return a;
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
    stop();
}

const std::string& MetricsServer::bound_address() const noexcept {
    return impl_->bound;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const Address& address, Render render) {
    auto impl = std::make_unique<Impl>();
    impl->render = std::move(render);
    boost::system::error_code ec;
    const tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
    const std::string what = address.host.find(':') != std::string::npos
                                 ? fmt::format("[{}]:{}", address.host, address.port)
                                 : fmt::format("{}:{}", address.host, address.port);
    auto fail = [&](std::string_view step) -> Result<std::unique_ptr<MetricsServer>> {
        return Error(ErrorKind::CantCreate, fmt::format("cannot serve metrics on {}: {} failed: {}",
                                                        what, step, ec.message()));
    };
    if (ec) return fail("parsing the address");
    impl->acceptor.open(endpoint.protocol(), ec);
    if (ec) return fail("opening a socket");
    impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return fail("setting SO_REUSEADDR");
    impl->acceptor.bind(endpoint, ec);
    if (ec) return fail("bind");
    impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    const tcp::endpoint bound = impl->acceptor.local_endpoint(ec);
    if (ec) return fail("reading the bound address");
    impl->bound = bound.address().is_v6()
                      ? fmt::format("[{}]:{}", bound.address().to_string(), bound.port())
                      : fmt::format("{}:{}", bound.address().to_string(), bound.port());

    Impl& ref = *impl;
    asio::co_spawn(ref.io, accept_loop(ref), log_session_end);
    ref.thread = std::thread([&ref] { ref.io.run(); });
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

void MetricsServer::stop() {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    // Connections may be idle in keep-alive: stop the context outright; their coroutines are
    // destroyed with it.
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    // The thread is gone: closing here is safe, and new connections are refused at once.
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
}

} // namespace conveyor::obs
