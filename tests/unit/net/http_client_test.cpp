#include "conveyor/net/http_client.hpp"
#include "conveyor/net/url.hpp"
#include "support/http_test_server.hpp"
#include "support/process.hpp"
#include "unit/net/net_test_util.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>
#include <thread>

namespace conveyor::net {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;

using test_util::get;

/// Sends `requests` one after the other on one client; returns the results and the client's
/// connection count.
std::pair<std::vector<HttpResult>, std::uint64_t>
send_all(std::vector<HttpRequest> requests, ClientOptions options = {},
         milliseconds timeout = milliseconds{5000}) {
    using Out = std::pair<std::vector<HttpResult>, std::uint64_t>;
    return test_util::run<Out>([&](asio::any_io_executor ex) -> asio::awaitable<Out> {
        HttpClient client(ex, options);
        std::vector<HttpResult> results;
        for (const HttpRequest& r : requests) {
            HttpResult res = co_await client.send(r, timeout);
            results.push_back(std::move(res));
        }
        co_return Out{std::move(results), client.connections_opened()};
    });
}

HttpResult send_one(HttpRequest request, ClientOptions options = {},
                    milliseconds timeout = milliseconds{5000}) {
    return std::move(send_all({std::move(request)}, std::move(options), timeout).first.front());
}

TEST(HttpClient, GetReturnsStatusHeadersAndBody) {
    HttpTestServer server;
    server.route("/hello", [](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json(R"({"hi":1})", 201);
        r.headers.emplace_back("X-Trace", "abc");
        return r;
    });
    HttpResult r = send_one(get(server.url("/hello")));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.response->status, 201);
    EXPECT_EQ(r.response->body, R"({"hi":1})");
    EXPECT_EQ(r.response->header("x-trace"), "abc");
    EXPECT_EQ(r.response->header("content-type"), "application/json");
}

TEST(HttpClient, AnEncodedValueArrivesAsOnePathSegmentAndOneQueryValue) {
    HttpTestServer server;
    const std::string value = "a b/../c?x=1";
    std::string url = server.url("/items/");
    append_percent_encoded(url, value);
    url += "?q=";
    append_percent_encoded(url, value);
    url += "&n=2";
    HttpResult r = send_one(get(url));
    ASSERT_TRUE(r.ok()) << r.message;
    const auto seen = server.received();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].path, "/items/a%20b%2F..%2Fc%3Fx%3D1");
    EXPECT_EQ(percent_decode(seen[0].path.substr(7)), value);
    EXPECT_EQ(seen[0].query, "q=a%20b%2F..%2Fc%3Fx%3D1&n=2");
    EXPECT_EQ(percent_decode(seen[0].query.substr(2, seen[0].query.find('&') - 2)), value);
}

TEST(HttpClient, SendsMethodHeadersBodyAndBasicCredentials) {
    HttpTestServer server;
    HttpRequest req;
    req.method = "PATCH";
    req.url = "http://bob:p%40ss@127.0.0.1:" + std::to_string(server.port()) + "/x";
    req.headers.push_back({"X-Token", "t1"});
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = R"({"a":1})";
    HttpResult r = send_one(req);
    ASSERT_TRUE(r.ok()) << r.message;
    const auto seen = server.received();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "PATCH");
    EXPECT_EQ(seen[0].header("x-token"), "t1");
    EXPECT_EQ(seen[0].header("content-length"), "7");
    EXPECT_EQ(seen[0].body, R"({"a":1})");
    EXPECT_EQ(seen[0].header("authorization"), "Basic " + base64_encode("bob:p@ss"));
    EXPECT_EQ(seen[0].header("host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(seen[0].header("user-agent").rfind("conveyor/", 0), 0u);
}

TEST(HttpClient, KeepAliveReusesOneConnectionForSequentialRequests) {
    HttpTestServer server;
    std::vector<HttpRequest> reqs;
    for (int i = 0; i < 5; ++i)
        reqs.push_back(get(server.url("/n/" + std::to_string(i))));
    auto [results, opened] = send_all(reqs);
    for (const HttpResult& r : results)
        ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(opened, 1u);
    EXPECT_EQ(server.connections_opened(), 1u);
    EXPECT_EQ(server.requests(), 5u);
}

TEST(HttpClient, ConnectionCloseIsHonoured) {
    HttpTestServer server;
    server.route("/", [](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json("{}");
        r.close = true;
        return r;
    });
    auto [results, opened] = send_all({get(server.url("/a")), get(server.url("/b"))});
    for (const HttpResult& r : results)
        ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(opened, 2u);
    EXPECT_EQ(server.connections_opened(), 2u);
}

TEST(HttpClient, AnIdleConnectionClosedByTheServerIsReplaced) {
    HttpTestServer server;
    server.route("/", [](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json("{}");
        r.silent_close = true; // promises keep-alive, then closes
        return r;
    });
    auto [results, opened] = send_all({get(server.url("/a")), get(server.url("/b"))});
    for (const HttpResult& r : results)
        ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(opened, 2u);
    EXPECT_EQ(server.requests(), 2u);
}

TEST(HttpClient, ARequestLostOnAReusedConnectionIsResentOnlyIfIdempotent) {
    // The server reads the second request, then drops the connection without answering: it
    // may have acted on it. A GET is sent again on a new connection; a POST is not (it is
    // reported, for the stage's retry policy to decide).
    for (const std::string method : {"GET", "POST"}) {
        HttpTestServer server;
        server.route("/ok", [](const HttpTestRequest&) { return HttpTestReply::json("{}"); });
        server.route("/drop", [](const HttpTestRequest&) { return HttpTestReply::reset(); });
        HttpRequest first = get(server.url("/ok"));
        HttpRequest second = get(server.url("/drop"));
        first.method = second.method = method;
        second.body = "{\"order\":1}";
        auto [results, opened] = send_all({first, second});
        ASSERT_TRUE(results[0].ok()) << results[0].message;
        EXPECT_FALSE(results[1].ok());
        EXPECT_EQ(results[1].failure, FailureKind::Reset) << results[1].message;
        EXPECT_EQ(server.requests(), method == "GET" ? 3u : 2u) << method;
    }
}

TEST(HttpClient, HangingServerTimesOut) {
    HttpTestServer server;
    server.route("/hang", [](const HttpTestRequest&) { return HttpTestReply::hang(); });
    HttpResult r = send_one(get(server.url("/hang")), {}, milliseconds{150});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::Timeout);
    EXPECT_TRUE(is_retryable(r.failure));
    EXPECT_EQ(r.message, "no complete response within 150 ms");
}

