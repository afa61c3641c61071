#include "conveyor/obs/metrics_server.hpp"
#include "http_get.hpp"

#include <atomic>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor::obs {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<MetricsServer> start(MetricsServer::Render render) {
    auto addr = MetricsServer::parse_address("127.0.0.1:0");
    EXPECT_TRUE(addr);
    auto s = MetricsServer::start(*addr, std::move(render));
    EXPECT_TRUE(s) << s.error().to_string();
    return std::move(s).value();
}

unsigned short port_of(const MetricsServer& s) {
    const std::string& a = s.bound_address();
    return static_cast<unsigned short>(std::stoi(a.substr(a.rfind(':') + 1)));
}

TEST(MetricsServer, ParsesAddresses) {
    auto a = MetricsServer::parse_address("127.0.0.1:9464");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 9464);
    auto b = MetricsServer::parse_address("[::1]:0");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "::1");
    auto c = MetricsServer::parse_address(":9000");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->host, "127.0.0.1");
    auto d = MetricsServer::parse_address("9000");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->port, 9000);
    auto e = MetricsServer::parse_address("localhost:1");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->host, "127.0.0.1");
    for (const char* bad :
         {"127.0.0.1:70000", "127.0.0.1:", "example.com:80", "::1:80", "[::1]80", "1.2.3:4"}) {
        auto r = MetricsServer::parse_address(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().kind, ErrorKind::Usage);
        EXPECT_THAT(r.error().message, HasSubstr(bad));
    }
}

TEST(MetricsServer, ServesMetricsOnEveryScrape) {
    std::atomic<int> scrapes{0};
    auto server = start([&] { return "conveyor_x " + std::to_string(++scrapes) + "\n"; });
    const unsigned short port = port_of(*server);
    EXPECT_EQ(server->bound_address().rfind("127.0.0.1:", 0), 0u);

    auto r1 = test::http_request(port, "GET", "/metrics");
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->status, 200);
    EXPECT_THAT(r1->head, HasSubstr("Content-Type: text/plain; version=0.0.4"));
    EXPECT_EQ(r1->body, "conveyor_x 1\n");
    auto r2 = test::http_request(port, "GET", "/metrics?x=1");
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->body, "conveyor_x 2\n") << "rendered afresh for every scrape";

    auto head = test::http_request(port, "HEAD", "/metrics");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->body, "");
    EXPECT_THAT(head->head, HasSubstr("Content-Length: 13"));

    auto missing = test::http_request(port, "GET", "/nope");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    auto post = test::http_request(port, "POST", "/metrics");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 405);
}

TEST(MetricsServer, AnswersSeveralRequestsOnOneKeepAliveConnection) {
    auto server = start([] { return std::string("conveyor_y 1\n"); });
    const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string last = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto raw = test::http_exchange(port_of(*server), get + get + last);
    ASSERT_TRUE(raw);
    std::size_t count = 0;
    for (std::size_t pos = 0; (pos = raw->find("HTTP/1.1 200 OK", pos)) != std::string::npos; ++pos)
        ++count;
    EXPECT_EQ(count, 3u);
}

TEST(MetricsServer, MalformedRequestClosesTheConnection) {
    auto server = start([] { return std::string("x 1\n"); });
    auto raw = test::http_exchange(port_of(*server), "NOT HTTP AT ALL\r\n\r\n");
    ASSERT_TRUE(raw) << "closed, not left hanging";
    auto ok = test::http_request(port_of(*server), "GET", "/metrics");
    ASSERT_TRUE(ok) << "the server keeps serving";
    EXPECT_EQ(ok->status, 200);
}

TEST(MetricsServer, PortInUseFailsWithCantCreate) {
    auto first = start([] { return std::string(); });
    auto addr = MetricsServer::parse_address(first->bound_address());
    ASSERT_TRUE(addr);
    auto second = MetricsServer::start(*addr, [] { return std::string(); });
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().kind, ErrorKind::CantCreate);
    EXPECT_THAT(second.error().message, HasSubstr(first->bound_address()));
}

TEST(MetricsServer, StopIsIdempotentAndClosesThePort) {
    auto server = start([] { return std::string("x 1\n"); });
    const unsigned short port = port_of(*server);
    server->stop();
    server->stop();
    EXPECT_FALSE(test::http_request(port, "GET", "/metrics"));
}

} // namespace
} // namespace conveyor::obs
