// Errors users can act on: at the default log level the end of a run says, per stage, what
// became of the records it could not process (kept with null result, dropped, dead-lettered,
// failed) and the first three distinct reasons with the record's file:line where known; the
// --stats-json document carries the same.

#include "conveyor/format/json_parser.hpp"
#include "support/http_test_server.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>

namespace conveyor {
namespace {

using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

/// Runs in `dir` with neither --log-level nor CONVEYOR_LOG: the default level, and stderr is
/// a pipe (not a terminal), as under cron.
test::ProcessResult run_in(const test::TempDir& dir, const std::vector<std::string>& args) {
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    opts.unset_env = {"CONVEYOR_LOG"};
    return test::run_conveyor(args, opts);
}

/// The end-of-run line about stage `id` ("  stage 'id': ..."), or "" when there is none.
std::string stage_line(const std::string& err, const std::string& id) {
    std::istringstream in(err);
    for (std::string l; std::getline(in, l);)
        if (l.starts_with("  stage '" + id + "': ")) return l;
    return {};
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

struct StatsDoc {
    Arena arena;
    Value doc;
    [[nodiscard]] Value stage(const std::string& id) const {
        for (const Value& s : doc.find("stages")->as_array())
            if (s.find("id")->as_string() == id) return s;
        ADD_FAILURE() << "no stage " << id;
        return Value::null();
    }
};

std::unique_ptr<StatsDoc> read_stats(const std::string& path) {
    auto d = std::make_unique<StatsDoc>();
    json::Parser parser;
    Result<Value> v = parser.parse(test::read_file(path), d->arena);
    EXPECT_TRUE(v) << test::read_file(path);
    if (v) d->doc = *v;
    return d;
}

TEST(ErrorOutcomes, NullResultIsKeptNotLeftOutAndSaysWhy) {
    HttpTestServer server;
    server.route("/item/", [](const HttpTestRequest&) { return HttpTestReply::json("{}"); });
    test::TempDir dir;
    // Two of six records have no id: their URL cannot be built.
    dir.write("items.jsonl", "{\"id\":1}\n{\"name\":\"x\"}\n{\"id\":2}\n{\"id\":3}\n"
                             "{\"name\":\"y\"}\n{\"id\":4}\n");
    dir.write("p.toml", R"([[stages]]
id = "items"
function = "json.read"
inputs = []
[stages.config]
path = "items.jsonl"

[[stages]]
id = "f"
function = "http.fetch"
inputs = ["items"]
[stages.config]
url = ")" + server.url("/item/{{ id }}") +
                            R"("
on_error = "null"

[[stages]]
id = "save"
function = "json.write"
inputs = ["f"]
[stages.config]
path = "out.jsonl"
)");
    auto r = run_in(dir, {"run", "p.toml", "--stats-json", "s.json"});
    EXPECT_EQ(r.exit_code, 3) << r.err; // completed, with failed records
    EXPECT_EQ(count_of(test::read_file(dir.file("out.jsonl")), "\n"), 6u);
    EXPECT_THAT(r.err, Not(HasSubstr("left out")));
    EXPECT_EQ(stage_line(r.err, "f"),
              "  stage 'f': 6 records in, 6 out: 2 kept with null result; error: \"cannot build "
              "the request: url: field 'id' is missing from the record\" (2 records)")
        << r.err;

    auto stats = read_stats(dir.file("s.json"));
    const Value f = stats->stage("f");
    EXPECT_EQ(f.find("records")->find("out")->as_int(), 6);
    EXPECT_EQ(f.find("records")->find("nulled")->as_int(), 2);
    EXPECT_EQ(f.find("records")->find("dropped")->as_int(), 0);
    const auto errors = f.find("errors")->as_array();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].find("message")->as_string(),
              "cannot build the request: url: field 'id' is missing from the record");
    EXPECT_TRUE(errors[0].find("at")->is_null()); // a fetched record does not know its line
    EXPECT_EQ(errors[0].find("count")->as_int(), 2);
    EXPECT_EQ(stats->doc.find("totals")->find("records_nulled")->as_int(), 2);
}

// Rows 3, 4, 6, 7 and 8 are ragged; row 7 fails like row 4, row 8 in a fourth way.
constexpr const char* kRaggedCsv = "id,name,amount\n"
                                   "1,a,10\n"
                                   "2,b\n"
                                   "3,c,30,x\n"
                                   "4,d,40\n"
                                   "5\n"
                                   "6,f,60,x\n"
                                   "7,g,70,x,y\n";

std::string ragged_pipeline(const std::string& error_handling) {
    return error_handling + R"(
[[stages]]
id = "orders"
function = "csv.read"
inputs = []
[stages.config]
path = "orders.csv"

[[stages]]
id = "save"
function = "json.write"
inputs = ["orders"]
[stages.config]
path = "out.jsonl"
)";
}