TEST(HttpClient, ResetConnectionIsAReset) {
    HttpTestServer server;
    server.route("/reset", [](const HttpTestRequest&) { return HttpTestReply::reset(); });
    HttpResult r = send_one(get(server.url("/reset")));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::Reset) << r.message;
    EXPECT_TRUE(is_retryable(r.failure));
}

TEST(HttpClient, BodyOverTheLimitIsRefused) {
    HttpTestServer server;
    server.route("/big", [](const HttpTestRequest&) { return HttpTestReply::huge(5000); });
    ClientOptions o;
    o.max_response_bytes = 4096;
    HttpResult r = send_one(get(server.url("/big")), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::TooLarge);
    EXPECT_FALSE(is_retryable(r.failure));
    o.max_response_bytes = 5002;
    HttpResult fits = send_one(get(server.url("/big")), o);
    ASSERT_TRUE(fits.ok()) << fits.message;
    EXPECT_EQ(fits.response->body.size(), 5002u);
}

TEST(HttpClient, RefusedConnectionIsAConnectFailure) {
    std::uint16_t port = 0;
    {
        HttpTestServer gone;
        port = gone.port();
    }
    HttpResult r = send_one(get("http://127.0.0.1:" + std::to_string(port) + "/"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::Connect) << r.message;
    EXPECT_TRUE(is_retryable(r.failure));
}

TEST(HttpClient, BadUrlAndMethodAreReportedWithoutNetworking) {
    HttpResult r = send_one(get("ftp://127.0.0.1/"));
    EXPECT_EQ(r.failure, FailureKind::BadUrl);
    HttpRequest m = get("http://127.0.0.1:1/");
    m.method = "FROB";
    EXPECT_EQ(send_one(m).failure, FailureKind::BadUrl);
}

TEST(HttpClient, TlsWithTheServersCertificateAsCaFile) {
    HttpTestServer server(HttpTestServer::Options{true});
    test::TempDir dir;
    const std::string ca = server.write_certificate(dir.file("ca.pem"));
    auto tls = TlsContext::create({true, ca});
    ASSERT_TRUE(tls) << tls.error().message;
    ClientOptions o;
    o.tls = *tls;
    auto [results, opened] = send_all({get(server.url("/a")), get(server.url("/b"))}, o);
    for (const HttpResult& r : results)
        ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(opened, 1u); // TLS connections are kept alive too
    EXPECT_EQ(server.connections_opened(), 1u);
}

TEST(HttpClient, TlsVerificationFailsForAnUntrustedCertificate) {
    HttpTestServer server(HttpTestServer::Options{true});
    auto tls = TlsContext::create({true, ""});
    ASSERT_TRUE(tls);
    ClientOptions o;
    o.tls = *tls;
    HttpResult r = send_one(get(server.url("/")), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::Tls);
    EXPECT_FALSE(is_retryable(r.failure));
    EXPECT_NE(r.message.find("certificate verify failed"), std::string::npos) << r.message;
    EXPECT_EQ(server.requests(), 0u);
}

TEST(HttpClient, TlsWithoutVerificationAcceptsASelfSignedServer) {
    HttpTestServer server(HttpTestServer::Options{true});
    auto tls = TlsContext::create({false, ""});
    ASSERT_TRUE(tls);
    ClientOptions o;
    o.tls = *tls;
    HttpResult r = send_one(get(server.url("/x")), o);
    ASSERT_TRUE(r.ok()) << r.message;
}

TEST(HttpClient, TlsChecksTheHostNameAgainstTheCertificate) {
    // A trusted certificate for another name: the chain verifies, the name does not.
    HttpTestServer server(HttpTestServer::Options{true, "DNS:service.example.invalid"});
    test::TempDir dir;
    auto tls = TlsContext::create({true, server.write_certificate(dir.file("ca.pem"))});
    ASSERT_TRUE(tls);
    ClientOptions o;
    o.tls = *tls;
    HttpResult r = send_one(get(server.url("/")), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, FailureKind::Tls);
    EXPECT_NE(r.message.find("mismatch"), std::string::npos) << r.message;
}

TEST(HttpClient, TlsSendsTheHostNameAsSniButNeverAnAddress) {
    HttpTestServer server(HttpTestServer::Options{true});
    test::TempDir dir;
    auto tls = TlsContext::create({true, server.write_certificate(dir.file("ca.pem"))});
    ASSERT_TRUE(tls);
    ClientOptions o;
    o.tls = *tls;
    HttpResult by_ip = send_one(get(server.url("/")), o);
    ASSERT_TRUE(by_ip.ok()) << by_ip.message;
    EXPECT_EQ(server.last_sni(), "");
    // "localhost" resolves to the loopback interface; the certificate names it too.
    HttpResult by_name =
        send_one(get("https://localhost:" + std::to_string(server.port()) + "/"), o);
    ASSERT_TRUE(by_name.ok()) << by_name.message;
    EXPECT_EQ(server.last_sni(), "localhost");
}

TEST(HttpClient, UnreadableCaFileIsAConfigError) {
    auto tls = TlsContext::create({true, "/nonexistent/ca.pem"});
    ASSERT_FALSE(tls);
    EXPECT_EQ(tls.error().kind, ErrorKind::Config);
    EXPECT_NE(tls.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(HttpClient, CancelAllAbortsARequestInFlight) {
    HttpTestServer server;
    server.route("/hang", [](const HttpTestRequest&) { return HttpTestReply::hang(); });
    asio::io_context ioc;
    asio::any_io_executor strand = asio::make_strand(ioc);
    HttpClient client(strand, {});
    std::optional<HttpResult> result;
    asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<void> {
            HttpResult r = co_await client.send(get(server.url("/hang")), milliseconds{60000});
            result = std::move(r);
        },
        [](std::exception_ptr ep) {
            if (ep) std::rethrow_exception(ep);
        });
    std::thread io([&] { ioc.run(); });
    ASSERT_TRUE(server.wait_for_concurrent(1, milliseconds{10000}));
    asio::post(strand, [&] { client.cancel_all(); });
    io.join();
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->failure, FailureKind::Cancelled);
}

/// A JSON body naming the request's path, sent after `interim` 1xx responses.
HttpTestReply path_reply(const HttpTestRequest& r, std::vector<test::HttpTestInterim> interim) {
    HttpTestReply reply = HttpTestReply::json("\"" + r.path + "\"");
    reply.interim = std::move(interim);
    return reply;
}

TEST(HttpClient, InterimResponsesAreSkippedAndEachRequestGetsItsOwnResponse) {
    HttpTestServer server;
    server.route("/n/", [](const HttpTestRequest& r) {
        switch (r.index % 3) {
        case 0:
            return path_reply(r, {{100, {}}});
        case 1:
            return path_reply(r, {{100, {}}, {103, {{"Link", "</a.css>; rel=preload"}}}});
        default:
            return path_reply(r, {{102, {}}});
        }
    });
    std::vector<HttpRequest> reqs;
    for (int i = 0; i < 6; ++i)
        reqs.push_back(get(server.url("/n/" + std::to_string(i))));
    reqs[2].method = "POST";
    reqs[2].body = "{\"x\":1}";
    auto [results, opened] = send_all(reqs);
    for (std::size_t i = 0; i < results.size(); ++i) {
        ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].message;
        EXPECT_EQ(results[i].response->status, 200) << i;
        EXPECT_EQ(results[i].response->body, "\"/n/" + std::to_string(i) + "\"") << i;
    }
    EXPECT_EQ(opened, 1u) << "interim responses do not cost the connection";
}

