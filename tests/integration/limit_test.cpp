// limit.apply after any stage: the first records in input order, and a run that stops reading
// its input early once the limit is reached, under every executor.

#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
