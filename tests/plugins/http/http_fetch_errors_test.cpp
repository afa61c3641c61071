// http.fetch failures through real pipelines: retries with backoff and Retry-After (delays
// read from a fake clock), what is and is not retried, every on_error mode, timeouts, resets,
// oversized bodies and template errors.

#include "conveyor/format/json_parser.hpp"
#include "plugins/http/http_test_util.hpp"
#include "unit/net/net_test_util.hpp"

#include <gtest/gtest.h>
#include <map>

namespace conveyor::plugins::http {
namespace {

using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using namespace test_util;
using std::chrono::milliseconds;

std::string url_line(const HttpTestServer& s, const std::string& path = "/users/{{ id }}") {
    return "url = \"" + s.url(path) + "\"\n";
}

/// Per record id: how many times it was requested. Handlers run on the server thread only.
struct Attempts {
    std::map<int, int> n;
    int next(int id) { return ++n[id]; }
};

TEST(HttpFetchRetry, ServerErrorsAreRetriedWithExponentialBackoffAndFullJitter) {
    HttpTestServer server;
    auto attempts = std::make_shared<Attempts>();
    server.route("/users/", [attempts](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        // Two failures, then success.
        if (attempts->next(id) <= 2) return HttpTestReply::status_only(500);
        return HttpTestReply::json("{\"ok\":" + std::to_string(id) + "}");
    });
    PipelineFixture fx(5);
    FakeTime& time = fx.use_fake_time(); // jitter source returns the top of the range
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Channel,
                                   url_line(server) + "concurrency = 1\nretry_base_delay_ms = 250\n"
                                                      "max_retry_delay_ms = 10000\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 5u);
    EXPECT_EQ(o.lines[2], R"({"id":3,"name":"n3","http_result":{"ok":3}})");
    // Per record: retry 0 waits up to 250 ms, retry 1 up to 500 ms.
    // (Records interleave: while one sleeps, the next takes the permit.)
    std::vector<milliseconds> want(5, milliseconds{250});
    want.insert(want.end(), 5, milliseconds{500});
    auto sleeps = time.sleeps();
    std::sort(sleeps.begin(), sleeps.end());
    EXPECT_EQ(sleeps, want);
    EXPECT_EQ(server.requests(), 15u);
    EXPECT_EQ(o.fetch->retries.load(), 10u);
    EXPECT_EQ(o.http().responses(500).value(), 10u);
    EXPECT_EQ(o.http().requests.value(), 15u);
    expect_accounting(o, 5);
}

TEST(HttpFetchRetry, BackoffIsCappedAndRetriesAreBounded) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::status_only(503); });
    PipelineFixture fx(1);
    FakeTime& time = fx.use_fake_time();
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Dag, url_line(server) +
                               "on_error = \"null\"\nretries = 5\nretry_base_delay_ms = 100\n"
                               "max_retry_delay_ms = 300\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(time.sleeps(),
              (std::vector<milliseconds>{milliseconds{100}, milliseconds{200}, milliseconds{300},
                                         milliseconds{300}, milliseconds{300}}));
    EXPECT_EQ(server.requests(), 6u);
    ASSERT_EQ(o.lines.size(), 1u);
    EXPECT_EQ(o.lines[0], R"({"id":1,"name":"n1","http_result":null})");
    EXPECT_EQ(o.fetch->records_nulled.load(), 1u);
}

TEST(HttpFetchRetry, RetryAfterSecondsAreHonouredAndCapped) {
    HttpTestServer server;
    auto attempts = std::make_shared<Attempts>();
    server.route("/users/", [attempts](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        if (attempts->next(id) == 1)
            return id == 1 ? HttpTestReply::retry_after(429, "2")
                           : HttpTestReply::retry_after(503, "3600"); // capped at 5 s
        return HttpTestReply::json("{}");
    });
    PipelineFixture fx(2);
    FakeTime& time = fx.use_fake_time();
    Outcome o =
        fx.run(fx.pipeline(ExecutorKind::Async, url_line(server) + "max_retry_delay_ms = 5000\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    auto sleeps = time.sleeps();
    std::sort(sleeps.begin(), sleeps.end());
    EXPECT_EQ(sleeps, (std::vector<milliseconds>{milliseconds{2000}, milliseconds{5000}}));
    EXPECT_EQ(server.requests(), 4u);
    EXPECT_EQ(records_ok(o), 2u);
}

TEST(HttpFetchRetry, RetryAfterHttpDateIsRelativeToTheClock) {
    HttpTestServer server;
    auto attempts = std::make_shared<Attempts>();
    server.route("/users/", [attempts](const HttpTestRequest& r) {
        if (attempts->next(id_in_path(r.path)) == 1)
            // 7 s after the fake clock's wall time (2030-01-02 03:00:00 UTC).
            return HttpTestReply::retry_after(429, "Wed, 02 Jan 2030 03:00:07 GMT");
        return HttpTestReply::json("{}");
    });
    PipelineFixture fx(1);
    FakeTime& time = fx.use_fake_time();
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Dag, url_line(server)));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(time.sleeps(), std::vector<milliseconds>{milliseconds{7000}});
    EXPECT_EQ(records_ok(o), 1u);
}

