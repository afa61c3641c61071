// Host name lookups of the HTTP client: shared by requests that need the same name at once,
// remembered afterwards, and a name that does not exist is not looked up again for every record.

#include "conveyor/net/http_client.hpp"
#include "support/http_test_server.hpp"
#include "unit/net/net_test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace conveyor::net {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;

using test_util::get;
using test_util::unresolvable_host;

struct Outcome {
    std::vector<HttpResult> results;
    std::uint64_t lookups = 0;
    std::uint64_t connections = 0;
};

/// Sends `first_wave` requests at once on one client, and then `then` more one after the other.
Outcome send_waves(const std::string& url, int first_wave, int then) {
    return test_util::run<Outcome>([&](asio::any_io_executor ex) -> asio::awaitable<Outcome> {
        HttpClient client(ex, {});
        Outcome out;
        out.results.resize(static_cast<std::size_t>(first_wave));
        int pending = first_wave;
        asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
        for (int i = 0; i < first_wave; ++i) {
            asio::co_spawn(
                ex,
                [&, i]() -> asio::awaitable<void> {
                    out.results[static_cast<std::size_t>(i)] =
                        co_await client.send(get(url), milliseconds{10000});
                    if (--pending == 0) all_done.cancel();
                },
                asio::detached);
        }
        if (pending > 0) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        for (int i = 0; i < then; ++i)
            out.results.push_back(co_await client.send(get(url), milliseconds{10000}));
        out.lookups = client.host_lookups();
        out.connections = client.connections_opened();
        co_return out;
    });
}

TEST(HostLookup, RequestsThatNeedOneHostNameAtOnceShareOneLookup) {
    HttpTestServer server;
    server.route("/r", [](const HttpTestRequest&) { return HttpTestReply::json("1"); });
    const int wave = 16;
    Outcome o = send_waves("http://localhost:" + std::to_string(server.port()) + "/r", wave, 3);
    ASSERT_EQ(o.results.size(), static_cast<std::size_t>(wave + 3));
    for (const HttpResult& r : o.results) {
        ASSERT_TRUE(r.ok()) << r.message;
        EXPECT_EQ(r.response->status, 200);
    }
    // The first wave opened a connection per request, yet looked the name up once; the later
    // requests reused connections, and the name was remembered anyway.
    EXPECT_EQ(o.connections, static_cast<std::uint64_t>(wave));
    EXPECT_EQ(o.lookups, 1u);
}

TEST(HostLookup, ANameThatDoesNotExistIsLookedUpOnceNotOncePerRequest) {
    Outcome o = send_waves("http://" + unresolvable_host() + "/users/1", 8, 5);
    ASSERT_EQ(o.results.size(), 13u);
    for (const HttpResult& r : o.results) {
        EXPECT_EQ(r.failure, FailureKind::HostNotFound) << r.message;
        EXPECT_NE(r.message.find("no such host name"), std::string::npos) << r.message;
    }
    EXPECT_EQ(o.lookups, 1u);
    EXPECT_EQ(o.connections, 0u);
}

TEST(HostLookup, AddressLiteralsAreNotLookedUp) {
    HttpTestServer server;
    server.route("/", [](const HttpTestRequest&) { return HttpTestReply::json("1"); });
    Outcome o = send_waves(server.url("/"), 2, 1);
    for (const HttpResult& r : o.results)
        ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(o.lookups, 0u);
}

} // namespace
} // namespace conveyor::net
