// sample.apply (reproducible with a seed, exact counts, fraction roughly kept) and
// running.apply (running aggregates, row numbers, lag, lead and delta per partition) under
// every executor.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>

namespace conveyor {
namespace {

using test::csv_through;
using test::run_conveyor;
using ::testing::HasSubstr;

std::size_t line_count(const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

class SampleRunningTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SampleRunningTest, ASeededSampleIsReproducibleAndACountIsExactInInputOrder) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(5000));
    const std::string global = "executor = \"" + GetParam() + "\"\n";
    std::string first;
    for (int run = 0; run < 2; ++run) {
        const std::string file = dir.write(
            "p.toml", csv_through(in, "sample.apply", "count = 100\nseed = 42",
                                  dir.file("out.csv"), global));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const std::string out = test::read_file(dir.file("out.csv"));
        EXPECT_EQ(line_count(out), 101u);
        if (run == 0) first = out;
        else EXPECT_EQ(out, first);
        // Input order: ids ascending.
        std::istringstream lines(out);
        std::string line;
        std::getline(lines, line);
        int last = 0;
        while (std::getline(lines, line)) {
            const int id = std::stoi(line.substr(0, line.find(',')));
            EXPECT_GT(id, last);
            last = id;
        }
    }
    const std::string file = dir.write(
        "f.toml",
        csv_through(in, "sample.apply", "fraction = 0.2\nseed = 7", dir.file("f.csv"), global));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::size_t kept = line_count(test::read_file(dir.file("f.csv"))) - 1;
    EXPECT_GT(kept, 850u); // 1000 expected; 5 standard deviations either side
    EXPECT_LT(kept, 1150u);
}

TEST_P(SampleRunningTest, RunningTotalsAndNeighboursPerPartition) {
    test::TempDir dir;
    const std::string in =
        dir.write("in.csv", "id,cust,amount\n1,a,10\n2,b,5\n3,a,\n4,a,20\n5,b,7\n6,c,1\n");
    const std::string file = dir.write(
        "p.toml",
        csv_through(in, "running.apply",
                    "by = \"cust\"\noperations = [\n"
                    "  { column = \"amount\", operation = \"running_sum\", output_column = "
                    "\"balance\" },\n"
                    "  { operation = \"row_number\", output_column = \"n\" },\n"
                    "  { column = \"id\", operation = \"lag\" },\n"
                    "  { column = \"id\", operation = \"lead\" },\n"
                    "  { column = \"amount\", operation = \"delta\" },\n"
                    "  { column = \"amount\", operation = \"running_max\", output_column = "
                    "\"top\" },\n"
                    "]",
                    dir.file("out.csv"), "executor = \"" + GetParam() + "\"\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "id,cust,amount,balance,n,id_lag,id_lead,amount_delta,top\n"
              "1,a,10,10,1,,3,,10\n"
              "2,b,5,5,1,,5,,5\n"
              "3,a,,10,2,1,4,,10\n"
              "4,a,20,30,3,3,,,20\n"
              "5,b,7,12,2,2,,2,7\n"
              "6,c,1,1,1,,,,1\n");
}

TEST_P(SampleRunningTest, ARecordThatFailsCountsInNoRunningTotal) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount\n1,10\n2,oops\n3,5\n");
    const std::string file = dir.write(
        "p.toml", "[error_handling]\nstrategy = \"continue\"\n" +
                      csv_through(in, "running.apply",
                                  "operations = [{ operation = \"row_number\" }, { column = "
                                  "\"amount\", operation = \"running_sum\" }]",
                                  dir.file("out.csv"), "executor = \"" + GetParam() + "\"\n"));
    auto r = run_conveyor({"run", file, "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "id,amount,row_number,amount_running_sum\n1,10,1,10\n3,5,2,15\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, SampleRunningTest,
                         ::testing::Values("dag", "channel", "async"));

TEST(SampleRunningRun, BadOptionsAreLoadErrors) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(3));
    const std::pair<std::pair<std::string, std::string>, std::string> cases[] = {
        {{"sample.apply", "seed = 1"}, "exactly one of 'fraction'"},
        {{"sample.apply", "fraction = 0.5\ncount = 3"}, "exactly one of 'fraction'"},
        {{"sample.apply", "fraction = 1.5"}, "fraction"},
        {{"running.apply", "operations = [{ column = \"id\", operation = \"running_summ\" }]"},
         "did you mean 'running_sum'?"},
        {{"running.apply", "operations = [{ operation = \"lag\" }]"}, "needs a column"},
    };
    for (const auto& [fn, message] : cases) {
        const std::string file =
            dir.write("p.toml", csv_through(in, fn.first, fn.second, dir.file("out.csv")));
        auto r = run_conveyor({"run", file});
        EXPECT_EQ(r.exit_code, 78) << fn.second << "\n" << r.err;
        EXPECT_THAT(r.err, HasSubstr("step")) << fn.second;
        EXPECT_THAT(r.err, HasSubstr(message)) << fn.second;
    }
}

} // namespace
} // namespace conveyor
