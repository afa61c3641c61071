// groupby.apply and reduce.apply: golden output under every executor, sums, counts, minima
// and maxima equal to a naive map over random input (in memory, and with a memory_limit so
// small that the groups spill to partitions), load errors
// naming stage and key, and record errors following the error strategy.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <random>

namespace conveyor {
namespace {

using test::csv_through;
using test::run_conveyor;
using ::testing::HasSubstr;

constexpr const char* kOrders = "id,country,category,amount\n1,FR,a,10\n2,DE,b,5\n3,FR,a,\n"
                                "4,DE,a,20\n5,FR,b,10.5\n6,US,a,7\n7,DE,b,5\n";

class GroupByTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GroupByTest, PutsOutOneRecordPerGroupWithEveryAggregationInFirstAppearanceOrder) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", kOrders);
    const std::string file = dir.write(
        "p.toml",
        csv_through(in, "groupby.apply",
                    "by = \"country\"\naggregations = [\n"
                    "  { operation = \"count\" },\n"
                    "  { column = \"amount\", operation = \"sum\", output_column = \"total\" },\n"
                    "  { column = \"amount\", operation = \"avg\" },\n"
                    "  { column = \"amount\", operation = \"min\" },\n"
                    "  { column = \"amount\", operation = \"max\" },\n"
                    "  { column = \"amount\", operation = \"median\" },\n"
                    "  { column = \"category\", operation = \"count_distinct\" },\n"
                    "  { column = \"id\", operation = \"first\" },\n"
                    "  { column = \"id\", operation = \"last\" },\n"
                    "]",
                    dir.file("out.csv"), "executor = \"" + GetParam() + "\"\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "country,count,total,amount_avg,amount_min,amount_max,amount_median,"
              "category_count_distinct,id_first,id_last\n"
              "FR,3,20.5,10.25,10,10.5,10.25,2,1,5\n"
              "DE,3,30,10.0,5,20,5.0,2,2,7\n"
              "US,1,7,7.0,7,7,7.0,1,6,6\n");
}

TEST_P(GroupByTest, GroupsByTwoKeysSortedOnRequestAndCollectsLists) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", kOrders);
    const std::string file =
        dir.write("p.toml", "[global]\nexecutor = \"" + GetParam() + "\"\n" +
                                test::stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                                test::stage_toml("g", "groupby.apply", "\"in\"",
                                                 "by = [\"country\", \"category\"]\nsorted = true\n"
                                                 "aggregations = [{ column = \"id\", operation = "
                                                 "\"collect\", output_column = \"ids\" }]") +
                                test::stage_toml("out", "json.write", "\"g\"",
                                                 "path = \"" + dir.file("out.jsonl") + "\""));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"country\":\"DE\",\"category\":\"a\",\"ids\":[4]}\n"
              "{\"country\":\"DE\",\"category\":\"b\",\"ids\":[2,7]}\n"
              "{\"country\":\"FR\",\"category\":\"a\",\"ids\":[1,3]}\n"
              "{\"country\":\"FR\",\"category\":\"b\",\"ids\":[5]}\n"
              "{\"country\":\"US\",\"category\":\"a\",\"ids\":[6]}\n");
}

TEST_P(GroupByTest, ReduceKeepsTheEarlierToolsOptionsAndGivesOneRecord) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", kOrders);
    const std::string file = dir.write(
        "p.toml", csv_through(in, "reduce.apply",
                              "column = \"amount\"\noperation = \"sum\"\noutput_column = \"total\"",
                              dir.file("out.csv"), "executor = \"" + GetParam() + "\"\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "total\n57.5\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, GroupByTest, ::testing::Values("dag", "channel", "async"));

TEST(GroupByRun, AWholeInputAggregationOfNoRecordsIsOneRecord) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount\n");
    const std::string file = dir.write(
        "p.toml", csv_through(in, "groupby.apply",
                              "aggregations = [{ operation = \"count\" }, { column = \"amount\", "
                              "operation = \"avg\" }]",
                              dir.file("out.csv")));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "count,amount_avg\n0,\n");
}

struct Agg {
    std::int64_t count = 0;
    std::int64_t sum = 0;
    std::optional<int> min, max;
    int first_id = -1;
};