TEST(ErrorOutcomes, FirstThreeDistinctErrorsWithTheirLineAtTheDefaultLevel) {
    test::TempDir dir;
    dir.write("orders.csv", kRaggedCsv);
    dir.write("p.toml", ragged_pipeline("[error_handling]\nstrategy = \"continue\"\n"));
    auto r = run_in(dir, {"run", "p.toml", "--stats-json", "s.json"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const std::string line = stage_line(r.err, "orders");
    EXPECT_THAT(line, StartsWith("  stage 'orders': 2 records out: 5 dropped; first errors: "
                                 "\"row has 2 fields, expected 3;"))
        << r.err;
    EXPECT_THAT(line, HasSubstr("\" (orders.csv:3), \"row has 4 fields, expected 3;"));
    EXPECT_THAT(line, HasSubstr("\" (orders.csv:4, 2 records), \"row has 1 field, expected 3;"));
    EXPECT_THAT(line, HasSubstr("\" (orders.csv:6)"));
    EXPECT_THAT(line, Not(HasSubstr("row has 5 fields"))); // the fourth distinct message
    EXPECT_THAT(r.err, Not(HasSubstr("left out")));

    auto stats = read_stats(dir.file("s.json"));
    const Value orders = stats->stage("orders");
    EXPECT_EQ(orders.find("records")->find("dropped")->as_int(), 5);
    EXPECT_EQ(orders.find("records")->find("failed")->as_int(), 5);
    const auto errors = orders.find("errors")->as_array();
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_THAT(std::string(errors[0].find("message")->as_string()),
                StartsWith("row has 2 fields, expected 3"));
    EXPECT_EQ(errors[0].find("at")->as_string(), "orders.csv:3");
    EXPECT_EQ(errors[0].find("count")->as_int(), 1);
    EXPECT_EQ(errors[1].find("at")->as_string(), "orders.csv:4");
    EXPECT_EQ(errors[1].find("count")->as_int(), 2);
    EXPECT_EQ(errors[2].find("at")->as_string(), "orders.csv:6");
    EXPECT_EQ(stats->stage("save").find("errors")->as_array().size(), 0u);
}

TEST(ErrorOutcomes, ManyErrorsKeepThreeAndCountEveryRecordDeadLettered) {
    test::TempDir dir;
    // 300 rows, each with a different number of fields (4 to 303): 300 distinct messages.
    std::string csv = "a,b,c\n";
    for (int i = 0; i < 300; ++i) {
        csv += "1,2,3";
        for (int k = 0; k <= i; ++k)
            csv += ",x";
        csv += '\n';
    }
    csv += "1,2,3\n";
    dir.write("orders.csv", csv);
    dir.write("p.toml", ragged_pipeline("[global]\nexecutor = \"channel\"\n[error_handling]\n"
                                        "strategy = \"continue\"\ndead_letter_queue = "
                                        "{ enabled = true, path = \"dlq.jsonl\" }\n"));
    auto r = run_in(dir, {"run", "p.toml", "--stats-json", "s.json"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const std::string line = stage_line(r.err, "orders");
    EXPECT_THAT(line, StartsWith("  stage 'orders': 1 record out: 300 dead-lettered; first "
                                 "errors: \"row has 4 fields"))
        << r.err;
    EXPECT_EQ(count_of(line, "\"row has "), 3u) << line;
    EXPECT_THAT(line, HasSubstr("(orders.csv:2)"));
    EXPECT_THAT(line, HasSubstr("(see the dead-letter queue dlq.jsonl)"));

    auto stats = read_stats(dir.file("s.json"));
    const Value orders = stats->stage("orders");
    EXPECT_EQ(orders.find("records")->find("dead_lettered")->as_int(), 300);
    EXPECT_EQ(orders.find("records")->find("failed")->as_int(), 300);
    EXPECT_EQ(orders.find("errors")->as_array().size(), 3u);
}

// A run that fails after records were meant for the dead-letter queue commits nothing, the
// queue's file included: the ending used to say "(see the dead-letter queue dead.jsonl)" of a
// file that was never written.
TEST(ErrorOutcomes, AFailedRunDoesNotPointToTheDeadLetterQueueItDidNotWrite) {
    test::TempDir dir;
    dir.write("bad.csv", "id,amount\n1,5\n2,x\n3,7\n");
    dir.write("p.toml", R"([error_handling]
strategy = "continue"
dead_letter_queue = { enabled = true, path = "dead.jsonl" }

[[stages]]
id = "in"
function = "csv.read"
inputs = []
[stages.config]
path = "bad.csv"

[[stages]]
id = "m"
function = "map.apply"
inputs = ["in"]
[stages.config]
columns = { t = "amount * 2" }

[[stages]]
id = "out"
function = "json.write"
inputs = ["m"]
[stages.config]
path = "/dev/full"
[stages.error_handling]
strategy = "stop"
)");
    auto r = run_in(dir, {"run", "p.toml"});
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_FALSE(test::file_exists(dir.file("dead.jsonl")));
    const std::string line = stage_line(r.err, "m");
    EXPECT_THAT(line, HasSubstr("1 dead-lettered")) << r.err;
    EXPECT_THAT(line, HasSubstr("(the dead-letter queue dead.jsonl was not written: the run "
                                "failed)"))
        << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("see the dead-letter queue"))) << r.err;
}

} // namespace
} // namespace conveyor
