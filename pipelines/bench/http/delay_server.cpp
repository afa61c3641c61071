// The W2 delay server in C++ (Asio + Beast, one thread): the same endpoints, options and
// /__stats as ../shared/bench/delay_server.py, so that at high concurrency the server is not
// what the benchmark measures (issue 20). Loopback only; stops by itself after --max-seconds.
//
//   GET /users/{id}/profile  -> 200 {"id":..,"name":..,"tier":..,"country":..}
//   GET /users/{id}/orders   -> 200 {"user_id":..,"orders":[{"order_id":..,"amount":..},..]}
//   GET /__stats             -> counters as JSON (not delayed, not counted), with cpu_s: the
//                               server's own CPU time since the last reset
//   GET /__reset             -> resets the counters
//
// usage: conveyor-delay-server [--port P] [--port-file F] [--pid-file F] [--delay-ms MS]
//                              [--max-seconds S]

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    unsigned short port = 0;
    std::string port_file;
    std::string pid_file;
    int delay_ms = 100;
    int max_seconds = 900;
};

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Counters, touched only from the one thread that runs the server.
struct Stats {
    std::uint64_t requests = 0, profile = 0, orders = 0;
    std::map<int, std::uint64_t> status;
    std::uint64_t connections_total = 0, connections_now = 0, max_connections = 0;
    std::uint64_t inflight_now = 0, max_inflight = 0;
    std::optional<Clock::time_point> first_request, last_response;
    Clock::time_point since = Clock::now();
    double cpu_at_reset = cpu_seconds();

    void reset() {
        requests = profile = orders = 0;
        status.clear();
        connections_total = 0;
        max_connections = connections_now;
        max_inflight = inflight_now;
        first_request.reset();
        last_response.reset();
        since = Clock::now();
        cpu_at_reset = cpu_seconds();
    }

    [[nodiscard]] std::string json() const {
        auto secs = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
        std::string codes;
        for (const auto& [code, n] : status)
            codes += (codes.empty() ? "" : ",") + ("\"" + std::to_string(code) + "\":") +
                     std::to_string(n);
        char span[64] = "null";
        if (first_request && last_response)
            std::snprintf(span, sizeof span, "%.4f", secs(*last_response - *first_request));
        // The same two moments on CLOCK_MONOTONIC (steady_clock on Linux), so that a client can
        // place them against its own process's start and end: what lies outside the span.
        char moments[128] = "";
        if (first_request && last_response)
            std::snprintf(moments, sizeof moments,
                          "\"first_request_monotonic_s\":%.6f,\"last_response_monotonic_s\":%.6f,",
                          secs(first_request->time_since_epoch()),
                          secs(last_response->time_since_epoch()));
        char tail[384];
        std::snprintf(tail, sizeof tail,
                      "\"first_request_to_last_response_s\":%s,%s\"uptime_since_reset_s\":%.3f,"
                      "\"cpu_s\":%.4f}",
                      span, moments, secs(Clock::now() - since), cpu_seconds() - cpu_at_reset);
        return "{\"requests\":" + std::to_string(requests) +
               ",\"by_kind\":{\"profile\":" + std::to_string(profile) +
               ",\"orders\":" + std::to_string(orders) + "},\"status\":{" + codes +
               "},\"hung\":0,\"connections_total\":" + std::to_string(connections_total) +
               ",\"connections_now\":" + std::to_string(connections_now) +
               ",\"max_concurrent_connections\":" + std::to_string(max_connections) +
               ",\"inflight_now\":" + std::to_string(inflight_now) +
               ",\"max_concurrent_requests\":" + std::to_string(max_inflight) + "," + tail;
    }
};

constexpr const char* kTiers[] = {"free", "silver", "gold", "platinum"};
constexpr const char* kCountries[] = {"US", "DE", "FR", "GB", "JP", "BR", "IN", "PL"};

std::string profile_body(long uid) {
    return "{\"id\":" + std::to_string(uid) + ",\"name\":\"user" + std::to_string(uid) +
           "\",\"tier\":\"" + kTiers[uid % 4] + "\",\"country\":\"" + kCountries[uid % 8] + "\"}";
}

