// limit.apply after any stage: the first records in input order, and a run that stops reading
// its input early once the limit is reached, under every executor.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <vector>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

class LimitRunTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LimitRunTest, WritesTheFirstRecordsAfterTheOffset) {
    test::TempDir dir;
    std::string csv = "id,v\n";
    for (int i = 0; i < 20000; ++i)
        csv += std::to_string(i) + "," + std::to_string(i % 7) + "\n";
    const std::string in = dir.write("in.csv", csv);
    const std::string file = dir.write(
        "p.toml",
        "[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\n[stages.config]\npath = \"" + in +
            "\"\n\n[[stages]]\nid = \"odd\"\nfunction = \"filter.apply\"\ninputs = [\"in\"]\n"
            "[stages.config]\nexpression = \"id % 2 == 1\"\n\n"
            "[[stages]]\nid = \"first\"\nfunction = \"limit.apply\"\ninputs = [\"odd\"]\n"
            "[stages.config]\ncount = 3\noffset = 2\n\n"
            "[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"first\"]\n"
            "[stages.config]\npath = \"" +
            dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "--stats"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,v\n5,5\n7,0\n9,2\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, LimitRunTest, ::testing::Values("dag", "channel", "async"));

class TailRunTest : public ::testing::TestWithParam<std::string> {};

/// "id,g\n<id>,<id % 7>..." for the ids in `ids`.
std::string id_lines(const std::vector<int>& ids) {
    std::string text = "id,g\n";
    for (const int i : ids)
        text += std::to_string(i) + "," + std::to_string(i % 7) + "\n";
    return text;
}

TEST_P(TailRunTest, TheLastRecordsOfTheInputAndOfEachGroupInMemoryAndSpilled) {
    // `mlr tail -n 3`, `mlr tail -n 2 -g g`: in input order, after a filter; with a memory
    // share far too small for the records held, spilled, with the same output.
    test::TempDir dir;
    std::vector<int> all;
    for (int i = 0; i < 20000; ++i)
        all.push_back(i);
    const std::string in = dir.write("in.csv", id_lines(all));
    struct Case {
        std::string config;
        std::vector<int> want;
    };
    std::vector<int> per_group; // the last 2 odd ids of each g, before the last odd id of each
    for (int g = 0; g < 7; ++g) {
        std::vector<int> odd;
        for (const int i : all)
            if (i % 2 == 1 && i % 7 == g) odd.push_back(i);
        per_group.insert(per_group.end(), odd.end() - 3, odd.end() - 1);
    }
    std::sort(per_group.begin(), per_group.end());
    const std::vector<Case> cases = {{"count = 3\noffset = 2", {19991, 19993, 19995}},
                                     {"count = 2\noffset = 1\nby = [\"g\"]", per_group},
                                     {"count = 0", {}},
                                     {"count = 50000", [&] {
                                          std::vector<int> odd;
                                          for (const int i : all)
                                              if (i % 2 == 1) odd.push_back(i);
                                          return odd;
                                      }()}};
    for (const Case& c : cases) {
        for (const std::string memory : {"", "memory_limit = \"64KiB\"\n"}) {
            SCOPED_TRACE(c.config + " / " + memory);
            const std::string file = dir.write(
                "p.toml", "[global]\n" + memory + "executor = \"" + GetParam() + "\"\n" +
                              test::stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                              test::stage_toml("odd", "filter.apply", "\"in\"",
                                               "expression = \"id % 2 == 1\"") +
                              test::stage_toml("last", "limit.apply", "\"odd\"",
                                               "from = \"end\"\n" + c.config) +
                              test::stage_toml("out", "csv.write", "\"last\"",
                                               "path = \"" + dir.file("out.csv") + "\""));
            auto r = run_conveyor({"run", file, "--stats-json", dir.file("stats.json")});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            EXPECT_EQ(test::read_file(dir.file("out.csv")), id_lines(c.want));
            // Records in = out + filtered.
            const std::string stats = test::read_file(dir.file("stats.json"));
            const std::string counts =
                "\"records\":{\"in\":10000,\"out\":" + std::to_string(c.want.size()) +
                ",\"filtered\":" + std::to_string(10000 - c.want.size()) + ",";
            EXPECT_THAT(stats, HasSubstr("{\"id\":\"last\",\"function\":\"limit.apply\","
                                         "\"role\":\"transform\",\"state\":\"done\"," +
                                         counts))
                << stats;
            const bool spilled = r.err.find("spilled to") != std::string::npos;
            EXPECT_EQ(spilled, !memory.empty() && c.want.size() > 1000) << r.err;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, TailRunTest, ::testing::Values("dag", "channel", "async"));

TEST(TailRun, AStreamHasNoLastRecords) {
    test::TempDir dir;
    const std::string file =
        dir.write("p.toml", "[global]\nexecution_mode = \"streaming\"\n" +
                                test::stage_toml("in", "stdin.read", "", "format = \"lines\"") +
                                test::stage_toml("last", "limit.apply", "\"in\"",
                                                 "count = 5\nfrom = \"end\"") +
                                test::stage_toml("out", "stdout.write", "\"last\"", ""));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("a stream has no last records"));
}

TEST(LimitRun, AStreamingExecutorStopsReadingTheInputOnceTheLimitIsReached) {
    test::TempDir dir;
    std::string csv = "id\n";
    for (int i = 0; i < 400000; ++i)
        csv += std::to_string(i) + "\n";
    const std::string in = dir.write("in.csv", csv);
    const std::string file = dir.write(
        "p.toml", "[global]\nexecutor = \"channel\"\n\n[[stages]]\nid = \"in\"\nfunction = "
                  "\"csv.read\"\n[stages.config]\npath = \"" +
                      in +
                      "\"\n\n[[stages]]\nid = \"first\"\nfunction = \"limit.apply\"\ninputs = "
                      "[\"in\"]\n[stages.config]\ncount = 10\n\n[[stages]]\nid = \"out\"\n"
                      "function = \"json.write\"\ninputs = [\"first\"]\n[stages.config]\npath "
                      "= \"" +
                      dir.file("out.jsonl") + "\"\n");
    auto r = run_conveyor({"run", file, "--stats-json", dir.file("stats.json"), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string out = test::read_file(dir.file("out.jsonl"));
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 10);
    // The source stopped long before the end of its 400,000 records.
    const std::string stats = test::read_file(dir.file("stats.json"));
    const auto at = stats.find("\"id\":\"in\"");
    ASSERT_NE(at, std::string::npos) << stats;
    const auto out_at = stats.find("\"out\":", at);
    const std::uint64_t read = std::stoull(stats.substr(out_at + 6));
    EXPECT_LT(read, 400000u) << stats;
}

} // namespace
} // namespace conveyor
