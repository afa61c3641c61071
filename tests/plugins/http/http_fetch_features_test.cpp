// http.fetch features through real pipelines: templates and their escaping, bodies and
// headers, response handling, batch mode, rate limiting, TLS, configuration errors and
// plugin enabling.

#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/net/url.hpp"
#include "plugins/http/http_test_util.hpp"
#include "support/pipelines.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sstream>

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

TEST(HttpFetchTemplates, ValuesCannotChangeThePathOrQuery) {
    HttpTestServer server;
    PipelineFixture fx;
    fx.write_csv("id,key\n1,\"a b/../c?x=1\"\n2,\"&admin=true#frag\"\n");
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Channel,
                                   url_line(server, "/items/{{ key }}?q={{key}}&id={{ id }}")));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    auto seen = server.received();
    ASSERT_EQ(seen.size(), 2u);
    std::sort(seen.begin(), seen.end(),
              [](const auto& a, const auto& b) { return a.query < b.query; });
    const HttpTestRequest* first =
        seen[0].query.find("id=1") != std::string::npos ? &seen[0] : &seen[1];
    const HttpTestRequest* second = first == &seen[0] ? &seen[1] : &seen[0];
    EXPECT_EQ(first->path, "/items/a%20b%2F..%2Fc%3Fx%3D1");
    EXPECT_EQ(net::percent_decode(first->path.substr(7)), "a b/../c?x=1");
    EXPECT_EQ(first->query, "q=a%20b%2F..%2Fc%3Fx%3D1&id=1");
    EXPECT_EQ(second->path, "/items/%26admin%3Dtrue%23frag");
    EXPECT_EQ(second->query, "q=%26admin%3Dtrue%23frag&id=2");
}

TEST(HttpFetchTemplates, PostBodyIsJsonEscapedAndHeadersAreFilledPerRecord) {
    HttpTestServer server;
    PipelineFixture fx;
    fx.write_csv("id,name,score\n1,\"Ann \"\"A\"\"\",1.50\n2,\"back\\slash\",\n");
    const std::string cfg =
        url_line(server, "/submit") +
        "method = \"POST\"\n"
        "body = '{\"id\": {{ id }}, \"name\": \"{{ name }}\", \"score\": {{ score }}}'\n"
        "[stages.config.headers]\nX-Record = \"rec-{{ id }}\"\nAuthorization = \"Bearer t0k\"\n";
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Dag, cfg));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    auto seen = server.received();
    ASSERT_EQ(seen.size(), 2u);
    std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
        return a.header("x-record") < b.header("x-record");
    });
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[0].body, R"({"id": 1, "name": "Ann \"A\"", "score": 1.50})");
    EXPECT_EQ(seen[1].body, R"({"id": 2, "name": "back\\slash", "score": null})");
    EXPECT_EQ(seen[0].header("content-type"), "application/json");
    EXPECT_EQ(seen[0].header("x-record"), "rec-1");
    EXPECT_EQ(seen[1].header("x-record"), "rec-2");
    EXPECT_EQ(seen[0].header("authorization"), "Bearer t0k");
    // The echoed body comes back parsed into the record.
    ASSERT_EQ(o.lines.size(), 2u);
    json::Parser parser;
    Arena arena;
    auto v = parser.parse(o.lines[0], arena);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->find("http_result")->find("body")->as_string(), seen[0].body);
}

TEST(HttpFetchTemplates, AContentTypeHeaderReplacesTheJsonDefault) {
    HttpTestServer server;
    PipelineFixture fx(1);
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Dag,
                                   url_line(server, "/x") +
                                       "method = \"PUT\"\nbody = \"id={{ id }}\"\n"
                                       "[stages.config.headers]\ncontent-type = \"text/plain\"\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    const auto seen = server.received();
    ASSERT_EQ(seen.size(), 1u);
    const auto& r = seen[0];
    EXPECT_EQ(r.method, "PUT");
    EXPECT_EQ(r.body, "id=1");
    int content_types = 0;
    for (const auto& [k, v] : r.headers)
        content_types += k == "content-type" ? 1 : 0;
    EXPECT_EQ(content_types, 1);
    EXPECT_EQ(r.header("content-type"), "text/plain");
}