TEST(HttpClient, AnUnaskedSwitchingProtocolsFailsTheRequestAndItsConnection) {
    HttpTestServer server;
    server.route("/upgrade", [](const HttpTestRequest& r) {
        return path_reply(r, {{101, {{"Upgrade", "websocket"}, {"Connection", "upgrade"}}}});
    });
    server.route("/n/", [](const HttpTestRequest& r) { return path_reply(r, {}); });
    auto [results, opened] = send_all({get(server.url("/upgrade")), get(server.url("/n/1"))});
    ASSERT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].failure, FailureKind::Protocol) << results[0].message;
    EXPECT_FALSE(is_retryable(results[0].failure));
    ASSERT_TRUE(results[1].ok()) << results[1].message;
    EXPECT_EQ(results[1].response->body, "\"/n/1\"");
    EXPECT_EQ(opened, 2u);
}

TEST(HttpClient, BytesAfterAResponseAreNeverTakenForTheNextRequestsResponse) {
    HttpTestServer server;
    server.route("/extra", [](const HttpTestRequest& r) {
        HttpTestReply reply = path_reply(r, {});
        reply.trailing_bytes = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\"stolen\"";
        return reply;
    });
    server.route("/n/", [](const HttpTestRequest& r) { return path_reply(r, {}); });
    auto [results, opened] =
        send_all({get(server.url("/extra")), get(server.url("/n/1")), get(server.url("/n/2"))});
    for (const HttpResult& r : results)
        ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(results[0].response->body, "\"/extra\"");
    EXPECT_EQ(results[1].response->body, "\"/n/1\"");
    EXPECT_EQ(results[2].response->body, "\"/n/2\"");
    EXPECT_EQ(opened, 2u) << "the connection with the unasked response is closed";
}