TEST(HttpFetchRetry, ClientErrorsAreNotRetried) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        return HttpTestReply::status_only(id % 2 ? 404 : 400);
    });
    PipelineFixture fx(6);
    FakeTime& time = fx.use_fake_time();
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Channel, url_line(server) + "on_error = \"null\"\nresponse_status = true\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(server.requests(), 6u);
    EXPECT_TRUE(time.sleeps().empty());
    EXPECT_EQ(o.fetch->retries.load(), 0u);
    EXPECT_EQ(o.http().responses(400).value(), 6u);
    ASSERT_EQ(o.lines.size(), 6u);
    EXPECT_EQ(o.lines[0], R"({"id":1,"name":"n1","http_result":null,"response_status":404})");
    EXPECT_EQ(o.lines[1], R"({"id":2,"name":"n2","http_result":null,"response_status":400})");
}

// A redirect is not followed: it is a record error that says so and where the server points
// (it said only "HTTP 302 Found"), with a secret in the Location redacted; it is not retried.
TEST(HttpFetchRetry, ARedirectIsAnErrorNamingWhereItPoints) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest& r) {
        HttpTestReply reply = HttpTestReply::status_only(302);
        reply.headers.emplace_back("Location", "https://new.example/users/" +
                                                   std::to_string(id_in_path(r.path)) +
                                                   "?token=s3cret");
        return reply;
    });
    PipelineFixture fx(2);
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Channel, url_line(server) + "retries = 3\n"));
    ASSERT_FALSE(o.report.status);
    const std::string message = o.report.status.error().to_string();
    EXPECT_NE(message.find("HTTP 302 Found (http.fetch does not follow redirects; the server "
                           "points to https://new.example/users/"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("?token=***: set url to it)"), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    EXPECT_EQ(o.fetch->retries.load(), 0u);
}

TEST(HttpFetchRetry, RequestTimeoutRetriesAHangingServer) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::hang(); });
    PipelineFixture fx(4);
    fx.use_fake_time();
    Outcome o = fx.run(
        fx.pipeline(ExecutorKind::Channel,
                    url_line(server) +
                        "on_error = \"null\"\nconcurrency = 4\ntimeout_ms = 100\nretries = 1\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(o.http().errors_by(obs::HttpMetrics::Failure::Timeout).value(), 8u);
    EXPECT_EQ(o.fetch->retries.load(), 4u);
    EXPECT_EQ(o.fetch->records_nulled.load(), 4u);
    EXPECT_EQ(server.requests(), 8u);
    ASSERT_EQ(o.lines.size(), 4u);
    EXPECT_EQ(o.lines[3], R"({"id":4,"name":"n4","http_result":null})");
    expect_accounting(o, 4);
}

TEST(HttpFetchRetry, TimeoutSecondsIsTheEarlierToolsSpelling) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::hang(); });
    PipelineFixture fx(1);
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Dag,
        url_line(server) + "on_error = \"null\"\ntimeout_seconds = 0.1\nretries = 0\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(o.http().errors_by(obs::HttpMetrics::Failure::Timeout).value(), 1u);
}

TEST(HttpFetchRetry, ConnectionResetIsRetried) {
    HttpTestServer server;
    auto attempts = std::make_shared<Attempts>();
    server.route("/users/", [attempts](const HttpTestRequest& r) {
        if (attempts->next(id_in_path(r.path)) == 1) return HttpTestReply::reset();
        return HttpTestReply::json("true");
    });
    PipelineFixture fx(3);
    fx.use_fake_time();
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Async, url_line(server) + "concurrency = 1\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(o.http().errors_by(obs::HttpMetrics::Failure::Reset).value(), 3u);
    EXPECT_EQ(records_ok(o), 3u);
    ASSERT_EQ(o.lines.size(), 3u);
    EXPECT_EQ(o.lines[0], R"({"id":1,"name":"n1","http_result":true})");
}

