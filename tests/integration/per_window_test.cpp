// Sort, group-by, distinct, reduce and join under execution_mode = "streaming" after
// window.apply: each runs once per window (a join pairs its inputs' windows), its output for a
// window comes as soon as the window closes (before the input ends), and anywhere else in a stream
// they are load errors that say why.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class PerWindowTest : public ::testing::TestWithParam<std::string> {
protected:
    std::string global() const {
        return "[global]\nexecution_mode = \"streaming\"\nexecutor = \"" + GetParam() +
               "\"\nstate_dir = \"" + dir_.file("state") + "\"\n";
    }
    test::TempDir dir_;
};

const char* kInput = "v,k\n3,a\n1,b\n2,a\n9,c\n7,a\n8,b\n5,c\n5,c\n";

TEST_P(PerWindowTest, EachBlockingStageWorksWindowByWindow) {
    const std::string in = dir_.write("in.csv", kInput);
    const std::string p =
        global() + stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
        stage_toml("w", "window.apply", "\"in\"", "size = 3") +
        stage_toml("sorted", "sort.apply", "\"w\"", "by = \"v\"\ndescending = true") +
        stage_toml("grouped", "groupby.apply", "\"w\"",
                   "by = [\"window_start\", \"k\"]\naggregations = [{ column = \"v\", operation = "
                   "\"sum\" }, { operation = \"count\" }]") +
        stage_toml("unique", "distinct.apply", "\"w\"", "columns = \"k\"") +
        stage_toml("total", "reduce.apply", "\"w\"",
                   "column = \"v\"\noperation = \"max\"\noutput_column = \"top\"") +
        stage_toml("o1", "csv.write", "\"sorted\"", "path = \"" + dir_.file("sorted.csv") + "\"") +
        stage_toml("o2", "csv.write", "\"grouped\"",
                   "path = \"" + dir_.file("grouped.csv") + "\"") +
        stage_toml("o3", "csv.write", "\"unique\"", "path = \"" + dir_.file("unique.csv") + "\"") +
        stage_toml("o4", "json.write", "\"total\"", "path = \"" + dir_.file("total.jsonl") + "\"");
    auto r = test::run_conveyor({"run", dir_.write("p.toml", p), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir_.file("sorted.csv")),
              "v,k,window_start,window_end\n3,a,0,3\n2,a,0,3\n1,b,0,3\n"
              "9,c,3,6\n8,b,3,6\n7,a,3,6\n5,c,6,9\n5,c,6,9\n");
    EXPECT_EQ(test::read_file(dir_.file("grouped.csv")),
              "window_start,k,v_sum,count\n0,a,5,2\n0,b,1,1\n3,c,9,1\n3,a,7,1\n3,b,8,1\n"
              "6,c,10,2\n");
    EXPECT_EQ(test::read_file(dir_.file("unique.csv")),
              "v,k,window_start,window_end\n3,a,0,3\n1,b,0,3\n9,c,3,6\n7,a,3,6\n8,b,3,6\n"
              "5,c,6,9\n");
    EXPECT_EQ(test::read_file(dir_.file("total.jsonl")), "{\"top\":3}\n{\"top\":9}\n{\"top\":5}\n");
    EXPECT_EQ(test::count_files(dir_.file("state/spill")), 0u);
}

TEST_P(PerWindowTest, AWindowsResultComesOutWhenItClosesWhileTheInputGoesOn) {
    const std::string p = global() + stage_toml("in", "stdin.read", "", "format = \"csv\"") +
                          stage_toml("w", "window.apply", "\"in\"", "size = 2") +
                          stage_toml("s", "sort.apply", "\"w\"", "by = \"v\"") +
                          "\n[[stages]]\nid = \"out\"\nfunction = \"stdout.write\"\n"
                          "inputs = [\"s\"]\n";
    auto child = test::spawn_conveyor({"run", dir_.write("p.toml", p)});
    child->write_stdin("v\n5\n3\n");
    EXPECT_EQ(child->read_line(20s), R"({"v":3,"window_start":0,"window_end":2})");
    EXPECT_EQ(child->read_line(20s), R"({"v":5,"window_start":0,"window_end":2})");
    child->write_stdin("4\n1\n");
    EXPECT_EQ(child->read_line(20s), R"({"v":1,"window_start":2,"window_end":4})");
    EXPECT_EQ(child->read_line(20s), R"({"v":4,"window_start":2,"window_end":4})");
    child->write_stdin("7\n");
    child->close_stdin();
    EXPECT_EQ(child->read_line(20s), R"({"v":7,"window_start":4,"window_end":6})");
    auto r = child->wait();
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Executors, PerWindowTest, ::testing::Values("dag", "channel", "async"));

