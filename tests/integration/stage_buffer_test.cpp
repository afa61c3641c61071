// [stages.buffer]: one slow consumer of a fan-out does not pace its siblings. With a disk
// buffer the fast sibling finishes at its own speed and the slow one still gets every record;
// drop_newest drops (and counts) what does not fit; load errors name the stage.

#include "support/http_test_server.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <regex>
#include <sstream>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

constexpr int kRecords = 1000;

std::size_t line_count(const std::string& text) {
    std::size_t n = 0;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        n += l.empty() ? 0 : 1;
    return n;
}

/// Seconds stage `id` ran, from its debug "finished in" line.
double finished_in(const std::string& log, const std::string& id) {
    const std::regex re("stage '" + id + "': finished in ([0-9.]+) s");
    std::smatch m;
    if (!std::regex_search(log, m, re)) return -1;
    return std::stod(m[1].str());
}

/// items -> fast (json.write) and items -> lookup (http.fetch, one request at a time against
/// a server that takes 2 ms each) -> slow (json.write); `buffer` is lookup's [stages.buffer].
/// Batches of 10 records: a buffer admits, drops or writes whole batches, and the 1000 records
/// would otherwise make one.
std::string fan_out_pipeline(const std::string& url, const std::string& executor,
                             const std::string& buffer) {
    std::string lookup = stage_toml("lookup", "http.fetch", "\"items\"",
                                    "url = \"" + url + "/item/{{ id }}\"\nconcurrency = 1");
    if (!buffer.empty()) lookup += "[stages.buffer]\n" + buffer + "\n";
    return "[global]\nexecutor = \"" + executor +
           "\"\nchannel_buffer_size = 50\nbatch_size = 10\nstate_dir = \"state\"\n" +
           stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
           stage_toml("fast", "json.write", "\"items\"", "path = \"fast.jsonl\"") + lookup +
           stage_toml("slow", "json.write", "\"lookup\"", "path = \"slow.jsonl\"");
}

class StageBufferTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StageBufferTest, ADiskBufferLetsTheFastSiblingFinishAtItsOwnSpeed) {
    test::HttpTestServer server;
    server.route("/item/", [](const test::HttpTestRequest&) {
        return test::HttpTestReply::json(R"({"ok":true})").after(std::chrono::milliseconds(2));
    });
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    const std::string p =
        dir.write("p.toml", fan_out_pipeline(server.url(), GetParam(), "type = \"disk\""));
    auto r = run_conveyor({"run", p, "--log-level", "debug", "--stats"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Every record reached both.
    EXPECT_EQ(line_count(test::read_file(dir.file("fast.jsonl"))), std::size_t{kRecords});
    EXPECT_EQ(line_count(test::read_file(dir.file("slow.jsonl"))), std::size_t{kRecords});
    const double fast = finished_in(r.err, "fast");
    const double slow = finished_in(r.err, "lookup");
    ASSERT_GT(fast, 0) << r.err;
    // 1000 requests one at a time take 2 s and more; the fast sink did not wait for them.
    EXPECT_GT(slow, 1.5) << r.err;
    EXPECT_LT(fast * 3, slow) << r.err;
    EXPECT_THAT(r.err, HasSubstr("records of 'lookup': on_disk "));
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u) << "buffer files are removed";
}

TEST_P(StageBufferTest, WhenFullDropNewestDropsAndCountsWhatDoesNotFit) {
    test::HttpTestServer server;
    server.route("/item/", [](const test::HttpTestRequest&) {
        return test::HttpTestReply::json(R"({"ok":true})").after(std::chrono::milliseconds(2));
    });
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(kRecords));
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    const std::string p =
        dir.write("p.toml", fan_out_pipeline(server.url(), GetParam(),
                                             "max_records = 10\nwhen_full = \"drop_newest\""));
    auto r = run_conveyor({"run", p, "--stats"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(line_count(test::read_file(dir.file("fast.jsonl"))), std::size_t{kRecords});
    const std::size_t delivered = line_count(test::read_file(dir.file("slow.jsonl")));
    EXPECT_LT(delivered, std::size_t{kRecords});
    EXPECT_GT(delivered, 0u);
    EXPECT_THAT(r.err,
                HasSubstr("records of 'lookup': dropped " + std::to_string(kRecords - delivered)));
}

INSTANTIATE_TEST_SUITE_P(Streaming, StageBufferTest, ::testing::Values("channel", "async"));

TEST(StageBufferLoadTest, ProblemsAreReportedWithTheStage) {
    test::TempDir dir;
    dir.write("items.csv", test::items_csv(3));
    const std::string p =
        dir.write("p.toml", stage_toml("items", "csv.read", "", "path = \"items.csv\"") +
                                "[stages.buffer]\ntype = \"disk\"\n" +
                                stage_toml("out", "json.write", "\"items\"", "path = \"o.jsonl\"") +
                                "[stages.buffer]\ntype = \"disk\"\nwhen_full = \"drop_newest\"\n"
                                "max_record = 5\n");
    auto r = run_conveyor({"validate", p});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'items': [stages.buffer] is the queue of a stage's "
                                 "input, and a source has none"));
    EXPECT_THAT(r.err, HasSubstr("stage 'out': [stages.buffer] when_full applies to type = "
                                 "\"memory\""));
    EXPECT_THAT(r.err, HasSubstr("did you mean 'max_records'"));
}

} // namespace
} // namespace conveyor