using net::test_util::unresolvable_host;

TEST(HttpFetchRetry, AHostThatDoesNotResolveFailsAtOnceWithoutRetries) {
    PipelineFixture fx(3);
    FakeTime& time = fx.use_fake_time();
    const std::string tail = "[error_handling]\ndead_letter_queue = { enabled = true, path = \"" +
                             fx.dlq_path() + "\" }\n";
    Outcome o =
        fx.run(fx.pipeline(ExecutorKind::Channel,
                           "url = \"http://" + unresolvable_host() +
                               "/users/{{ id }}\"\nretries = 3\non_error = \"dead_letter\"\n",
                           "", tail));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    // One attempt per record: no retry, no backoff.
    EXPECT_EQ(o.http().requests.value(), 3u);
    EXPECT_EQ(o.http().errors_by(obs::HttpMetrics::Failure::Connect).value(), 3u);
    EXPECT_EQ(o.fetch->retries.load(), 0u);
    EXPECT_TRUE(time.sleeps().empty());
    EXPECT_EQ(o.fetch->records_dead_lettered.load(), 3u);
    expect_accounting(o, 3);
    std::istringstream in(o.dead_letters);
    std::string line;
    std::size_t n = 0;
    json::Parser parser;
    while (std::getline(in, line)) {
        ++n;
        Arena arena;
        auto v = parser.parse(line, arena);
        ASSERT_TRUE(v) << line;
        EXPECT_EQ(v->find("attempts")->as_int(), 1) << line;
        const Value* err = v->find("error");
        ASSERT_NE(err, nullptr);
        EXPECT_EQ(err->find("kind")->as_string(), to_string(ErrorKind::Runtime)) << line;
        const std::string msg(err->find("message")->as_string());
        EXPECT_NE(msg.find("cannot resolve host '" + unresolvable_host() + "': no such host name"),
                  std::string::npos)
            << msg;
        EXPECT_EQ(msg.find("attempts"), std::string::npos) << msg;
    }
    EXPECT_EQ(n, 3u) << o.dead_letters;

    // Left to the stage's strategy (stop): the run fails at the first record, as with other
    // permanent failures (exit 1, not 75: trying again later would not help).
    Outcome stopped = fx.run(fx.pipeline(
        ExecutorKind::Channel, "url = \"http://" + unresolvable_host() + "/users/{{ id }}\"\n"));
    ASSERT_FALSE(stopped.report.status);
    EXPECT_EQ(stopped.report.status.error().kind, ErrorKind::Runtime);
    EXPECT_EQ(stopped.report.exit_code(), 1);
    EXPECT_NE(stopped.report.status.error().message.find("cannot resolve host '"),
              std::string::npos)
        << stopped.report.status.error().to_string();
    ASSERT_NE(stopped.fetch, nullptr);
    EXPECT_EQ(stopped.fetch->retries.load(), 0u);
    EXPECT_TRUE(time.sleeps().empty());
}

