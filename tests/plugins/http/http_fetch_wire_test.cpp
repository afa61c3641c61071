// http.fetch against what servers put on the wire: values that look like dot segments or URL
// delimiters, interim 1xx responses on keep-alive connections, compressed and undecodable
// bodies.

#include "plugins/http/http_test_util.hpp"
#include "unit/net/net_test_util.hpp"

#include <gtest/gtest.h>
#include <set>

namespace conveyor::plugins::http {
namespace {

using test::HttpTestInterim;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using namespace test_util;
using net::test_util::compress;
using net::test_util::Wrapper;

std::string url_line(const HttpTestServer& s, const std::string& path = "/users/{{ id }}") {
    return "url = \"" + s.url(path) + "\"\n";
}

TEST(HttpFetchTemplates, DotSegmentAndDelimiterValuesStayInsideTheirPathSegment) {
    HttpTestServer server;
    PipelineFixture fx;
    fx.write_csv("id\n..\n.\n../admin\na/b\nx?y=1\np#q\n50%\n");
    Outcome o = fx.run(
        fx.pipeline(ExecutorKind::Channel, url_line(server, "/users/{{ id }}/profile?v={{ id }}")));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    std::set<std::string> targets;
    for (const HttpTestRequest& r : server.received())
        targets.insert(r.target);
    const std::set<std::string> want = {
        "/users/%2E%2E/profile?v=..",
        "/users/%2E/profile?v=.",
        "/users/..%2Fadmin/profile?v=..%2Fadmin",
        "/users/a%2Fb/profile?v=a%2Fb",
        "/users/x%3Fy%3D1/profile?v=x%3Fy%3D1",
        "/users/p%23q/profile?v=p%23q",
        "/users/50%25/profile?v=50%25",
    };
    EXPECT_EQ(targets, want);
}

TEST(HttpFetchResponses, InterimResponsesOnAKeepAliveConnectionLeaveEachRecordItsOwnBody) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest& r) {
        HttpTestReply reply =
            HttpTestReply::json("{\"for\":" + std::to_string(id_in_path(r.path)) + "}");
        reply.interim.push_back(HttpTestInterim{100, {}});
        if (r.index % 2 == 1)
            reply.interim.push_back(HttpTestInterim{103, {{"Link", "</x.css>; rel=preload"}}});
        return reply;
    });
    PipelineFixture fx(5);
    Outcome o = fx.run(
        fx.pipeline(ExecutorKind::Channel, url_line(server) + "concurrency = 1\nretries = 0\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 5u);
    for (int i = 1; i <= 5; ++i)
        EXPECT_EQ(o.lines[static_cast<std::size_t>(i - 1)],
                  "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i) +
                      "\",\"http_result\":{\"for\":" + std::to_string(i) + "}}");
    EXPECT_EQ(server.connections_opened(), 1u);
    expect_accounting(o, 5);
}

TEST(HttpFetchResponses, GzipAndDeflateBodiesAreDecodedIntoTheRecord) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        const std::string json =
            "{\"user\":" + std::to_string(id) + ",\"pad\":\"" + std::string(200, 'p') + "\"}";
        const bool gzip = id % 2 == 1;
        HttpTestReply reply =
            HttpTestReply::json(compress(json, gzip ? Wrapper::Gzip : Wrapper::Zlib));
        reply.headers.emplace_back("Content-Encoding", gzip ? "gzip" : "deflate");
        return reply;
    });
    PipelineFixture fx(4);
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Channel, url_line(server)));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 4u);
    for (int i = 1; i <= 4; ++i)
        EXPECT_EQ(o.lines[static_cast<std::size_t>(i - 1)],
                  "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i) +
                      "\",\"http_result\":{\"user\":" + std::to_string(i) + ",\"pad\":\"" +
                      std::string(200, 'p') + "\"}}");
    for (const HttpTestRequest& r : server.received())
        EXPECT_EQ(r.header("accept-encoding"), "gzip, deflate");
}

TEST(HttpFetchResponses, UndecodableBodiesAreRecordErrorsThatSayWhyAndAreNotRetried) {
    HttpTestServer server;
    const std::string bomb = compress(std::string(8u << 20, '0'), Wrapper::Gzip);
    server.route("/users/", [&](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        HttpTestReply reply = HttpTestReply::json("{\"ok\":true}");
        if (id == 1) {
            reply.body = bomb;
            reply.headers.emplace_back("Content-Encoding", "gzip");
        } else if (id == 2) {
            reply.body = "\x0b\x02\x80";
            reply.headers.emplace_back("Content-Encoding", "br");
        } else if (id == 3) {
            reply.body = "this is not gzip";
            reply.headers.emplace_back("Content-Encoding", "gzip");
        }
        return reply;
    });
    PipelineFixture fx(4);
    fx.use_fake_time();
    const std::string tail = "[error_handling]\ndead_letter_queue = { enabled = true, path = \"" +
                             fx.dlq_path() + "\" }\n";
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Channel,
                                   url_line(server) + "on_error = \"dead_letter\"\n"
                                                      "max_response_bytes = 1000000\n",
                                   "", tail));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 1u);
    EXPECT_EQ(o.lines[0], R"({"id":4,"name":"n4","http_result":{"ok":true}})");
    EXPECT_EQ(server.requests(), 4u) << "none of these is retried";
    EXPECT_EQ(o.fetch->records_dead_lettered.load(), 3u);
    EXPECT_EQ(o.http().errors_by(obs::HttpMetrics::Failure::TooLarge).value(), 1u);
    EXPECT_NE(o.dead_letters.find("response body over 1000000 bytes after decoding gzip"),
              std::string::npos)
        << o.dead_letters;
    EXPECT_NE(o.dead_letters.find(R"(Content-Encoding \"br\", which cannot be decoded)"),
              std::string::npos)
        << o.dead_letters;
    EXPECT_NE(o.dead_letters.find("cannot decode the gzip response body"), std::string::npos)
        << o.dead_letters;
    expect_accounting(o, 4);
}

} // namespace
} // namespace conveyor::plugins::http
