// A graceful stop (SIGTERM) of a batch run whose fan-out meets again in a fan-in, then
// `--resume`. One branch is an http.fetch, which in batch mode stops requesting at the signal
// and ends its output short; the other is a map.apply, which passes every record and every
// checkpoint marker the source sent. The fan-in must not take that short end for the end of
// the branch: merge.apply took its later markers as aligned, so checkpoints past the records
// the http branch never requested were committed and the resumed run left those records out
// (exit 0); gather.apply failed every record still waiting for the http branch, and under
// `continue` the resumed run wrote them all to the dead-letter queue.
// The stop lands mid-run deterministically: the loopback server holds every response from some
// point on and lets them go only after conveyor has logged that it received the signal.

#include "support/http_test_server.hpp"
#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace conveyor {
namespace {

using namespace std::chrono_literals;
using test::HttpTestReply;
using test::HttpTestRequest;
using test::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kRows = 400;

/// items -> a (http.fetch) and b (map.apply) -> the fan-in (`fan_in`: merge or gather) ->
/// out/m.jsonl, a checkpoint every 10 records, failures dead-lettered.
std::string pipeline(const HttpTestServer& server, const std::string& executor,
                     const std::string& fan_in) {
    const std::string fan_in_config =
        fan_in == "gather.apply" ? "ordered = true\nmerge = \"flat\"" : "";
    return "[global]\nexecutor = \"" + executor +
           "\"\nconcurrency = 4\nchannel_buffer_size = 20\ncheckpoint_interval = 10\n"
           "[error_handling]\nstrategy = \"continue\"\n"
           "dead_letter_queue = { enabled = true, path = \"dlq.jsonl\" }\n" +
           test::stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
           test::stage_toml("a", "http.fetch", "\"items\"",
                            "url = \"" + server.url("/a/{{ id }}") + "\"\nresult_field = \"a\"") +
           test::stage_toml("b", "map.apply", "\"items\"", "columns = { twice = \"id * 2\" }") +
           test::stage_toml("m", fan_in, "\"a\", \"b\"", fan_in_config) +
           test::stage_toml("out", "json.write", "\"m\"", "path = \"out/m.jsonl\"");
}

void serve(HttpTestServer& server) {
    server.route("/a/", [](const HttpTestRequest& r) {
        return HttpTestReply::json(R"({"a":")" + r.path.substr(3) + R"("})");
    });
}

std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) out.push_back(l);
    std::sort(out.begin(), out.end());
    return out;
}

class StopFanInTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(StopFanInTest, AStoppedRunResumesToTheCleanOutputWithoutDeadLetters) {
    const auto& [executor, fan_in] = GetParam();
    std::string clean;
    {
        HttpTestServer server;
        serve(server);
        test::TempDir dir;
        dir.write("items.csv", test::items_csv(kRows));
        dir.write("p.toml", pipeline(server, executor, fan_in));
        test::ProcessOptions o;
        o.cwd = dir.path();
        auto r = test::run_conveyor({"run", "p.toml", "-q"}, o);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        clean = test::read_file(dir.file("out/m.jsonl"));
    }
    const std::size_t expected_lines = fan_in == "merge.apply" ? 2 * kRows : kRows;
    ASSERT_EQ(sorted_lines(clean).size(), expected_lines);

    HttpTestServer server;
    serve(server);
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRows));
    dir.write("p.toml", pipeline(server, executor, fan_in));
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    // Past a few checkpoints, hold every response: the http branch cannot get further until
    // the test lets them go, after the signal; the map branch has passed all it was sent.
    ASSERT_TRUE(server.wait_for_answered(60, 60s));
    server.gate(1000, 1000000);
    ASSERT_TRUE(server.wait_for_concurrent(4, 60s));
    child->signal(SIGTERM);
    ASSERT_TRUE(child->wait_for_stderr("received SIGTERM", 60s));
    server.open_gate();
    auto stopped = child->wait();
    EXPECT_EQ(stopped.exit_code, 143) << stopped.err;
    EXPECT_THAT(stopped.err, Not(HasSubstr("not met"))) << "a stop is not a branch failure";
    EXPECT_LT(server.requests(), static_cast<std::size_t>(kRows));

    auto resumed = test::run_conveyor({"run", "p.toml", "--resume", "-q"}, o);
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
    const std::string out = test::read_file(dir.file("out/m.jsonl"));
    if (fan_in == "gather.apply")
        EXPECT_EQ(out, clean) << "byte for byte";
    else
        EXPECT_EQ(sorted_lines(out), sorted_lines(clean)) << "every record of both branches";
    EXPECT_EQ(test::read_file(dir.file("dlq.jsonl")), "") << "no record failed";
}

INSTANTIATE_TEST_SUITE_P(ExecutorsAndFanIns, StopFanInTest,
                         ::testing::Combine(::testing::Values("dag", "channel", "async"),
                                            ::testing::Values("merge.apply", "gather.apply")));

} // namespace
} // namespace conveyor