TEST(GroupByRun, RandomInputGivesTheSumsOfANaiveMapInMemoryAndSpilled) {
    std::mt19937 rng(11);
    std::string csv = "id,k1,k2,v\n";
    std::vector<std::pair<std::string, Agg>> want; // in first-appearance order
    std::map<std::string, std::size_t> index;
    for (int i = 0; i < 60000; ++i) {
        const std::string k1 = rng() % 20 == 0 ? "" : std::to_string(rng() % 3000);
        const std::string k2 = std::string(1, static_cast<char>('a' + rng() % 3));
        const int v = static_cast<int>(rng() % 1000) - 500;
        csv += std::to_string(i) + "," + k1 + "," + k2 + "," + std::to_string(v) + "\n";
        const std::string key = k1 + "," + k2;
        auto [it, inserted] = index.try_emplace(key, want.size());
        if (inserted) want.emplace_back(key, Agg{});
        Agg& a = want[it->second].second;
        if (a.first_id < 0) a.first_id = i;
        ++a.count;
        a.sum += v;
        a.min = a.min ? std::min(*a.min, v) : v;
        a.max = a.max ? std::max(*a.max, v) : v;
    }
    std::string expected = "k1,k2,count,v_sum,v_min,v_max,id_first\n";
    for (const auto& [key, a] : want)
        expected += key + "," + std::to_string(a.count) + "," + std::to_string(a.sum) + "," +
                    std::to_string(*a.min) + "," + std::to_string(*a.max) + "," +
                    std::to_string(a.first_id) + "\n";
    for (const std::string limit : {"", "256KiB", "16KiB"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", csv);
        const std::string global =
            (limit.empty() ? std::string() : "memory_limit = \"" + limit + "\"\n") +
            "state_dir = \"" + dir.file("state") + "\"\n";
        const std::string file = dir.write(
            "p.toml", csv_through(in, "groupby.apply",
                                  "by = [\"k1\", \"k2\"]\naggregations = [{ operation = "
                                  "\"count\" }, { column = \"v\", operation = \"sum\" }, { column "
                                  "= \"v\", operation = \"min\" }, { column = \"v\", operation = "
                                  "\"max\" }, { column = \"id\", operation = \"first\" }]",
                                  dir.file("out.csv"), global));
        auto r = run_conveyor({"run", file});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.csv")), expected) << "memory_limit " << limit;
        if (!limit.empty()) {
            EXPECT_THAT(r.err, HasSubstr("spilled to"));
        }
        EXPECT_EQ(test::count_files(dir.file("state")), 0u) << "no spill file is left";
    }
}

TEST(GroupByRun, BadOptionsAreLoadErrorsNamingStageAndKey) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", kOrders);
    struct Case {
        std::string config;
        std::string message;
    };
    const Case cases[] = {
        {"by = \"country\"\naggregations = [{ column = \"amount\", operation = \"summ\" }]",
         "unknown operation 'summ' (did you mean 'sum'?)"},
        {"by = \"country\"\naggregations = [{ column = \"amount\", operation = \"p90\", p = "
         "0.5 }]",
         "operation 'p90' is the percentile p = 0.9, and p says otherwise"},
        {"by = \"country\"\naggregations = [{ column = \"amount\" }]", "names no operation"},
        {"by = \"country\"\naggregations = [{ operation = \"sum\" }]", "needs a column"},
        {"by = \"contry\"\naggregations = [{ operation = \"count\" }]",
         "field 'contry' is not in the input (did you mean 'country'?)"},
        {"by = \"country\"\naggregations = [{ column = \"amount\", operation = \"sum\", "
         "output_column = \"country\" }]",
         "two output columns are named 'country'"},
        {"by = \"country\"", "aggregations"},
        // pandas' agg dict: the message shows the form that is taken.
        {"by = \"country\"\naggregations = { amount = \"sum\" }",
         "not a table (for example [{ column = \"amount\", operation = \"sum\""},
    };
    for (const Case& c : cases) {
        const std::string file =
            dir.write("p.toml", csv_through(in, "groupby.apply", c.config, dir.file("out.csv")));
        auto r = run_conveyor({"run", file});
        EXPECT_EQ(r.exit_code, 78) << c.config << "\n" << r.err;
        EXPECT_THAT(r.err, HasSubstr("step")) << c.config;
        EXPECT_THAT(r.err, HasSubstr(c.message)) << c.config;
        EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
    }
}

TEST(GroupByRun, AValueThatIsNotANumberIsARecordErrorUnderTheStrategy) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "k,v\na,1\na,oops\nb,2\nc,oops\n");
    const std::string config = "by = \"k\"\naggregations = [{ operation = \"count\" }, { column = "
                               "\"v\", operation = \"sum\" }]";
    const std::string stop =
        dir.write("stop.toml", csv_through(in, "groupby.apply", config, dir.file("out.csv")));
    auto r = run_conveyor({"run", stop});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("'v' holds \"oops\", not a number"));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));

    const std::string go =
        dir.write("go.toml", "[error_handling]\nstrategy = \"continue\"\n" +
                                 csv_through(in, "groupby.apply", config, dir.file("out.csv")));
    r = run_conveyor({"run", go, "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err; // completed, with a record left out
    // The records left out count nowhere: not in a's count, and c has no group.
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "k,count,v_sum\na,1,1\nb,1,2\n");
}

} // namespace
} // namespace conveyor
