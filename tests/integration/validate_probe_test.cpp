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
    // At the expression (line 13, column 14), not at the stage's [[stages]] line (8).
    EXPECT_THAT(r.err, HasSubstr("p.toml:13:14: error: stage 't': expression: unknown field "
                                 "'amout' (did you mean 'amount'?)"));
    EXPECT_THAT(r.err, HasSubstr("\n    ^^^^^\n"));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv"))) << "validate writes nothing";
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"in.csv", "p.toml"}))
        << "no temporary file either";
}

TEST(ValidateProbe, RunLocatesAColumnNotInTheHeaderAtItsStageAsValidateDoes) {
    // The run finds the same problem when the stage opens, before any row is read; it names the
    // file and the option's line as validate does, not just "conveyor: error:".
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount,country\n1,5,DE\n");
    const std::string file = dir.write(
        "p.toml", csv_pipeline(in,
                               "function = \"map.apply\"\n[stages.config]\ncolumns = { x = "
                               "\"amout + 1\" }\n",
                               dir.file("out.csv")));
    const std::string want =
        "p.toml:13:11: error: stage 't': columns.x: unknown field 'amout' (did you mean "
        "'amount'?)";
    auto validated = run_conveyor({"validate", file});
    EXPECT_EQ(validated.exit_code, 78);
    EXPECT_THAT(validated.err, HasSubstr(want));
    auto ran = run_conveyor({"run", file});
    EXPECT_EQ(ran.exit_code, 78);
    EXPECT_THAT(ran.err, HasSubstr(want));
    EXPECT_THAT(ran.err, HasSubstr("\n    amout + 1\n    ^^^^^\n"));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

/// What `conveyor validate` and `conveyor run` print first on standard error for `file`.
std::pair<std::string, std::string> validated_and_ran(const std::string& file) {
    auto validated = run_conveyor({"validate", file});
    auto ran = run_conveyor({"run", "-q", file});
    EXPECT_EQ(validated.exit_code, 78) << validated.err;
    EXPECT_EQ(ran.exit_code, 78) << ran.err;
    const auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };
    return {first_line(validated.err), first_line(ran.err)};
}

TEST(ValidateProbe, AColumnAnOptionNamesIsLocatedAtTheOptionByValidateAndRun) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,name,amount\n1,a,5\n");
    // The stage's [[stages]] is line 8, its options start on line 13.
    const std::string select = dir.write(
        "select.toml",
        csv_pipeline(in,
                     "function = \"select.apply\"\n[stages.config]\ncolumns = [\"id\", \"nmae\"]\n",
                     dir.file("out.csv")));
    const std::string want_select = select + ":13:11: error: stage 't': columns: field 'nmae' is "
                                             "not in the input (columns: id, name, amount) (did "
                                             "you mean 'name'?)";
    EXPECT_EQ(validated_and_ran(select), std::pair(want_select, want_select));

    const std::string sort = dir.write(
        "sort.toml", csv_pipeline(in,
                                  "function = \"sort.apply\"\n[stages.config]\ndescending = true\n"
                                  "by = [\"amout\"]\n",
                                  dir.file("out.csv")));
    const std::string want_sort = sort + ":14:6: error: stage 't': by: field 'amout' is not in "
                                         "the input (did you mean 'amount'?)";
    EXPECT_EQ(validated_and_ran(sort), std::pair(want_sort, want_sort));

    const std::string filter =
        dir.write("filter.toml", csv_pipeline(in,
                                              "function = \"filter.apply\"\n[stages.config]\n"
                                              "operator = \">\"\nvalue = 1\ncolumn = \"amout\"\n",
                                              dir.file("out.csv")));
    const std::string want_filter = filter + ":15:10: error: stage 't': column: field 'amout' is "
                                             "not in the input (columns: id, name, amount) (did "
                                             "you mean 'amount'?)";
    EXPECT_EQ(validated_and_ran(filter), std::pair(want_filter, want_filter));
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