TEST(HttpClient, GzipAndDeflateBodiesAreOfferedAndDecoded) {
    const std::string text = R"({"message":"decoded on arrival","n":[1,2,3,1,2,3,1,2,3]})";
    HttpTestServer server;
    server.route("/gzip", [&](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json(test_util::compress(text, test_util::Wrapper::Gzip));
        r.headers.emplace_back("Content-Encoding", "gzip");
        return r;
    });
    server.route("/deflate", [&](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json(test_util::compress(text, test_util::Wrapper::Zlib));
        r.headers.emplace_back("Content-Encoding", "deflate");
        return r;
    });
    auto [results, opened] = send_all({get(server.url("/gzip")), get(server.url("/deflate"))});
    for (const HttpResult& r : results) {
        ASSERT_TRUE(r.ok()) << r.message;
        EXPECT_EQ(r.response->body, text);
    }
    EXPECT_EQ(opened, 1u);
    for (const HttpTestRequest& seen : server.received())
        EXPECT_EQ(seen.header("accept-encoding"), "gzip, deflate");
}

TEST(HttpClient, ARequestsOwnAcceptEncodingIsSentInstead) {
    HttpTestServer server;
    HttpRequest req = get(server.url("/plain"));
    req.headers.push_back({"Accept-Encoding", "identity"});
    HttpResult r = send_one(req);
    ASSERT_TRUE(r.ok()) << r.message;
    ASSERT_EQ(server.received().size(), 1u);
    EXPECT_EQ(server.received()[0].header("accept-encoding"), "identity");
}

TEST(HttpClient, UndecodableBodiesFailTheRequestWithAClearMessage) {
    HttpTestServer server;
    const std::string bomb =
        test_util::compress(std::string(32u << 20, 'z'), test_util::Wrapper::Gzip);
    server.route("/bomb", [&](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json(bomb);
        r.headers.emplace_back("Content-Encoding", "gzip");
        return r;
    });
    server.route("/corrupt", [](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json(std::string("\x1f\x8b\x08\x00garbage", 11));
        r.headers.emplace_back("Content-Encoding", "gzip");
        return r;
    });
    server.route("/brotli", [](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json("\x0b\x02\x80");
        r.headers.emplace_back("Content-Encoding", "br");
        return r;
    });
    ClientOptions o;
    o.max_response_bytes = 1u << 20;
    auto [results, opened] = send_all(
        {get(server.url("/bomb")), get(server.url("/corrupt")), get(server.url("/brotli"))}, o);
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].failure, FailureKind::TooLarge);
    EXPECT_EQ(results[0].message, "response body over 1048576 bytes after decoding gzip (the "
                                  "limit is max_response_bytes)");
    EXPECT_EQ(results[1].failure, FailureKind::Protocol);
    EXPECT_EQ(results[1].message.rfind("cannot decode the gzip response body", 0), 0u)
        << results[1].message;
    EXPECT_EQ(results[2].failure, FailureKind::Protocol);
    EXPECT_NE(results[2].message.find("Content-Encoding \"br\""), std::string::npos)
        << results[2].message;
    for (const HttpResult& r : results)
        EXPECT_FALSE(is_retryable(r.failure));
}

} // namespace
} // namespace conveyor::net
