// http.fetch against servers that close keep-alive connections right after a response without
// saying so ("Connection: close"): requests that must not be sent twice (POST) are not lost to
// a pooled connection the server is closing.

#include "plugins/http/http_test_util.hpp"
#include "support/closing_http_server.hpp"

#include <gtest/gtest.h>

namespace conveyor::plugins::http {
namespace {

using test::ClosingHttpServer;
using namespace test_util;

class HttpFetchKeepAlive : public ::testing::TestWithParam<ExecutorKind> {};

TEST_P(HttpFetchKeepAlive, PostsToAServerThatClosesAfterEachResponseAreAllDelivered) {
    // The first connection closes with its response: the client sees that close before it
    // would reuse the connection. Every later one closes at the worst moment, when the next
    // request on it arrives: a POST sent on it is lost (reset, not resent: the client cannot
    // tell that the server never read it), so the client must not send one there.
    ClosingHttpServer server(ClosingHttpServer::Close::WithResponse,
                             ClosingHttpServer::Close::WhenTheNextRequestArrives, 4);
    PipelineFixture fx(300);
    Outcome o =
        fx.run(fx.pipeline(GetParam(), "url = \"" + server.url("/users/{{ id }}") +
                                           "\"\nmethod = \"POST\"\nbody = '{\"id\": {{ id }}}'\n"
                                           "retries = 0\nconcurrency = 4\n"));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(o.report.exit_code(), 0);
    EXPECT_EQ(o.lines.size(), 300u);
    EXPECT_EQ(records_ok(o), 300u);
    EXPECT_EQ(server.requests(), 300u) << "each POST sent once";
    EXPECT_EQ(o.http().requests.value(), 300u);
    EXPECT_EQ(o.http().errors.value(), 0u);
    expect_accounting(o, 300);
}

TEST_P(HttpFetchKeepAlive, GetsToSuchAServerAreSentAgainOnANewConnection) {
    // An idempotent request may be sent twice: it keeps reusing connections, and one lost to a
    // close is sent once more on a new connection.
    ClosingHttpServer server(ClosingHttpServer::Close::WithResponse,
                             ClosingHttpServer::Close::WhenTheNextRequestArrives, 4);
    PipelineFixture fx(100);
    Outcome o = fx.run(fx.pipeline(GetParam(), "url = \"" + server.url("/users/{{ id }}") +
                                                   "\"\nretries = 0\nconcurrency = 4\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(o.lines.size(), 100u);
    EXPECT_EQ(server.requests(), 100u);
    expect_accounting(o, 100);
}

INSTANTIATE_TEST_SUITE_P(Executors, HttpFetchKeepAlive,
                         ::testing::Values(ExecutorKind::Dag, ExecutorKind::Channel,
                                           ExecutorKind::Async),
                         [](const ::testing::TestParamInfo<ExecutorKind>& p) {
                             return executor_name(p.param);
                         });

} // namespace
} // namespace conveyor::plugins::http