TEST(HttpFetchLogging, DebugLogShowsEachRequestWithSecretsRedacted) {
    HttpTestServer server;
    auto out = std::make_shared<std::ostringstream>();
    auto logger = std::make_shared<spdlog::logger>(
        "http-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(*out));
    logger->set_level(spdlog::level::debug);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);
    PipelineFixture fx(2);
    const std::string url =
        "url = \"http://alice:hunter2@127.0.0.1:" + std::to_string(server.port()) +
        "/users/{{ id }}?token=tok3n\"\n";
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Channel, url + "[stages.config.headers]\nX-Api-Key = \"sekrit-value\"\n"));
    spdlog::set_default_logger(previous);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(server.received().size(), 2u);
    EXPECT_EQ(server.received()[0].header("x-api-key"), "sekrit-value"); // it was sent
    const std::string log = out->str();
    const std::string prefix =
        "http.fetch 'fetch': GET http://***@127.0.0.1:" + std::to_string(server.port());
    EXPECT_NE(log.find(prefix + "/users/1?token=*** -> 200 in "), std::string::npos) << log;
    EXPECT_NE(log.find(prefix + "/users/2?token=*** -> 200 in "), std::string::npos) << log;
    EXPECT_NE(log.find(" ms (attempt 1)"), std::string::npos) << log;
    EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
    EXPECT_EQ(log.find("tok3n"), std::string::npos) << log;
    EXPECT_EQ(log.find("sekrit"), std::string::npos) << log;
}

TEST(HttpFetchTemplates, NestedFieldsFromJsonInput) {
    HttpTestServer server;
    PipelineFixture fx;
    const std::string in = fx.dir().write("in.jsonl", "{\"user\":{\"name\":\"zoë\",\"id\":7}}\n");
    std::string text =
        fx.pipeline(ExecutorKind::Channel, url_line(server, "/u/{{ user.id }}/{{ user.name }}"));
    const std::string csv_fn = "function = \"csv.read\"";
    text.replace(text.find(csv_fn), csv_fn.size(), "function = \"json.read\"");
    const std::size_t p = text.find("input.csv");
    text.replace(text.rfind('"', p) + 1, text.find('"', p) - text.rfind('"', p) - 1, in);
    Outcome o = fx.run(text);
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(server.received().size(), 1u);
    EXPECT_EQ(server.received()[0].path, "/u/7/zo%C3%AB");
}

TEST(HttpFetchResponses, NonJsonBodyIsKeptAsAStringAndEmptyBodyAsNull) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest& r) {
        const int id = id_in_path(r.path);
        if (id == 1) return HttpTestReply::text("plain <b>text</b>");
        if (id == 2) return HttpTestReply::text("", 200);
        return HttpTestReply::text("{\"almost\": json");
    });
    PipelineFixture fx(3);
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Channel, url_line(server)));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 3u);
    EXPECT_EQ(o.lines[0], R"({"id":1,"name":"n1","http_result":"plain <b>text</b>"})");
    EXPECT_EQ(o.lines[1], R"({"id":2,"name":"n2","http_result":null})");
    EXPECT_EQ(o.lines[2], R"({"id":3,"name":"n3","http_result":"{\"almost\": json"})");
}

