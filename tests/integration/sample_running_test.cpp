// sample.apply (reproducible with a seed, exact counts, fraction roughly kept) and
// running.apply (running aggregates, row numbers, lag, lead and delta per partition) under
// every executor.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <sstream>
#include <vector>

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
        const std::string file =
            dir.write("p.toml", csv_through(in, "sample.apply", "count = 100\nseed = 42",
                                            dir.file("out.csv"), global));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const std::string out = test::read_file(dir.file("out.csv"));
        EXPECT_EQ(line_count(out), 101u);
        if (run == 0)
            first = out;
        else
            EXPECT_EQ(out, first);
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
    const std::string file =
        dir.write("f.toml", csv_through(in, "sample.apply", "fraction = 0.2\nseed = 7",
                                        dir.file("f.csv"), global));
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

TEST_P(SampleRunningTest, FillDownGivesBlanksTheLastValueOfTheirPartition) {
    // A report exported with each group's name on its first row only (mlr fill-down -a). Values
    // are carried over batches (batch_size 2) and never across partitions.
    test::TempDir dir;
    const std::string in = dir.write(
        "in.csv", "region,city,n\nEU,Paris,1\n,Lyon,2\n,,3\nUS,Boston,4\n,,5\n,Austin,6\n");
    const std::string file = dir.write(
        "p.toml",
        csv_through(in, "running.apply",
                    "operations = [\n"
                    "  { column = \"region\", operation = \"fill_down\", output_column = "
                    "\"region\" },\n"
                    "  { column = \"city\", operation = \"fill_down\" },\n"
                    "]",
                    dir.file("out.csv"), "executor = \"" + GetParam() + "\"\nbatch_size = 2\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "region,city,n,city_fill_down\n"
                                                    "EU,Paris,1,Paris\n"
                                                    "EU,Lyon,2,Lyon\n"
                                                    "EU,,3,Lyon\n"
                                                    "US,Boston,4,Boston\n"
                                                    "US,,5,Boston\n"
                                                    "US,Austin,6,Austin\n");
    const std::string blanks = dir.write("blank.csv", "region,city\nEU,\nEU,Nice\nUS,\n");
    const std::string by_region = dir.write(
        "q.toml", csv_through(blanks, "running.apply",
                              "by = \"region\"\noperations = [{ column = \"city\", operation = "
                              "\"fill_down\", output_column = \"city\" }]",
                              dir.file("out2.csv"), "executor = \"" + GetParam() + "\"\n"));
    r = run_conveyor({"run", by_region, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Nothing before the first value, and US does not take EU's.
    EXPECT_EQ(test::read_file(dir.file("out2.csv")), "region,city\nEU,\nEU,Nice\nUS,\n");
}

TEST_P(SampleRunningTest, RatioFromFirstAndEwmaPerPartitionAsMillersStep) {
    // `mlr step -a ratio,from-first,ewma -d 0.5 -f x -g g`, over batches of 2 (ewma gives
    // Miller's digits, 1.2000000000000002 too): a blank has no ratio and breaks the next one;
    // ewma and from_first skip it (Miller's ewma stops there).
    test::TempDir dir;
    const std::string in =
        dir.write("in.csv", "g,x\na,1\nb,10\na,3\na,6\nb,5\na,\na,10\nb,0\nb,4\n");
    const std::string file =
        dir.write("p.toml", csv_through(in, "running.apply",
                                        "by = [\"g\"]\noperations = [\n"
                                        "  { column = \"x\", operation = \"ratio\" },\n"
                                        "  { column = \"x\", operation = \"from_first\" },\n"
                                        "  { column = \"x\", operation = \"ewma\" },\n"
                                        "  { column = \"x\", operation = \"ewma\", alpha = 0.1, "
                                        "output_column = \"slow\" },\n]",
                                        dir.file("out.csv"),
                                        "executor = \"" + GetParam() + "\"\nbatch_size = 2\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "g,x,x_ratio,x_from_first,x_ewma,slow\n"
                                                    "a,1,,0,1.0,1.0\n"
                                                    "b,10,,0,10.0,10.0\n"
                                                    "a,3,3.0,2,2.0,1.2000000000000002\n"
                                                    "a,6,2.0,5,4.0,1.6800000000000004\n"
                                                    "b,5,0.5,-5,7.5,9.5\n"
                                                    "a,,,,4.0,1.6800000000000004\n"
                                                    "a,10,,9,7.0,2.5120000000000005\n"
                                                    "b,0,0.0,-10,3.75,8.55\n"
                                                    "b,4,,-6,3.875,8.095\n");
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

TEST_P(SampleRunningTest, RunningOperationsEqualANaiveComputationOnRandomData) {
    // Property: per partition, each operation equals what a loop over the partition's records
    // in input order computes.
    std::mt19937 rng(GetParam().size());
    struct Row {
        int id;
        std::string part;
        long amount;
    };
    std::vector<Row> rows;
    std::string csv = "id,part,amount\n";
    for (int i = 1; i <= 3000; ++i) {
        rows.push_back({i, std::string(1, static_cast<char>('a' + rng() % 7)),
                        static_cast<long>(rng() % 2001) - 1000});
        csv += std::to_string(i) + "," + rows.back().part + "," +
               std::to_string(rows.back().amount) + "\n";
    }
    struct State {
        long sum = 0, count = 0, min = 0, max = 0, prev_amount = 0;
        int prev_id = 0;
    };
    std::map<std::string, State> state;
    std::map<std::string, std::vector<std::size_t>> members;
    for (std::size_t r = 0; r < rows.size(); ++r)
        members[rows[r].part].push_back(r);
    std::vector<int> lead(rows.size(), 0);
    for (const auto& [part, idx] : members)
        for (std::size_t k = 0; k + 1 < idx.size(); ++k)
            lead[idx[k]] = rows[idx[k + 1]].id;
    std::string want = "id,part,amount,sum,count,min,max,n,lag,lead,delta\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const Row& row = rows[r];
        State& st = state[row.part];
        const bool first = st.count == 0;
        st.sum += row.amount;
        st.min = first ? row.amount : std::min(st.min, row.amount);
        st.max = first ? row.amount : std::max(st.max, row.amount);
        ++st.count;
        auto opt = [](bool has, long v) { return has ? std::to_string(v) : std::string(); };
        want += std::to_string(row.id) + "," + row.part + "," + std::to_string(row.amount) + "," +
                std::to_string(st.sum) + "," + std::to_string(st.count) + "," +
                std::to_string(st.min) + "," + std::to_string(st.max) + "," +
                std::to_string(st.count) + "," + opt(!first, st.prev_id) + "," +
                opt(lead[r] != 0, lead[r]) + "," + opt(!first, row.amount - st.prev_amount) + "\n";
        st.prev_id = row.id;
        st.prev_amount = row.amount;
    }
    test::TempDir dir;
    const std::string in = dir.write("in.csv", csv);
    const std::string file = dir.write(
        "p.toml",
        csv_through(
            in, "running.apply",
            "by = \"part\"\noperations = [\n"
            "  { column = \"amount\", operation = \"running_sum\", output_column = \"sum\" },\n"
            "  { column = \"amount\", operation = \"running_count\", output_column = \"count\" },\n"
            "  { column = \"amount\", operation = \"running_min\", output_column = \"min\" },\n"
            "  { column = \"amount\", operation = \"running_max\", output_column = \"max\" },\n"
            "  { operation = \"row_number\", output_column = \"n\" },\n"
            "  { column = \"id\", operation = \"lag\", output_column = \"lag\" },\n"
            "  { column = \"id\", operation = \"lead\", output_column = \"lead\" },\n"
            "  { column = \"amount\", operation = \"delta\", output_column = \"delta\" },\n"
            "]",
            dir.file("out.csv"), "executor = \"" + GetParam() + "\"\nbatch_size = 64\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), want);
}

TEST_P(SampleRunningTest, ASampleIsASubsetOfItsInputInOrderForEverySeed) {
    // Property: for any seed, a count sample has exactly min(count, n) distinct input records
    // in input order, and a fraction sample is a subsequence of the input.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(700));
    const std::string input = test::read_file(in);
    for (int seed = 1; seed <= 4; ++seed)
        for (const std::string config : {"count = 50", "count = 1000", "fraction = 0.3"}) {
            const std::string file = dir.write(
                "p.toml",
                csv_through(in, "sample.apply", config + "\nseed = " + std::to_string(seed),
                            dir.file("out.csv"),
                            "executor = \"" + GetParam() + "\"\nbatch_size = 64\n"));
            auto r = run_conveyor({"run", file, "-q"});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            const std::string out = test::read_file(dir.file("out.csv"));
            std::istringstream got(out);
            std::istringstream all(input);
            std::string line, from;
            std::size_t n = 0;
            bool subsequence = true;
            while (std::getline(got, line)) {
                ++n;
                while (std::getline(all, from) && from != line) {
                }
                if (from != line) subsequence = false;
            }
            EXPECT_TRUE(subsequence) << config << " seed " << seed;
            if (config == "count = 50") {
                EXPECT_EQ(n, 51u) << seed;
            }
            if (config == "count = 1000") {
                EXPECT_EQ(n, 701u) << seed;
            }
        }
}

INSTANTIATE_TEST_SUITE_P(Executors, SampleRunningTest,
                         ::testing::Values("dag", "channel", "async"));

TEST_P(SampleRunningTest, ARecordGoesOutOnceItsLeadHasComeNotAtTheEndOfTheInput) {
    // A stage with lead held its whole input and put it out at the end: in streaming mode
    // nothing came out while the input stayed open, and memory grew with the input. Now a
    // record goes out once the record `offset` ahead in its partition has come; the records
    // after it wait with it (output keeps input order).
    using namespace std::chrono_literals;
    test::TempDir dir;
    const std::string file = dir.write(
        "p.toml", "[pipeline]\nname = \"leads\"\n"
                  "[global]\nexecution_mode = \"streaming\"\nexecutor = \"" +
                      GetParam() +
                      "\"\n"
                      "[[stages]]\nid = \"in\"\nfunction = \"stdin.read\"\n"
                      "[[stages]]\nid = \"next\"\nfunction = \"running.apply\"\n"
                      "inputs = [\"in\"]\n[stages.config]\noperations = [\n"
                      "  { column = \"id\", operation = \"lead\", output_column = \"next\" },\n"
                      "  { column = \"id\", operation = \"lead\", output_column = \"same\" },\n"
                      "]\n"
                      "[[stages]]\nid = \"out\"\nfunction = \"stdout.write\"\n"
                      "inputs = [\"next\"]\n[stages.config]\nformat = \"jsonl\"\n");
    // "same" is the lead within the record's partition: a copy of the stage with `by`.
    std::string by = test::read_file(file);
    by.replace(by.find("operations = [\n  { column = \"id\", operation = \"lead\", "
                       "output_column = \"next\" },\n"),
               0, "by = \"k\"\n");
    by.replace(by.find("  { column = \"id\", operation = \"lead\", output_column = \"next\" "
                       "},\n"),
               std::string("  { column = \"id\", operation = \"lead\", output_column = \"next\" "
                           "},\n")
                   .size(),
               "");
    const std::string by_file = dir.write("by.toml", by);
    {
        auto child = test::spawn_conveyor({"run", file, "-q"});
        child->write_stdin("{\"id\":1,\"k\":\"a\"}\n{\"id\":2,\"k\":\"b\"}\n");
        EXPECT_EQ(child->read_line(30s), R"({"id":1,"k":"a","next":2,"same":2})");
        child->write_stdin("{\"id\":3,\"k\":\"a\"}\n");
        EXPECT_EQ(child->read_line(30s), R"({"id":2,"k":"b","next":3,"same":3})");
        child->close_stdin();
        EXPECT_EQ(child->read_line(30s), R"({"id":3,"k":"a","next":null,"same":null})");
        EXPECT_EQ(child->wait().exit_code, 0);
    }
    {
        auto child = test::spawn_conveyor({"run", by_file, "-q"});
        // a1 waits for a3; b2 waits for b4, and a3 (complete at a5) waits behind it.
        child->write_stdin("{\"id\":1,\"k\":\"a\"}\n{\"id\":2,\"k\":\"b\"}\n"
                           "{\"id\":3,\"k\":\"a\"}\n");
        EXPECT_EQ(child->read_line(30s), R"({"id":1,"k":"a","same":3})");
        child->write_stdin("{\"id\":4,\"k\":\"b\"}\n");
        EXPECT_EQ(child->read_line(30s), R"({"id":2,"k":"b","same":4})");
        child->close_stdin();
        EXPECT_EQ(child->read_line(30s), R"({"id":3,"k":"a","same":null})");
        EXPECT_EQ(child->read_line(30s), R"({"id":4,"k":"b","same":null})");
        EXPECT_EQ(child->wait().exit_code, 0);
    }
}

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
        {{"running.apply", "operations = [{ column = \"id\", operation = \"ewma\", alpha = 0 }]"},
         "alpha must be a number above 0 and at most 1"},
        {{"running.apply", "operations = [{ column = \"id\", operation = \"ewma\", alph = 0.3 }]"},
         "did you mean 'alpha'?"},
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
