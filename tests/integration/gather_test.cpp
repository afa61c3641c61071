// gather.apply end to end: a source fanned out to three http.fetch stages against a local
// server where one branch is slow for some ids and another fails for some, gathered under
// each policy; the run's wall time bounded by the deadline, not by the slow server; load
// errors naming the stages.

#include "support/http_test_server.hpp"
#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <chrono>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <set>
#include <sstream>

namespace conveyor {
namespace {

using test::HttpTestReply;
using test::HttpTestRequest;
using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

constexpr int kRecords = 30;
/// The risk API takes this long for ids divisible by 7, far beyond every deadline here.
constexpr std::chrono::milliseconds kSlow{6000};

bool slow_id(int id) {
    return id % 7 == 0;
}
bool failing_id(int id) {
    return id % 5 == 0;
}

int id_of(const HttpTestRequest& req) {
    return std::stoi(req.path.substr(req.path.rfind('/') + 1));
}

/// /profile/ID answers at once; /risk/ID answers at once except for slow ids; /geo/ID fails
/// with 500 for failing ids.
void serve_apis(test::HttpTestServer& server) {
    server.route("/profile/", [](const HttpTestRequest& req) {
        return HttpTestReply::json(R"({"name":"user)" + std::to_string(id_of(req)) + "\"}");
    });
    server.route("/risk/", [](const HttpTestRequest& req) {
        const int id = id_of(req);
        HttpTestReply r = HttpTestReply::json(R"({"score":)" + std::to_string(id * 10) + "}");
        if (slow_id(id)) r.delay = kSlow;
        return r;
    });
    server.route("/geo/", [](const HttpTestRequest& req) {
        const int id = id_of(req);
        if (failing_id(id)) return HttpTestReply::status_only(500);
        return HttpTestReply::json(R"({"country":"C)" + std::to_string(id % 3) + "\"}");
    });
}

std::string fetch_stage(const std::string& id, const std::string& url) {
    // Unordered, so that a slow answer does not hold back the ones after it; a failed request
    // is left out (the gather counts the branch as failed for that record).
    return stage_toml(id, "http.fetch", "\"items\"",
                      "url = \"" + url + "/" + id + "/{{ id }}\"\nresult_field = \"" + id +
                          "_result\"\nordered = false\nretries = 0\non_error = \"drop\"\n"
                          "concurrency = 64\ntimeout_ms = 20000");
}

std::string gather_pipeline(const std::string& url, const std::string& executor,
                            const std::string& gather_config,
                            const std::string& extra_global = "") {
    return "[global]\nexecutor = \"" + executor + "\"\nchannel_buffer_size = 100\n" + extra_global +
           "\n" + stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
           fetch_stage("profile", url) + fetch_stage("risk", url) + fetch_stage("geo", url) +
           stage_toml("joined", "gather.apply", "\"profile\", \"risk\", \"geo\"", gather_config) +
           stage_toml("out", "json.write", "\"joined\"",
                      "path = \"out.jsonl\"\nformat = \"jsonl\"");
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

/// The id a gathered line is about (from the branch record that carries it).
int line_id(const std::string& line) {
    const auto at = line.find("\"id\":");
    return at == std::string::npos ? -1 : std::stoi(line.substr(at + 5));
}

class GatherHttpTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GatherHttpTest, QuorumWithDeadlineEmitsEveryRecordWithWhatArrivedInTime) {
    test::HttpTestServer server;
    serve_apis(server);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    const std::string p =
        dir.write("p.toml", gather_pipeline(server.url(), GetParam(),
                                            "policy = \"quorum\"\nquorum = 2\ntimeout_ms = 300\n"
                                            "report_field = \"gather\""));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_conveyor({"run", p, "--stats", "--stats-json", "stats.json"}, opts);
    const auto wall = std::chrono::steady_clock::now() - t0;
    // The geo requests that failed are failed records of stage 'geo': completed with failures.
    ASSERT_EQ(r.exit_code, 3) << r.err;
    // Bounded by the deadline, not by the slow server (which answers after 6 s).
    EXPECT_LT(wall, std::chrono::milliseconds(4000));
    const auto lines = lines_of(test::read_file(dir.file("out.jsonl")));
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(kRecords)) << r.err;
    std::set<int> seen;
    for (const std::string& l : lines) {
        const int id = line_id(l);
        seen.insert(id);
        EXPECT_THAT(l, HasSubstr("\"name\":\"user" + std::to_string(id) + "\"")) << l;
        if (slow_id(id)) {
            EXPECT_THAT(l, HasSubstr("\"risk\":null")) << l;
            EXPECT_THAT(l, HasSubstr("\"timed_out\":[\"risk\"]")) << l;
        } else {
            EXPECT_THAT(l, HasSubstr("\"score\":" + std::to_string(id * 10))) << l;
        }
        if (failing_id(id)) {
            EXPECT_THAT(l, HasSubstr("\"geo\":null")) << l;
            EXPECT_THAT(l, HasSubstr("\"failed\":[\"geo\"]")) << l;
        } else {
            EXPECT_THAT(l, HasSubstr("\"country\":\"C" + std::to_string(id % 3) + "\"")) << l;
        }
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRecords));
    // The summary counts the outcomes.
    EXPECT_THAT(r.err, HasSubstr("records of 'joined': complete 20, partial 10, failed 0, "
                                 "timed_out 0"));
    const std::string stats = test::read_file(dir.file("stats.json"));
    EXPECT_THAT(stats,
                HasSubstr(R"("outcomes":{"complete":20,"partial":10,"failed":0,"timed_out":0})"));
    // The risk requests still hanging when the gather let every record go are not lost from
    // the branch's counts: in = out + filtered (answers nobody wanted any more).
    const auto risk = stats.find(R"("id":"risk")");
    ASSERT_NE(risk, std::string::npos) << stats;
    EXPECT_THAT(stats.substr(risk, stats.find(R"("id":)", risk + 1) - risk),
                HasSubstr(R"("records":{"in":30,"out":26,"filtered":4,"failed":0,)"))
        << stats;
}