TEST(HttpFetchRetry, OversizedBodyIsAnErrorForThatRecordAndNotRetried) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest& r) {
        if (id_in_path(r.path) == 2) return HttpTestReply::huge(20000);
        return HttpTestReply::json("1");
    });
    PipelineFixture fx(3);
    fx.use_fake_time();
    Outcome o =
        fx.run(fx.pipeline(ExecutorKind::Channel,
                           url_line(server) + "on_error = \"null\"\nmax_response_bytes = 10000\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(server.requests(), 3u);
    EXPECT_EQ(o.http().errors_by(obs::HttpMetrics::Failure::TooLarge).value(), 1u);
    ASSERT_EQ(o.lines.size(), 3u);
    EXPECT_EQ(o.lines[1], R"({"id":2,"name":"n2","http_result":null})");
    EXPECT_EQ(o.lines[2], R"({"id":3,"name":"n3","http_result":1})");
}

class OnErrorModes : public ::testing::TestWithParam<ExecutorKind> {};

/// Record 2 and 4 fail with 503 every time; the others succeed.
void route_some_failures(HttpTestServer& server) {
    server.route("/users/", [](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        if (id == 2 || id == 4) return HttpTestReply::status_only(503);
        return HttpTestReply::json("{\"v\":" + std::to_string(id) + "}");
    });
}

TEST_P(OnErrorModes, NullKeepsTheRecordWithANullResult) {
    HttpTestServer server;
    route_some_failures(server);
    PipelineFixture fx(5);
    fx.use_fake_time();
    Outcome o =
        fx.run(fx.pipeline(GetParam(), url_line(server) + "on_error = \"null\"\nretries = 1\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 5u);
    EXPECT_EQ(o.lines[1], R"({"id":2,"name":"n2","http_result":null})");
    EXPECT_EQ(o.lines[2], R"({"id":3,"name":"n3","http_result":{"v":3}})");
    EXPECT_EQ(o.fetch->records_nulled.load(), 2u);
    EXPECT_EQ(records_ok(o), 3u);
    expect_accounting(o, 5);
}

TEST_P(OnErrorModes, DropRemovesTheRecordAndCountsIt) {
    HttpTestServer server;
    route_some_failures(server);
    PipelineFixture fx(5);
    fx.use_fake_time();
    Outcome o =
        fx.run(fx.pipeline(GetParam(), url_line(server) + "retries = 1\non_error = \"drop\"\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 3u);
    EXPECT_EQ(o.lines[0], R"({"id":1,"name":"n1","http_result":{"v":1}})");
    EXPECT_EQ(o.lines[1], R"({"id":3,"name":"n3","http_result":{"v":3}})");
    EXPECT_EQ(o.lines[2], R"({"id":5,"name":"n5","http_result":{"v":5}})");
    EXPECT_EQ(o.fetch->records_dropped.load(), 2u);
    expect_accounting(o, 5);
}

TEST_P(OnErrorModes, DeadLetterWritesTheRecordAndTheError) {
    HttpTestServer server;
    route_some_failures(server);
    PipelineFixture fx(5);
    fx.use_fake_time();
    const std::string tail = "[error_handling]\ndead_letter_queue = { enabled = true, path = \"" +
                             fx.dlq_path() + "\" }\n";
    Outcome o = fx.run(fx.pipeline(
        GetParam(), url_line(server) + "retries = 2\non_error = \"dead_letter\"\n", "", tail));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 3u);
    EXPECT_EQ(o.fetch->records_dead_lettered.load(), 2u);
    expect_accounting(o, 5);
    // One JSON line per failed record, in order of failure (both possible orders accepted).
    std::vector<std::string> dl;
    std::string line;
    std::istringstream in(o.dead_letters);
    while (std::getline(in, line))
        dl.push_back(line);
    ASSERT_EQ(dl.size(), 2u) << o.dead_letters;
    std::sort(dl.begin(), dl.end());
    json::Parser parser;
    for (std::size_t i = 0; i < 2; ++i) {
        Arena arena;
        auto v = parser.parse(dl[i], arena);
        ASSERT_TRUE(v) << dl[i];
        EXPECT_EQ(v->find("stage")->as_string(), "fetch");
        EXPECT_EQ(v->find("attempts")->as_int(), 3);
        const Value* err = v->find("error");
        ASSERT_NE(err, nullptr);
        EXPECT_EQ(err->find("kind")->as_string(), to_string(ErrorKind::TempFail));
        const std::string msg(err->find("message")->as_string());
        EXPECT_NE(msg.find("failed after 3 attempts: HTTP 503"), std::string::npos) << msg;
        EXPECT_NE(msg.find("/users/"), std::string::npos) << msg;
        const Value* rec = v->find("record");
        ASSERT_NE(rec, nullptr);
        EXPECT_EQ(rec->find("id")->as_int(), i == 0 ? 2 : 4);
        EXPECT_EQ(rec->find("http_result"), nullptr); // the record as it came in
    }
}

TEST_P(OnErrorModes, FailStopsTheRunWithATempFailNamingStageAndRedactedUrl) {
    HttpTestServer server;
    route_some_failures(server);
    PipelineFixture fx(5);
    fx.use_fake_time();
    const std::string url =
        "url = \"http://alice:s3cret@127.0.0.1:" + std::to_string(server.port()) +
        "/users/{{ id }}?api_key=k3y\"\n";
    Outcome o = fx.run(
        fx.pipeline(GetParam(), url + "retries = 1\non_error = \"fail\"\nconcurrency = 1\n"));
    ASSERT_FALSE(o.report.status);
    const Error& e = o.report.status.error();
    EXPECT_EQ(e.kind, ErrorKind::TempFail);
    EXPECT_EQ(o.report.exit_code(), 75);
    EXPECT_EQ(e.stage, "fetch");
    const std::string text = e.to_string();
    EXPECT_NE(text.find("fetch"), std::string::npos) << text;
    EXPECT_NE(text.find("GET http://***@127.0.0.1:"), std::string::npos) << text;
    EXPECT_NE(text.find("/users/2?api_key=***"), std::string::npos) << text;
    EXPECT_NE(text.find("failed after 2 attempts: HTTP 503"), std::string::npos) << text;
    EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
    EXPECT_EQ(text.find("k3y"), std::string::npos) << text;
    EXPECT_FALSE(o.output_exists);
    // on_error = "fail": the one record given up on is the only failed one.
    ASSERT_NE(o.fetch, nullptr);
    EXPECT_EQ(o.fetch->records_failed.load(), 1u);
    expect_accounting(o, o.fetch->records_in.load());
}

TEST_P(OnErrorModes, FailOnAClientErrorIsARuntimeFailure) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::status_only(404); });
    PipelineFixture fx(3);
    Outcome o = fx.run(fx.pipeline(GetParam(), url_line(server) + "on_error = \"fail\"\n"));
    ASSERT_FALSE(o.report.status);
    EXPECT_EQ(o.report.status.error().kind, ErrorKind::Runtime);
    EXPECT_EQ(o.report.exit_code(), 1);
    EXPECT_NE(o.report.status.error().message.find("HTTP 404"), std::string::npos);
    EXPECT_EQ(server.requests() <= 3, true);
}

TEST_P(OnErrorModes, DeadLetterWithoutTheQueueIsAConfigError) {
    HttpTestServer server;
    PipelineFixture fx(3);
    Outcome o = fx.run(fx.pipeline(GetParam(), url_line(server) + "on_error = \"dead_letter\"\n"));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_FALSE(o.report.status);
    EXPECT_EQ(o.report.status.error().kind, ErrorKind::Config);
    EXPECT_EQ(o.report.exit_code(), 78);
    EXPECT_NE(o.report.status.error().message.find("[error_handling] dead_letter_queue"),
              std::string::npos);
    EXPECT_EQ(server.requests(), 0u);
}

TEST_P(OnErrorModes, MissingTemplateFieldGoesThroughOnError) {
    HttpTestServer server;
    PipelineFixture fx(3);
    Outcome o = fx.run(
        fx.pipeline(GetParam(), url_line(server, "/users/{{ nope }}") + "on_error = \"null\"\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(server.requests(), 0u);
    EXPECT_EQ(failures_noted(o, "cannot build the request: url: field 'nope' is missing"), 3u);
    EXPECT_EQ(o.fetch->records_nulled.load(), 3u);
    ASSERT_EQ(o.lines.size(), 3u);
    EXPECT_EQ(o.lines[0], R"({"id":1,"name":"n1","http_result":null})");

    Outcome f = fx.run(
        fx.pipeline(GetParam(), url_line(server, "/users/{{ nope }}") + "on_error = \"fail\"\n"));
    ASSERT_FALSE(f.report.status);
    EXPECT_EQ(f.report.status.error().kind, ErrorKind::Runtime);
    EXPECT_NE(f.report.status.error().message.find(
                  "cannot build the request: url: field 'nope' is missing from the record"),
              std::string::npos)
        << f.report.status.error().message;
}

TEST_P(OnErrorModes, HeaderValueWithALineBreakIsAnErrorForThatRecord) {
    HttpTestServer server;
    PipelineFixture fx;
    fx.write_csv("id,token\n1,good\n2,\"bad\r\nX-Injected: 1\"\n3,fine\n");
    Outcome o = fx.run(fx.pipeline(
        GetParam(),
        url_line(server) +
            "on_error = \"null\"\n[stages.config.headers]\nX-Token = \"{{ token }}\"\n"));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(server.requests(), 2u);
    for (const auto& r : server.received())
        EXPECT_TRUE(r.header("x-injected").empty());
    ASSERT_EQ(o.lines.size(), 3u);
    EXPECT_NE(o.lines[1].find("\"http_result\":null"), std::string::npos) << o.lines[1];
    EXPECT_EQ(failures_noted(o, "cannot build the request: header X-Token: "), 1u);
    EXPECT_EQ(o.fetch->records_failed.load(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Executors, OnErrorModes,
                         ::testing::Values(ExecutorKind::Dag, ExecutorKind::Channel,
                                           ExecutorKind::Async),
                         [](const ::testing::TestParamInfo<ExecutorKind>& p) {
                             return executor_name(p.param);
                         });

} // namespace
} // namespace conveyor::plugins::http