TEST(HttpFetchResponses, StatusAndHeadersOnRequest) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) {
        HttpTestReply r = HttpTestReply::json("[1,2]", 201);
        r.headers.emplace_back("X-Custom", "v1");
        r.headers.emplace_back("X-Custom", "v2");
        return r;
    });
    PipelineFixture fx(2);
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Async, url_line(server) + "result_field = \"r\"\nresponse_status = true\n"
                                                "response_headers = true\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 2u);
    json::Parser parser;
    Arena arena;
    auto v = parser.parse(o.lines[1], arena);
    ASSERT_TRUE(v) << o.lines[1];
    EXPECT_EQ(json::to_string(*v->find("r")), "[1,2]");
    EXPECT_EQ(v->find("response_status")->as_int(), 201);
    const Value* h = v->find("response_headers");
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->find("x-custom")->as_string(), "v1, v2");
    EXPECT_EQ(h->find("content-type")->as_string(), "application/json");
    EXPECT_EQ(h->find("content-length")->as_string(), "5");
}

TEST(HttpFetchResponses, ResultFieldOverwritesAnExistingColumn) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::json("\"new\""); });
    PipelineFixture fx(1);
    Outcome o =
        fx.run(fx.pipeline(ExecutorKind::Dag, url_line(server) + "result_field = \"name\"\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 1u);
    EXPECT_EQ(o.lines[0], R"({"id":1,"name":"new"})");
}

TEST(HttpFetchResponses, DagMemoryCapCountsResponseBodiesAndSpillsThem) {
    HttpTestServer server;
    // 20 responses of 100 kB against a 1 MB cap (the CSV input itself fits easily): the
    // responses beyond it wait on disk, and every one reaches the sink whole.
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::huge(100000); });
    PipelineFixture fx(20);
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Dag, url_line(server),
                                   "max_buffered_bytes = 1000000\nstate_dir = \"" +
                                       fx.dir().file("state") + "\"\n"));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_GT(o.metrics->find("fetch")->records_spilled.load(), 5u);
    ASSERT_EQ(o.lines.size(), 20u);
    for (const std::string& line : o.lines)
        EXPECT_GT(line.size(), 100000u);
    EXPECT_EQ(test::count_files(fx.dir().file("state/spill")), 0u);
}

TEST(HttpFetchBatchMode, OneRequestPerGroupAndTheResponseOnEveryRecord) {
    HttpTestServer server;
    PipelineFixture fx(25);
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Dag, url_line(server, "/bulk") +
                                                          "mode = \"batch\"\nbatch_size = 10\n"
                                                          "body = '{\"items\": {{ records }}}'\n"));
    ASSERT_TRUE(o.loaded) << errors_of(o);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    auto seen = server.received();
    ASSERT_EQ(seen.size(), 3u);
    std::vector<std::size_t> sizes;
    json::Parser parser;
    for (const auto& r : seen) {
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.header("content-type"), "application/json");
        Arena arena;
        auto body = parser.parse(r.body, arena);
        ASSERT_TRUE(body) << r.body;
        sizes.push_back(body->find("items")->as_array().size());
    }
    std::sort(sizes.begin(), sizes.end());
    EXPECT_EQ(sizes, (std::vector<std::size_t>{5, 10, 10}));
    ASSERT_EQ(o.lines.size(), 25u);
    // Record 12 is in the second group: its result is the echo of that group's request.
    Arena arena;
    auto v = parser.parse(o.lines[11], arena);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->find("id")->as_int(), 12);
    const std::string sent(v->find("http_result")->find("body")->as_string());
    EXPECT_NE(sent.find(R"({"id":11,"name":"n11"})"), std::string::npos) << sent;
    EXPECT_NE(sent.find(R"({"id":20,"name":"n20"})"), std::string::npos) << sent;
    EXPECT_EQ(sent.find(R"("id":21)"), std::string::npos) << sent;
    EXPECT_EQ(o.http().requests.value(), 3u);
    expect_accounting(o, 25);
}

TEST(HttpFetchBatchMode, WithoutABodyTheGroupIsTheBody) {
    HttpTestServer server;
    PipelineFixture fx(3);
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Channel, url_line(server, "/bulk") + "mode = \"batch\"\nbatch_size = 5\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(server.received().size(), 1u);
    EXPECT_EQ(server.received()[0].body,
              R"([{"id":1,"name":"n1"},{"id":2,"name":"n2"},{"id":3,"name":"n3"}])");
}