TEST_P(GatherHttpTest, AllWithoutFailuresDeadLettersExactlyTheAffectedRecords) {
    test::HttpTestServer server;
    serve_apis(server);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    const std::string p = dir.write(
        "p.toml", gather_pipeline(server.url(), GetParam(),
                                  "policy = \"all\"\nmax_failures = 0\ntimeout_ms = 300",
                                  "[error_handling]\nstrategy = \"continue\"\n"
                                  "dead_letter_queue = { enabled = true, path = \"dead.jsonl\" "
                                  "}\n"));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto r = run_conveyor({"run", p, "-q"}, opts);
    EXPECT_EQ(r.exit_code, 3) << r.err; // completed with failures
    std::set<int> out_ids, dead_ids;
    for (const std::string& l : lines_of(test::read_file(dir.file("out.jsonl"))))
        out_ids.insert(line_id(l));
    for (const std::string& l : lines_of(test::read_file(dir.file("dead.jsonl")))) {
        EXPECT_THAT(l, HasSubstr("\"stage\":\"joined\"")) << l;
        EXPECT_THAT(l, HasSubstr("policy \\\"all\\\" not met")) << l;
        dead_ids.insert(line_id(l));
    }
    std::set<int> want_out, want_dead;
    for (int id = 1; id <= kRecords; ++id)
        (slow_id(id) || failing_id(id) ? want_dead : want_out).insert(id);
    EXPECT_EQ(out_ids, want_out);
    EXPECT_EQ(dead_ids, want_dead);
}

TEST_P(GatherHttpTest, PriorityTakesTheFirstBranchThatAnswered) {
    test::HttpTestServer server;
    serve_apis(server);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    const std::string p =
        dir.write("p.toml", gather_pipeline(server.url(), GetParam(),
                                            "policy = \"priority\"\npriority = [\"risk\", \"geo\", "
                                            "\"profile\"]\ntimeout_ms = 300\nmerge = \"flat\"\n"
                                            "report_field = \"gather\"\nordered = true"));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto r = run_conveyor({"run", p, "-q"}, opts);
    ASSERT_EQ(r.exit_code, 3) << r.err; // geo's failed requests
    const auto lines = lines_of(test::read_file(dir.file("out.jsonl")));
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(kRecords));
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        const int id = line_id(l);
        EXPECT_EQ(id, static_cast<int>(i) + 1) << "ordered = true keeps the input order";
        std::string want = "risk";
        if (slow_id(id)) want = failing_id(id) ? "profile" : "geo";
        EXPECT_THAT(l, HasSubstr("\"chosen\":\"" + want + "\"")) << l;
        EXPECT_THAT(l, HasSubstr("\"" + want + "_result\"")) << l;
    }
}

INSTANTIATE_TEST_SUITE_P(Streaming, GatherHttpTest, ::testing::Values("channel", "async"));