std::string orders_body(long uid) {
    std::string s = "{\"user_id\":" + std::to_string(uid) + ",\"orders\":[";
    const long n = uid % 3 + 1;
    for (long k = 0; k < n; ++k) {
        char amount[32];
        std::snprintf(amount, sizeof amount, "%.2f",
                      static_cast<double>((uid * 37 + k * 101) % 5000) + 0.99);
        s += (k ? "," : "") + ("{\"order_id\":" + std::to_string(uid * 10 + k)) +
             ",\"amount\":" + amount + "}";
    }
    return s + "]}";
}

asio::awaitable<void> serve(tcp::socket socket, Stats& st, const Options& opt) {
    ++st.connections_total;
    ++st.connections_now;
    st.max_connections = std::max(st.max_connections, st.connections_now);
    static const std::regex users(R"(^/users/(\d+)/(profile|orders)$)");
    beast::flat_buffer buffer;
    asio::steady_timer timer(socket.get_executor());
    for (;;) {
        http::request<http::string_body> req;
        auto [ec, n] =
            co_await http::async_read(socket, buffer, req, asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec) break;
        std::string target(req.target());
        const std::string path = target.substr(0, target.find('?'));
        http::response<http::string_body> res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        res.set(http::field::content_type, "application/json");
        std::smatch m;
        bool counted = false;
        if (path == "/__stats") {
            res.result(http::status::ok);
            res.body() = st.json();
        } else if (path == "/__reset") {
            st.reset();
            res.result(http::status::ok);
            res.body() = "{\"reset\":true}";
        } else if (req.method() != http::verb::get) {
            res.result(http::status::method_not_allowed);
            res.body() = "{\"error\":\"method not allowed\"}";
        } else if (!std::regex_match(path, m, users)) {
            res.result(http::status::not_found);
            res.body() = "{\"error\":\"not found\"}";
        } else {
            counted = true;
            const long uid = std::stol(m[1].str());
            const bool profile = m[2].str() == "profile";
            if (!st.first_request) st.first_request = Clock::now();
            ++st.requests;
            ++(profile ? st.profile : st.orders);
            ++st.inflight_now;
            st.max_inflight = std::max(st.max_inflight, st.inflight_now);
            if (opt.delay_ms > 0) {
                timer.expires_after(std::chrono::milliseconds(opt.delay_ms));
                co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            --st.inflight_now;
            res.result(http::status::ok);
            res.body() = profile ? profile_body(uid) : orders_body(uid);
        }
        res.prepare_payload();
        auto [wec, wn] =
            co_await http::async_write(socket, res, asio::as_tuple(asio::use_awaitable));
        (void)wn;
        if (counted) {
            ++st.status[res.result_int()];
            st.last_response = Clock::now();
        }
        if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    --st.connections_now;
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, Stats& st, const Options& opt) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            continue; // e.g. too many open files: keep serving the others
        }
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), st, opt), asio::detached);
    }
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--port")
            o.port = static_cast<unsigned short>(std::stoi(value()));
        else if (a == "--port-file")
            o.port_file = value();
        else if (a == "--pid-file")
            o.pid_file = value();
        else if (a == "--delay-ms")
            o.delay_ms = std::stoi(value());
        else if (a == "--max-seconds")
            o.max_seconds = std::stoi(value());
        else
            return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    Options opt;
    try {
        if (!parse(argc, argv, opt)) {
            std::fprintf(stderr,
                         "usage: %s [--port P] [--port-file F] [--pid-file F] "
                         "[--delay-ms MS] [--max-seconds S]\n",
                         argv[0]);
            return 64;
        }
    } catch (const std::exception&) {
        std::fprintf(stderr, "%s: a numeric option has a value that is not a number\n", argv[0]);
        return 64;
    }
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), opt.port));
    acceptor.listen(4096);
    const unsigned short port = acceptor.local_endpoint().port();
    Stats stats;
    std::printf("LISTENING 127.0.0.1:%u\n", port);
    std::fflush(stdout);
    if (!opt.port_file.empty()) std::ofstream(opt.port_file) << port << "\n";
    if (!opt.pid_file.empty()) std::ofstream(opt.pid_file) << getpid() << "\n";
    asio::co_spawn(io, listen(acceptor, stats, opt), asio::detached);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer deadline(io, std::chrono::seconds(opt.max_seconds));
    auto stop = [&] {
        beast::error_code ignored;
        acceptor.close(ignored);
        io.stop();
    };
    signals.async_wait([&](const beast::error_code&, int) { stop(); });
    deadline.async_wait([&](const beast::error_code& ec) {
        if (!ec) stop();
    });
    io.run();
    std::printf("%s\n", stats.json().c_str());
    return 0;
}
