// Window boundaries travel as typed batch metadata, never as records: what a sink writes after
// window.apply (directly, or through aggregate.stream with stages in between) is data only,
// under every executor.

#include "support/process.hpp"

#include <gtest/gtest.h>
#include <string>

namespace conveyor {
namespace {

using test::run_conveyor;

/// Ten log lines, two levels, a count window of 4 records.
std::string input_lines() {
    std::string s;
    for (int i = 0; i < 10; ++i)
        s += "{\"id\":" + std::to_string(i) + ",\"level\":\"" + (i % 3 == 0 ? "error" : "info") +
             "\"}\n";
    return s;
}

std::string pipeline(const std::string& in, const std::string& middle,
                     const std::string& sink_input, const std::string& out) {
    return "[[stages]]\nid = \"in\"\nfunction = \"json.read\"\ninputs = []\n[stages.config]\n"
           "path = \"" +
           in +
           "\"\nformat = \"jsonl\"\n\n"
           "[[stages]]\nid = \"win\"\nfunction = \"window.apply\"\ninputs = [\"in\"]\n"
           "[stages.config]\nsize = 4\n\n" +
           middle + "[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"" +
           sink_input + "\"]\n[stages.config]\npath = \"" + out + "\"\n";
}

class WindowMetadataTest : public ::testing::TestWithParam<std::string> {};

TEST_P(WindowMetadataTest, ACsvSinkAfterWindowApplyWritesOnlyTheRecords) {
    test::TempDir dir;
    const std::string in = dir.write("in.jsonl", input_lines());
    const std::string file = dir.write("p.toml", pipeline(in, "", "win", dir.file("out.csv")));
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string csv = test::read_file(dir.file("out.csv"));
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "id,level,window_start,window_end");
    // Ten records, nothing else: no marker rows (",,,true"), no window_closed column.
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 11) << csv;
    EXPECT_EQ(csv.find("window_closed"), std::string::npos) << csv;
    EXPECT_EQ(csv.find(",,"), std::string::npos) << csv;
}

TEST_P(WindowMetadataTest, AFilterBetweenWindowAndAggregateNeedsToKnowNothingOfWindows) {
    for (const std::string filter : {"column = \"level\"\noperator = \"==\"\nvalue = \"error\"\n",
                                     "expression = \"level == 'error'\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.jsonl", input_lines());
        const std::string middle =
            "[[stages]]\nid = \"errors\"\nfunction = \"filter.apply\"\ninputs = [\"win\"]\n"
            "[stages.config]\n" +
            filter +
            "\n"
            "[[stages]]\nid = \"agg\"\nfunction = \"aggregate.stream\"\ninputs = [\"errors\"]\n"
            "[stages.config]\noperation = \"count\"\ngroup_by = [\"level\"]\n\n";
        const std::string file =
            dir.write("p.toml", pipeline(in, middle, "agg", dir.file("out.csv")));
        auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        // Errors are ids 0, 3, 6, 9: windows [0,4) 2, [4,8) 1, [8,10) 1, each closed in order
        // (the last by the end of the input).
        EXPECT_EQ(test::read_file(dir.file("out.csv")), "level,count,window_start,window_end\n"
                                                        "error,2,0,4\n"
                                                        "error,1,4,8\n"
                                                        "error,1,8,10\n")
            << filter;
    }
}

TEST_P(WindowMetadataTest, StagesThatDoNotKnowWindowsPassTheirClosesOnInOrder) {
    // select.apply and map.apply between window.apply and aggregate.stream, and a fan-out to a
    // second sink that must see only records.
    test::TempDir dir;
    const std::string in = dir.write("in.jsonl", input_lines());
    const std::string middle =
        "[[stages]]\nid = \"sel\"\nfunction = \"select.apply\"\ninputs = [\"win\"]\n"
        "[stages.config]\ncolumns = [\"level\", \"window_start\", \"window_end\"]\n\n"
        "[[stages]]\nid = \"up\"\nfunction = \"map.apply\"\ninputs = [\"sel\"]\n"
        "[stages.config]\ncolumns = { level = \"upper(level)\" }\n\n"
        "[[stages]]\nid = \"agg\"\nfunction = \"aggregate.stream\"\ninputs = [\"up\"]\n"
        "[stages.config]\noperation = \"count\"\ngroup_by = [\"level\"]\n\n"
        "[[stages]]\nid = \"copy\"\nfunction = \"json.write\"\ninputs = [\"up\"]\n"
        "[stages.config]\npath = \"" +
        dir.file("copy.jsonl") + "\"\nformat = \"jsonl\"\n\n";
    const std::string file = dir.write("p.toml", pipeline(in, middle, "agg", dir.file("out.csv")));
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "level,count,window_start,window_end\n"
                                                    "ERROR,2,0,4\nINFO,2,0,4\n"
                                                    "INFO,3,4,8\nERROR,1,4,8\n"
                                                    "INFO,1,8,10\nERROR,1,8,10\n");
    const std::string copy = test::read_file(dir.file("copy.jsonl"));
    EXPECT_EQ(std::count(copy.begin(), copy.end(), '\n'), 10) << copy;
}

INSTANTIATE_TEST_SUITE_P(Executors, WindowMetadataTest,
                         ::testing::Values("dag", "channel", "async"));

} // namespace
} // namespace conveyor