/// Under dag every branch is complete before the gather runs: nothing times out there (a
/// branch is slow only through its own timeout_ms), so the slow answers are all in.
TEST(GatherDagTest, BranchesAreCompleteBeforeTheGatherRuns) {
    test::HttpTestServer server;
    server.route("/profile/",
                 [](const HttpTestRequest&) { return HttpTestReply::json(R"({"ok":1})"); });
    server.route("/risk/", [](const HttpTestRequest& req) {
        HttpTestReply r = HttpTestReply::json(R"({"score":1})");
        if (slow_id(id_of(req))) r.delay = std::chrono::milliseconds(600);
        return r;
    });
    server.route("/geo/",
                 [](const HttpTestRequest&) { return HttpTestReply::json(R"({"country":"X"})"); });
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    const std::string p = dir.write(
        "p.toml", gather_pipeline(server.url(), "dag",
                                  "policy = \"all\"\ntimeout_ms = 100\nreport_field = \"g\""));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto r = run_conveyor({"run", p, "-q"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = lines_of(test::read_file(dir.file("out.jsonl")));
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(kRecords));
    for (const std::string& l : lines)
        EXPECT_THAT(l, HasSubstr("\"arrived\":[\"profile\",\"risk\",\"geo\"]")) << l;
}

/// Branches without http: a filter drops records in one branch, and the gather hears of it
/// from the branch's LineageMark at once, under every executor, with checkpoints every 100
/// records aligned through the gather.
class GatherLocalTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GatherLocalTest, ARecordABranchDropsCountsAsFailedForIt) {
    test::TempDir dir;
    std::string csv = "id,amount\n";
    for (int i = 1; i <= 5000; ++i)
        csv += std::to_string(i) + "," + std::to_string(i % 100) + "\n";
    dir.write("items.csv", csv);
    const std::string p = dir.write(
        "p.toml",
        "[global]\nexecutor = \"" + GetParam() +
            "\"\nchannel_buffer_size = 64\ncheckpoint_interval = 100\nstate_dir = \"state\"\n" +
            stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
            stage_toml("big", "filter.apply", "\"items\"", "expression = \"amount >= 50\"") +
            stage_toml("tax", "map.apply", "\"items\"", "columns = { tax = \"amount * 2\" }") +
            stage_toml("joined", "gather.apply", "\"big\", \"tax\"",
                       "policy = \"all\"\nmax_failures = 1\nmerge = \"flat\"\n"
                       "ordered = true\nreport_field = \"g\"") +
            stage_toml("out", "csv.write", "\"joined\"", "path = \"out.csv\""));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto r = run_conveyor({"run", p, "-q"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = lines_of(test::read_file(dir.file("out.csv")));
    ASSERT_EQ(lines.size(), 5001u);
    EXPECT_EQ(lines[0], "id,amount,tax,g");
    for (int i = 1; i <= 5000; ++i) {
        const int amount = i % 100;
        const std::string report = amount >= 50 ? R"({""arrived"":[""big"",""tax""],""failed"":[],)"
                                                : R"({""arrived"":[""tax""],""failed"":[""big""],)";
        EXPECT_THAT(lines[static_cast<std::size_t>(i)],
                    HasSubstr(std::to_string(i) + "," + std::to_string(amount) + "," +
                              std::to_string(amount * 2) + ",\"" + report))
            << "record " << i;
    }
}

/// Branches that are a route's outputs: the route emits each input batch as one batch per
/// output, and numbered there records came out of an ordered gather output by output (all the
/// odd ids of a batch, then the even ones). Its input's order is the order.
TEST_P(GatherLocalTest, BranchesOfARoutesOutputsComeOutInInputOrder) {
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(5000));
    const std::string p = dir.write(
        "p.toml",
        "[global]\nexecutor = \"" + GetParam() +
            "\"\nchannel_buffer_size = 64\ncheckpoint_interval = 100\nstate_dir = \"state\"\n" +
            stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
            stage_toml("r", "route.apply", "\"items\"", "routes = { odd = \"id % 2 == 1\" }") +
            stage_toml("odd", "map.apply", "\"r.odd\"", "columns = { odd = \"true\" }") +
            stage_toml("even", "map.apply", "\"r.unmatched\"", "columns = { odd = \"false\" }") +
            stage_toml("joined", "gather.apply", "\"odd\", \"even\"",
                       "policy = \"any\"\nmerge = \"flat\"\nordered = true") +
            stage_toml("out", "csv.write", "\"joined\"", "path = \"out.csv\""));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto r = run_conveyor({"run", p, "-q"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = lines_of(test::read_file(dir.file("out.csv")));
    ASSERT_EQ(lines.size(), 5001u);
    EXPECT_EQ(lines[0], "id,name,odd");
    for (int i = 1; i <= 5000; ++i)
        ASSERT_EQ(lines[static_cast<std::size_t>(i)],
                  std::to_string(i) + ",n" + std::to_string(i) + (i % 2 == 1 ? ",true" : ",false"));
}

/// The gather's records in are the records it gathers (one per record of the fan-out), not
/// every branch answer as well: 10 records through two branches are 10 in, 10 out.
TEST_P(GatherLocalTest, RecordsInCountEachGatheredRecordOnce) {
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(10));
    const std::string p = dir.write(
        "p.toml", "[global]\nexecutor = \"" + GetParam() + "\"\n" +
                      stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
                      stage_toml("a", "map.apply", "\"items\"", "columns = { a = \"id * 2\" }") +
                      stage_toml("b", "map.apply", "\"items\"", "columns = { b = \"id * 3\" }") +
                      stage_toml("joined", "gather.apply", "\"a\", \"b\"", "merge = \"flat\"") +
                      stage_toml("out", "csv.write", "\"joined\"", "path = \"out.csv\""));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto r = run_conveyor({"run", p, "--stats", "--stats-json", "stats.json"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(lines_of(test::read_file(dir.file("out.csv"))).size(), 11u);
    const std::string stats = test::read_file(dir.file("stats.json"));
    const auto joined = stats.find(R"("id":"joined")");
    ASSERT_NE(joined, std::string::npos) << stats;
    EXPECT_THAT(stats.substr(joined, stats.find(R"("id":)", joined + 1) - joined),
                HasSubstr(R"("records":{"in":10,"out":10,)"))
        << stats;
    // The summary table says the same.
    EXPECT_THAT(r.err, ::testing::ContainsRegex("joined +gather.apply +10 +10"));
}

INSTANTIATE_TEST_SUITE_P(Executors, GatherLocalTest, ::testing::Values("dag", "channel", "async"));

/// items (240 rows) -> two http.fetch branches -> gather (all, ordered) -> out/g.jsonl, with a
/// checkpoint every 10 records: killed (-9) twice and resumed, it must end with exactly the
/// output of an uninterrupted run.
std::string resumable_gather(const std::string& url, const std::string& executor) {
    return "[global]\nexecutor = \"" + executor +
           "\"\nconcurrency = 4\nchannel_buffer_size = 20\ncheckpoint_interval = 10\n" +
           stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
           stage_toml("a", "http.fetch", "\"items\"",
                      "url = \"" + url + "/a/{{ id }}\"\nresult_field = \"a\"") +
           stage_toml("b", "http.fetch", "\"items\"",
                      "url = \"" + url + "/b/{{ id }}\"\nresult_field = \"b\"") +
           stage_toml("g", "gather.apply", "\"a\", \"b\"", "ordered = true\nmerge = \"flat\"") +
           stage_toml("out", "json.write", "\"g\"", "path = \"out/g.jsonl\"\nformat = \"jsonl\"");
}

class GatherResumeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GatherResumeTest, AKilledRunResumesThroughTheGatherToTheCleanOutput) {
    using namespace std::chrono_literals;
    auto serve = [](test::HttpTestServer& server) {
        for (const char* api : {"/a/", "/b/"})
            server.route(api, [api](const HttpTestRequest& req) {
                HttpTestReply r = HttpTestReply::json(R"({")" + std::string(api).substr(1, 1) +
                                                      R"(":")" + req.path.substr(3) + "\"}");
                r.delay = 3ms;
                return r;
            });
    };
    constexpr int kRows = 240;
    std::string clean;
    {
        test::HttpTestServer server;
        serve(server);
        test::TempDir dir;
        dir.write("items.csv", test::items_csv(kRows));
        dir.write("p.toml", resumable_gather(server.url(), GetParam()));
        test::ProcessOptions o;
        o.cwd = dir.path();
        auto r = run_conveyor({"run", "p.toml", "-q"}, o);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        clean = test::read_file(dir.file("out/g.jsonl"));
        ASSERT_EQ(lines_of(clean).size(), static_cast<std::size_t>(kRows));
    }
    test::HttpTestServer server;
    serve(server);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRows));
    dir.write("p.toml", resumable_gather(server.url(), GetParam()));
    test::ProcessOptions o;
    o.cwd = dir.path();
    int kills = 0;
    for (std::size_t answered : {100u, 300u}) {
        auto child =
            test::spawn_conveyor(kills == 0 ? std::vector<std::string>{"run", "p.toml"}
                                            : std::vector<std::string>{"run", "p.toml", "--resume"},
                                 o);
        EXPECT_TRUE(server.wait_for_answered(answered, 60s));
        child->signal(SIGKILL);
        EXPECT_EQ(child->wait().exit_code, 128 + SIGKILL);
        ++kills;
        EXPECT_FALSE(test::file_exists(dir.file("out/g.jsonl"))) << "never a partial output";
    }
    auto r = run_conveyor({"run", "p.toml", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out/g.jsonl")), clean) << "byte for byte";
    if (GetParam() != "dag") {
        EXPECT_THAT(r.err, HasSubstr("from checkpoint"));
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, GatherResumeTest, ::testing::Values("dag", "channel", "async"));

std::string load_error(const std::string& toml) {
    test::TempDir dir;
    dir.write("items.csv", "id\n1\n");
    const std::string p = dir.write("p.toml", toml);
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    auto r = run_conveyor({"validate", p}, opts);
    EXPECT_EQ(r.exit_code, 78) << r.err;
    return r.err;
}

TEST(GatherLoadTest, InputsWithoutACommonFanOutAreALoadErrorNamingTheStages) {
    const std::string err =
        load_error(stage_toml("a", "csv.read", "", "path = \"items.csv\"") +
                   stage_toml("b", "csv.read", "", "path = \"items.csv\"") +
                   stage_toml("fa", "filter.apply", "\"a\"", "expression = \"id > 0\"") +
                   stage_toml("g", "gather.apply", "\"fa\", \"b\"", "") +
                   stage_toml("out", "json.write", "\"g\"", "path = \"o.json\""));
    EXPECT_THAT(err, HasSubstr("stage 'g'"));
    EXPECT_THAT(err, HasSubstr("must descend from one fan-out stage"));
    EXPECT_THAT(err, HasSubstr("input 'fa' goes back to source 'a' (csv.read)"));
    EXPECT_THAT(err, HasSubstr("input 'b' goes back to source 'b' (csv.read)"));
}

TEST(GatherLoadTest, ABranchThroughAStageThatDoesNotKeepRecordsIsALoadError) {
    const std::string err =
        load_error(stage_toml("a", "csv.read", "", "path = \"items.csv\"") +
                   stage_toml("s", "sort.apply", "\"a\"", "by = \"id\"") +
                   stage_toml("m", "map.apply", "\"a\"", "columns = { x = \"id\" }") +
                   stage_toml("g", "gather.apply", "\"s\", \"m\"", "") +
                   stage_toml("out", "json.write", "\"g\"", "path = \"o.json\""));
    EXPECT_THAT(err, HasSubstr("input 's' stops at 's' (sort.apply), which does not keep each "
                               "record's identity"));
}

TEST(GatherLoadTest, QuorumAboveTheInputsAndPriorityOfANonInputAreLoadErrors) {
    const std::string stages = stage_toml("a", "csv.read", "", "path = \"items.csv\"") +
                               stage_toml("x", "map.apply", "\"a\"", "columns = { x = \"id\" }") +
                               stage_toml("y", "map.apply", "\"a\"", "columns = { y = \"id\" }");
    std::string err = load_error(
        stages +
        stage_toml("g", "gather.apply", "\"x\", \"y\"", "policy = \"quorum\"\nquorum = 3") +
        stage_toml("out", "json.write", "\"g\"", "path = \"o.json\""));
    EXPECT_THAT(err, HasSubstr("quorum = 3 is more than the 2 inputs (x, y)"));
    err = load_error(stages +
                     stage_toml("g", "gather.apply", "\"x\", \"y\"",
                                "policy = \"priority\"\npriority = [\"y\", \"z\"]") +
                     stage_toml("out", "json.write", "\"g\"", "path = \"o.json\""));
    EXPECT_THAT(err, HasSubstr("priority names 'z', which is not an input of this stage "
                               "(inputs: x, y)"));
    err =
        load_error(stages + stage_toml("g", "gather.apply", "\"x\", \"y\"", "policy = \"quorum\"") +
                   stage_toml("out", "json.write", "\"g\"", "path = \"o.json\""));
    EXPECT_THAT(err, HasSubstr("policy = \"quorum\" needs `quorum`"));
}

} // namespace
} // namespace conveyor