TEST(PerWindowLoad, WithoutAWindowBeforeItABlockingStageIsALoadErrorSayingWhatToDo) {
    test::TempDir dir;
    const std::string p =
        "[global]\nexecution_mode = \"streaming\"\n" +
        stage_toml("in", "stdin.read", "", "format = \"csv\"") +
        stage_toml("f", "filter.apply", "\"in\"", "expression = \"v > 1\"") +
        stage_toml("g", "groupby.apply", "\"f\"",
                   "by = \"k\"\naggregations = [{ operation = \"count\" }]") +
        "\n[[stages]]\nid = \"out\"\nfunction = \"stdout.write\"\ninputs = [\"g\"]\n";
    auto r = test::run_conveyor({"validate", dir.write("p.toml", p)});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'g': function 'groupby.apply' needs its whole input"));
    EXPECT_THAT(r.err, HasSubstr("unless a window.apply comes before it"));
}

TEST(PerWindowLoad, ATransformBetweenTheWindowAndTheStageKeepsItPerWindow) {
    test::TempDir dir;
    const std::string p =
        "[global]\nexecution_mode = \"streaming\"\n" +
        stage_toml("in", "stdin.read", "", "format = \"csv\"") +
        stage_toml("w", "window.apply", "\"in\"", "size = 10") +
        stage_toml("f", "filter.apply", "\"w\"", "expression = \"v > 1\"") +
        stage_toml("g", "groupby.apply", "\"f\"",
                   "by = \"k\"\naggregations = [{ operation = \"count\" }]") +
        "\n[[stages]]\nid = \"out\"\nfunction = \"stdout.write\"\ninputs = [\"g\"]\n";
    auto r = test::run_conveyor({"validate", dir.write("p.toml", p)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(PerWindowLoad, AJoinInAStreamNeedsAWindowBeforeEveryInput) {
    test::TempDir dir;
    const std::string p =
        "[global]\nexecution_mode = \"streaming\"\n" +
        stage_toml("a", "stdin.read", "", "format = \"csv\"") +
        stage_toml("wa", "window.apply", "\"a\"", "size = 10") +
        stage_toml("b", "filter.apply", "\"a\"", "expression = \"v > 1\"") +
        stage_toml("j", "join.apply", "\"wa\", \"b\"", "on = \"k\"") +
        "\n[[stages]]\nid = \"out\"\nfunction = \"stdout.write\"\ninputs = [\"j\"]\n";
    auto r = test::run_conveyor({"validate", dir.write("p.toml", p)});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'j': function 'join.apply' needs its whole input"));
    EXPECT_THAT(r.err, HasSubstr("needs a window.apply before every input (not before 'b')"));
}

// Each window of the left input is joined with the same window (same window_start) of the
// right one: a joined over the whole input, "a" would match two right records.
TEST_P(PerWindowTest, AJoinJoinsEachWindowWithTheSameWindowOfItsOtherInput) {
    const std::string left = dir_.write("left.csv", "k,v\na,1\nb,2\na,3\nc,4\n");
    const std::string right = dir_.write("right.csv", "k,name\na,A0\nc,C0\na,A1\nb,B1\n");
    for (const std::string type : {"inner", "left", "right"}) {
        const std::string out = dir_.file(type + ".jsonl");
        const std::string p =
            global() + stage_toml("l", "csv.read", "", "path = \"" + left + "\"") +
            stage_toml("r", "csv.read", "", "path = \"" + right + "\"") +
            stage_toml("wl", "window.apply", "\"l\"", "size = 2") +
            stage_toml("wr", "window.apply", "\"r\"", "size = 2") +
            stage_toml("j", "join.apply", "\"wl\", \"wr\"", "on = \"k\"\ntype = \"" + type + "\"") +
            stage_toml("s", "select.apply", "\"j\"",
                       "columns = [\"k\", \"v\", \"name\", \"window_start\", "
                       "\"window_start_right\"]") +
            stage_toml("o", "json.write", "\"s\"", "path = \"" + out + "\"");
        auto r = test::run_conveyor({"run", dir_.write("p.toml", p), "-q"});
        ASSERT_EQ(r.exit_code, 0) << type << ": " << r.err;
        std::string want;
        if (type == "inner")
            want = R"({"k":"a","v":1,"name":"A0","window_start":0,"window_start_right":0})"
                   "\n"
                   R"({"k":"a","v":3,"name":"A1","window_start":2,"window_start_right":2})"
                   "\n";
        else if (type == "left")
            want = R"({"k":"a","v":1,"name":"A0","window_start":0,"window_start_right":0})"
                   "\n"
                   R"({"k":"b","v":2,"name":null,"window_start":0,"window_start_right":null})"
                   "\n"
                   R"({"k":"a","v":3,"name":"A1","window_start":2,"window_start_right":2})"
                   "\n"
                   R"({"k":"c","v":4,"name":null,"window_start":2,"window_start_right":null})"
                   "\n";
        else
            want = R"({"k":"a","v":1,"name":"A0","window_start":0,"window_start_right":0})"
                   "\n"
                   R"({"k":"c","v":null,"name":"C0","window_start":null,"window_start_right":0})"
                   "\n"
                   R"({"k":"a","v":3,"name":"A1","window_start":2,"window_start_right":2})"
                   "\n"
                   R"({"k":"b","v":null,"name":"B1","window_start":null,"window_start_right":2})"
                   "\n";
        EXPECT_EQ(test::read_file(out), want) << type;
    }
}

// One stream split in two and joined back, window by window: a window's joined records come
// out when it closes, while the input goes on (a window with records on one side only still
// gives that side's records to a left join).
TEST_P(PerWindowTest, AJoinedWindowComesOutWhenItClosesWhileTheInputGoesOn) {
    const std::string p =
        global() + stage_toml("in", "stdin.read", "", "format = \"csv\"") +
        stage_toml("w", "window.apply", "\"in\"", "size = 2") +
        stage_toml("l", "filter.apply", "\"w\"", "expression = 'side == \"L\"'") +
        stage_toml("r", "filter.apply", "\"w\"", "expression = 'side == \"R\"'") +
        stage_toml("j", "join.apply", "\"l\", \"r\"", "on = \"k\"\ntype = \"left\"") +
        stage_toml("s", "select.apply", "\"j\"", "columns = [\"k\", \"v\", \"v_right\"]") +
        "\n[[stages]]\nid = \"out\"\nfunction = \"stdout.write\"\ninputs = [\"s\"]\n";
    auto child = test::spawn_conveyor({"run", dir_.write("p.toml", p)});
    child->write_stdin("side,k,v\nL,a,1\nR,a,10\n");
    EXPECT_EQ(child->read_line(20s), R"({"k":"a","v":1,"v_right":10})");
    child->write_stdin("L,b,2\nL,a,3\n");
    // No right record in this window: no right field either (a schema-less stream).
    EXPECT_EQ(child->read_line(20s), R"({"k":"b","v":2})");
    EXPECT_EQ(child->read_line(20s), R"({"k":"a","v":3})");
    child->write_stdin("R,b,20\n");
    child->close_stdin();
    auto r = child->wait();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "") << "a right record without a left one gives nothing in a left join";
}

} // namespace
} // namespace conveyor