TEST(HttpFetchBatchMode, AFailedGroupFollowsOnErrorForEachRecord) {
    HttpTestServer server;
    server.route("/bulk", [](const HttpTestRequest&) { return HttpTestReply::status_only(500); });
    PipelineFixture fx(7);
    fx.use_fake_time();
    Outcome o = fx.run(
        fx.pipeline(ExecutorKind::Async, url_line(server, "/bulk") +
                                             "mode = \"batch\"\nbatch_size = 4\nretries = 1\n"
                                             "on_error = \"drop\"\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_TRUE(o.lines.empty());
    EXPECT_EQ(o.fetch->records_dropped.load(), 7u);
    EXPECT_EQ(server.requests(), 4u); // two groups, two attempts each
    expect_accounting(o, 7);
}

TEST(HttpFetchRateLimit, RequestsAreSpacedByTheTokenBucket) {
    HttpTestServer server;
    PipelineFixture fx(20);
    FakeTime& time = fx.use_fake_time();
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Channel, url_line(server) + "rate_limit_per_second = 5\nconcurrency = 1\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    // A burst of one second's worth (5), then one request every 200 ms.
    // No retries: each of the 15 sleeps is a wait for the rate limit.
    EXPECT_EQ(time.sleeps(), std::vector<milliseconds>(15, milliseconds{200}));
    EXPECT_EQ(o.fetch->retries.load(), 0u);
    EXPECT_EQ(server.requests(), 20u);
}

TEST(HttpFetchRateLimit, RetriesCountAgainstTheRate) {
    HttpTestServer server;
    server.route("/users/", [](const HttpTestRequest&) { return HttpTestReply::status_only(500); });
    PipelineFixture fx(1);
    FakeTime& time = fx.use_fake_time();
    Outcome o = fx.run(fx.pipeline(
        ExecutorKind::Dag, url_line(server) +
                               "on_error = \"null\"\nrate_limit_per_second = 1\nretries = 2\n"
                               "retry_base_delay_ms = 0\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    // Attempt 1 uses the burst; attempts 2 and 3 each wait a full second for a token (the
    // zero backoff sleeps are recorded too).
    auto sleeps = time.sleeps();
    std::vector<milliseconds> waits;
    for (auto d : sleeps)
        if (d.count() > 0) waits.push_back(d);
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds{1000}, milliseconds{1000}}));
    EXPECT_EQ(server.requests(), 3u);
}

class HttpFetchTls : public ::testing::Test {
protected:
    HttpTestServer server{HttpTestServer::Options{true}};
};

TEST_F(HttpFetchTls, CaFileTrustsTheSelfSignedServer) {
    PipelineFixture fx(4);
    const std::string ca = server.write_certificate(fx.dir().file("ca.pem"));
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Channel, url_line(server) + "ca_file = \"" + ca +
                                                              "\"\nconcurrency = 2\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    ASSERT_EQ(o.lines.size(), 4u);
    EXPECT_NE(o.lines[0].find("\"path\":\"/users/1\""), std::string::npos) << o.lines[0];
    EXPECT_LE(server.connections_opened(), 2u);
}

TEST_F(HttpFetchTls, VerificationCanBeTurnedOff) {
    PipelineFixture fx(2);
    Outcome o = fx.run(fx.pipeline(ExecutorKind::Dag, url_line(server) + "tls_verify = false\n"));
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(records_ok(o), 2u);
}

TEST_F(HttpFetchTls, UntrustedCertificateFailsWithoutRetrying) {
    PipelineFixture fx(2);
    Outcome o =
        fx.run(fx.pipeline(ExecutorKind::Async, url_line(server) + "on_error = \"fail\"\n"));
    ASSERT_FALSE(o.report.status);
    const Error& e = o.report.status.error();
    EXPECT_EQ(e.kind, ErrorKind::Runtime);
    EXPECT_NE(e.message.find("certificate verify failed"), std::string::npos) << e.message;
    EXPECT_EQ(o.fetch->retries.load(), 0u);
    EXPECT_EQ(server.requests(), 0u);
}

TEST_F(HttpFetchTls, MissingCaFileFailsWhenTheStageOpens) {
    PipelineFixture fx(2);
    Outcome o = fx.run(
        fx.pipeline(ExecutorKind::Dag, url_line(server) + "ca_file = \"/nonexistent/ca.pem\"\n"));
    ASSERT_FALSE(o.report.status);
    EXPECT_EQ(o.report.status.error().kind, ErrorKind::Config);
    EXPECT_NE(o.report.status.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

/// Loads a pipeline and returns its diagnostics text (empty if it loaded).
std::string load_errors(const std::string& text) {
    Registry registry;
    register_builtin_plugins(registry);
    LoadResult lr = load_pipeline_text(text, "pipeline.toml", registry);
    return lr.pipeline ? std::string{} : lr.diagnostics.to_string();
}

TEST(HttpFetchConfig, MalformedTemplatesAreReportedWithTheirKey) {
    PipelineFixture fx;
    const std::string bad_url =
        load_errors(fx.pipeline(ExecutorKind::Dag, "url = \"http://h/{{ id\"\n"));
    EXPECT_NE(bad_url.find("stage 'fetch'"), std::string::npos) << bad_url;
    EXPECT_NE(bad_url.find("invalid url template"), std::string::npos) << bad_url;
    EXPECT_NE(bad_url.find("\"{{\" has no closing \"}}\""), std::string::npos) << bad_url;
    const std::string empty =
        load_errors(fx.pipeline(ExecutorKind::Dag, "url = \"http://h/{{}}\"\n"));
    EXPECT_NE(empty.find("empty placeholder"), std::string::npos) << empty;
    const std::string body = load_errors(
        fx.pipeline(ExecutorKind::Dag, "url = \"http://h/\"\nbody = \"{{#each records}}\"\n"));
    EXPECT_NE(body.find("block helpers"), std::string::npos) << body;
    const std::string scheme = load_errors(fx.pipeline(ExecutorKind::Dag, "url = \"{{ u }}/x\"\n"));
    EXPECT_NE(scheme.find("must start with http:// or https://"), std::string::npos) << scheme;
}

TEST(HttpFetchConfig, OptionConflictsAndBadValues) {
    PipelineFixture fx;
    auto err = [&](const std::string& cfg) {
        return load_errors(fx.pipeline(ExecutorKind::Dag, "url = \"http://h/{{ id }}\"\n" + cfg));
    };
    EXPECT_NE(err("timeout_ms = 100\ntimeout_seconds = 1\n").find("not both"), std::string::npos);
    EXPECT_NE(err("method = \"FETCH\"\n").find("must be one of GET"), std::string::npos);
    EXPECT_NE(err("mode = \"batch\"\n").find("cannot use record fields"), std::string::npos);
    EXPECT_NE(err("rate_limit_per_second = 0\n").find("between 0.001 and"), std::string::npos);
    EXPECT_NE(err("on_error = \"explode\"\n").find("on_error"), std::string::npos);
    EXPECT_NE(err("concurrency = 0\n").find("concurrency"), std::string::npos);
    EXPECT_NE(
        err("[stages.config.headers]\n\"Bad Name\" = \"x\"\n").find("not a valid header name"),
        std::string::npos);
    EXPECT_NE(err("[stages.config.headers]\nContent-Length = \"3\"\n").find("set by conveyor"),
              std::string::npos);
    EXPECT_NE(err("[stages.config.headers]\nX-A = \"a\\r\\nX-B: b\"\n").find("line break"),
              std::string::npos);
    EXPECT_TRUE(err("method = \"post\"\ntimeout = 2.5\n").empty())
        << err("method = \"post\"\ntimeout = 2.5\n");
    const std::string batch_body = load_errors(fx.pipeline(
        ExecutorKind::Dag, "url = \"http://h/\"\nmode = \"batch\"\nbody = '{\"x\": {{ id }}}'\n"));
    EXPECT_NE(batch_body.find("can only use {{ records }}"), std::string::npos) << batch_body;
}

TEST(HttpFetchConfig, PluginListEnablesIt) {
    HttpTestServer server;
    PipelineFixture fx(1);
    const std::string on =
        fx.pipeline(ExecutorKind::Dag, url_line(server), "plugins = [\"http\"]\n");
    EXPECT_TRUE(load_errors(on).empty()) << load_errors(on);
    Outcome o = fx.run(on);
    ASSERT_TRUE(o.report.status) << o.report.status.error().to_string();
    EXPECT_EQ(o.lines.size(), 1u);
    const std::string off =
        fx.pipeline(ExecutorKind::Dag, url_line(server), "plugins = [\"csv\"]\n");
    EXPECT_NE(load_errors(off).find("add \"http\" to [global] plugins"), std::string::npos)
        << load_errors(off);
}

} // namespace
} // namespace conveyor::plugins::http

namespace conveyor::plugins::http {
namespace {

/// The seed document's http.fetch examples load with the real plugin (its option table is the
/// user contract): 03 and 10 completely, 09 only fails on its missing input stage.
TEST(HttpFetchConfig, SeedDocumentExamplesLoad) {
    Registry registry;
    register_builtin_plugins(registry);
    for (const std::string name : {"03_http_pipeline.toml", "10_real_world.toml"}) {
        const std::string text = test::read_file(test::fixture("config/seed000/" + name));
        LoadResult r = load_pipeline_text(text, name, registry);
        ASSERT_TRUE(r.pipeline.has_value()) << name << "\n" << r.diagnostics.to_string();
        for (const StageSpec& s : r.pipeline->stages) {
            if (s.function != "http.fetch") continue;
            auto* stage = dynamic_cast<const HttpFetchStage*>(s.stage.get());
            ASSERT_NE(stage, nullptr);
            EXPECT_EQ(stage->config().mode, FetchMode::PerRow);
            EXPECT_EQ(stage->config().concurrency, 10u); // from [global] concurrency
            EXPECT_EQ(stage->config().method, "GET");
            EXPECT_TRUE(stage->config().ordered);
        }
    }
    const std::string text = test::read_file(test::fixture("config/seed000/09_stream_stage.toml"));
    LoadResult r = load_pipeline_text(text, "09.toml", registry);
    ASSERT_FALSE(r.pipeline.has_value());
    const std::string diags = r.diagnostics.to_string();
    EXPECT_NE(diags.find("input 'data'"), std::string::npos) << diags;
    EXPECT_EQ(diags.find("url"), std::string::npos) << diags;
    EXPECT_EQ(diags.find("mode"), std::string::npos) << diags;
}

/// The config a pipeline's http.fetch stage was built with (fails the test when it does not
/// load).
std::optional<HttpFetchConfig> built_config(const std::string& fetch_config,
                                            const std::string& global = "") {
    PipelineFixture fx;
    Registry registry;
    register_builtin_plugins(registry);
    LoadResult r = load_pipeline_text(fx.pipeline(ExecutorKind::Dag, fetch_config, global),
                                      "pipeline.toml", registry);
    EXPECT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    if (!r.pipeline) return std::nullopt;
    const auto* stage =
        dynamic_cast<const HttpFetchStage*>(r.pipeline->find_stage("fetch")->stage.get());
    EXPECT_NE(stage, nullptr);
    if (!stage) return std::nullopt;
    return stage->config();
}

TEST(HttpFetchConfig, DefaultsComeFromTheOptionTable) {
    const auto c = built_config("url = \"http://h/{{ id }}\"\n");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->method, "GET");
    EXPECT_EQ(c->mode, FetchMode::PerRow);
    EXPECT_EQ(c->result_field, "http_result");
    EXPECT_EQ(c->concurrency, 10u); // [global] concurrency's default
    EXPECT_TRUE(c->ordered);
    EXPECT_EQ(c->retries, 3u);
    EXPECT_EQ(c->backoff.base_delay, milliseconds(100));
    EXPECT_EQ(c->backoff.max_delay, milliseconds(10000));
    EXPECT_EQ(c->timeout, milliseconds(30000));
    EXPECT_EQ(c->max_response_bytes, std::size_t{10} << 20);
    EXPECT_FALSE(c->response_status);
    EXPECT_FALSE(c->response_headers);
    EXPECT_FALSE(c->rate_limit_per_second);
    EXPECT_TRUE(c->tls_verify);
    EXPECT_TRUE(c->ca_file.empty());
    EXPECT_EQ(c->batch_size, 100u);
    EXPECT_TRUE(c->headers.empty());
    EXPECT_FALSE(c->body);
    // Left to the stage's error handling when it opens.
    EXPECT_FALSE(c->on_error_given);
    EXPECT_FALSE(c->retries_given);
    EXPECT_FALSE(c->backoff_given);
}

TEST(HttpFetchConfig, ConcurrencyInheritsGlobalUnlessGiven) {
    const auto inherited = built_config("url = \"http://h/{{ id }}\"\n", "concurrency = 7\n");
    ASSERT_TRUE(inherited);
    EXPECT_EQ(inherited->concurrency, 7u);
    const auto own =
        built_config("url = \"http://h/{{ id }}\"\nconcurrency = 3\n", "concurrency = 7\n");
    ASSERT_TRUE(own);
    EXPECT_EQ(own->concurrency, 3u);
}

TEST(HttpFetchConfig, GivenOptionsOverrideWhatOtherwiseFollows) {
    // Batch mode posts unless a method is written, even the default one.
    const auto batch = built_config("url = \"http://h/\"\nmode = \"batch\"\n");
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->mode, FetchMode::Batch);
    EXPECT_EQ(batch->method, "POST");
    const auto get = built_config("url = \"http://h/\"\nmode = \"batch\"\nmethod = \"get\"\n");
    ASSERT_TRUE(get);
    EXPECT_EQ(get->method, "GET");

    // Given retries, backoff and on_error, even at their defaults, no longer follow the
    // stage's error handling.
    const auto retries = built_config("url = \"http://h/{{ id }}\"\nretries = 3\n");
    ASSERT_TRUE(retries);
    EXPECT_TRUE(retries->retries_given);
    EXPECT_FALSE(retries->backoff_given);
    EXPECT_FALSE(retries->on_error_given);
    const auto backoff = built_config(
        "url = \"http://h/{{ id }}\"\nmax_retry_delay_ms = 500\non_error = \"drop\"\n");
    ASSERT_TRUE(backoff);
    EXPECT_FALSE(backoff->retries_given);
    EXPECT_TRUE(backoff->backoff_given);
    EXPECT_EQ(backoff->backoff.max_delay, milliseconds(500));
    EXPECT_TRUE(backoff->on_error_given);
    EXPECT_EQ(backoff->on_error, OnError::Drop);

    // The deadline in seconds (or its older key), rounded to milliseconds, at least 1.
    const auto secs = built_config("url = \"http://h/{{ id }}\"\ntimeout = 2.5\n");
    ASSERT_TRUE(secs);
    EXPECT_EQ(secs->timeout, milliseconds(2500));
    const auto tiny = built_config("url = \"http://h/{{ id }}\"\ntimeout_seconds = 0.0014\n");
    ASSERT_TRUE(tiny);
    EXPECT_EQ(tiny->timeout, milliseconds(1));
}

} // namespace
} // namespace conveyor::plugins::http
