// `conveyor validate` opens sources over regular files and the transforms after them (never a
// sink, never standard input) to report what only the input shows: a column an expression or
// an option names that is not in the CSV header.

#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

std::string csv_pipeline(const std::string& in, const std::string& transform,
                         const std::string& out) {
    return "[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\ninputs = []\n[stages.config]\n"
           "path = \"" +
           in + "\"\n\n[[stages]]\nid = \"t\"\ninputs = [\"in\"]\n" + transform +
           "\n[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"t\"]\n"
           "[stages.config]\npath = \"" +
           out + "\"\n";
}

TEST(ValidateProbe, AMisspeltFieldInAnExpressionOverACsvHeaderIsReportedWithACaret) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount,country\n1,5,DE\n");
    const std::string file = dir.write(
        "p.toml", csv_pipeline(in,
                               "function = \"filter.apply\"\n[stages.config]\nexpression = "
                               "\"amout >= 1000 and country == 'DE'\"\n",
                               dir.file("out.csv")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("p.toml:8:1: error: stage 't': expression: unknown field "
                                 "'amout' (did you mean 'amount'?)"));
    EXPECT_THAT(r.err, HasSubstr("\n    ^^^^^\n"));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv"))) << "validate writes nothing";
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"in.csv", "p.toml"}))
        << "no temporary file either";
}

TEST(ValidateProbe, RunLocatesAColumnNotInTheHeaderAtItsStageAsValidateDoes) {
    // The run finds the same problem when the stage opens, before any row is read; it names the
    // file and the stage's line as validate does, not just "conveyor: error:".
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount,country\n1,5,DE\n");
    const std::string file = dir.write(
        "p.toml", csv_pipeline(in,
                               "function = \"map.apply\"\n[stages.config]\ncolumns = { x = "
                               "\"amout + 1\" }\n",
                               dir.file("out.csv")));
    const std::string want =
        "p.toml:8:1: error: stage 't': columns.x: unknown field 'amout' (did you mean 'amount'?)";
    auto validated = run_conveyor({"validate", file});
    EXPECT_EQ(validated.exit_code, 78);
    EXPECT_THAT(validated.err, HasSubstr(want));
    auto ran = run_conveyor({"run", file});
    EXPECT_EQ(ran.exit_code, 78);
    EXPECT_THAT(ran.err, HasSubstr(want));
    EXPECT_THAT(ran.err, HasSubstr("\n    amout + 1\n    ^^^^^\n"));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(ValidateProbe, AMissingColumnOfAnOptionIsReportedToo) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount\n1,5\n");
    const std::string file = dir.write(
        "p.toml", csv_pipeline(in,
                               "function = \"rename.apply\"\n[stages.config]\ncolumns = { amt = "
                               "\"total\" }\n",
                               dir.file("out.csv")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 't': "));
    EXPECT_THAT(r.err, HasSubstr("'amt'"));
}

TEST(ValidateProbe, ACorrectPipelineIsOkAndAMissingInputFileIsNotAConfigProblem) {
    test::TempDir dir;
    const std::string good = dir.write("in.csv", "id,amount\n1,5\n");
    const std::string filter =
        "function = \"filter.apply\"\n[stages.config]\nexpression = \"amount > 1\"\n";
    auto ok = run_conveyor(
        {"validate", dir.write("p.toml", csv_pipeline(good, filter, dir.file("o.csv")))});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_THAT(ok.out, HasSubstr("OK"));
    // The input may be made later (by the job before this one): validate checks the file.
    auto later = run_conveyor(
        {"validate", dir.write("q.toml", csv_pipeline(dir.file("later.csv"), filter, "o.csv"))});
    EXPECT_EQ(later.exit_code, 0) << later.err;
}

TEST(ValidateProbe, StandardInputIsNeverRead) {
    test::TempDir dir;
    const std::string file = dir.write(
        "p.toml", csv_pipeline("-",
                               "function = \"filter.apply\"\n[stages.config]\nexpression = "
                               "\"nope > 1\"\n",
                               dir.file("out.csv")));
    auto child = test::spawn_conveyor({"validate", file}, {});
    // stdin stays open and empty: a validate that read it would never end.
    const auto r = child->wait(std::chrono::seconds(20));
    EXPECT_EQ(r.exit_code, 0) << "the columns of standard input are unknown until the run: "
                              << r.err;
}

} // namespace
} // namespace conveyor
