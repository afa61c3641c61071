// Everyday Miller jobs redone with conveyor (the fifth round), what they found wrong: integer
// division of the smallest int64 by -1 killed the run with SIGFPE; round(x, digits) of a large
// number wrote an empty field; lists and objects equal as JSON were different group keys; a
// running delta past int64 wrapped around; distinct.apply counted records twice; limit, sample
// (count) and running.apply counted per shard in a sharded run; select.apply's exclude of a path
// dropped nothing; lists sorted by their JSON text ([10] before [9]). And
// what had no way at all: head and top N per group (limit.apply by), a case-folded sort
// (collation = "nocase"), stats1's mode and antimode, cut -r (select.apply pattern).

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

/// `input` (file `name` in `dir`, read by csv.read or json.read by its extension) ->
/// `function` with `config` -> JSON lines in out.jsonl; `global` goes into [global].
test::ProcessResult through(const test::TempDir& dir, const std::string& name,
                            const std::string& input, const std::string& function,
                            const std::string& config, const std::string& global = "") {
    const std::string in = dir.write(name, input);
    const std::string reader = name.ends_with(".csv") ? "csv.read" : "json.read";
    const std::string file =
        dir.write("p.toml", "[global]\n" + global + "\n" +
                                stage_toml("in", reader, "", "path = \"" + in + "\"") +
                                stage_toml("step", function, "\"in\"", config) +
                                stage_toml("out", "json.write", "\"step\"",
                                           "path = \"" + dir.file("out.jsonl") + "\""));
    return run_conveyor({"run", file, "-q"});
}

TEST(ExpressionArithmetic, TheSmallestIntegerDividedByMinusOneIsANumberNotACrash) {
    // `mlr put '$q = $x / $y'` gives 9223372036854775808; conveyor died of SIGFPE (exit 136)
    // and wrote nothing.
    test::TempDir dir;
    auto r = through(dir, "in.csv", "x,y\n-9223372036854775808,-1\n7,2\n-9223372036854775808,2\n",
                     "map.apply", "columns = { q = \"x / y\", m = \"x % y\" }");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"x\":-9223372036854775808,\"y\":-1,\"q\":9223372036854775808.0,\"m\":0}\n"
              "{\"x\":7,\"y\":2,\"q\":3.5,\"m\":1}\n"
              "{\"x\":-9223372036854775808,\"y\":2,\"q\":-4611686018427387904,\"m\":0}\n");
}

TEST(ExpressionRounding, LargeNumbersKeepTheirValueAndNegativeDigitsRoundExactly) {
    // round(1e300, 2) was infinity, written as null (JSON) or an empty field (CSV) with exit 0;
    // floor(9223372036854775807, -15) was 9222999999999998976.
    test::TempDir dir;
    auto r =
        through(dir, "in.csv",
                "x\n1e300\n-1.7976931348623157e308\n9223372036854775807\n1234.5678\n", "map.apply",
                "columns = { r = \"round(x, 2)\", c = \"ceil(x, 15)\", f = \"floor(x, -15)\" }");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"x\":1e300,\"r\":1e+300,\"c\":1e+300,\"f\":1e+300}\n"
              "{\"x\":-1.7976931348623157e308,\"r\":-1.7976931348623157e+308,"
              "\"c\":-1.7976931348623157e+308,\"f\":-1.7976931348623157e+308}\n"
              "{\"x\":9223372036854775807,\"r\":9223372036854775807,\"c\":9223372036854775807,"
              "\"f\":9.223e+18}\n"
              "{\"x\":1234.5678,\"r\":1234.57,\"c\":1234.5678,\"f\":0}\n");
}

class NestedKeysTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NestedKeysTest, ListsAndObjectsEqualAsJsonAreOneGroupAndOneDistinctValue) {
    // `[1, 2]` and `[1, 2.0]`, `{"a":1,"b":2}` and `{"b":2,"a":1.0}` are equal (== says so, as
    // 2 and 2.0 are one group): they were two groups and two distinct values.
    const std::string jsonl =
        "{\"k\":[1,2],\"v\":1}\n{\"k\":[1,2.0],\"v\":2}\n"
        "{\"k\":{\"a\":1,\"b\":2},\"v\":3}\n{\"k\":{\"b\":2,\"a\":1.0},\"v\":4}\n"
        "{\"k\":[2,1],\"v\":5}\n{\"k\":{\"a\":1,\"b\":3},\"v\":6}\n";
    for (const std::string limit : {"", "memory_limit = \"1KiB\"\n"}) {
        test::TempDir dir;
        const std::string global = "executor = \"" + GetParam() + "\"\n" + limit;
        auto r = through(dir, "in.jsonl", jsonl, "groupby.apply",
                         "by = \"k\"\naggregations = [{ column = \"v\", operation = \"collect\" }]",
                         global);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(
            test::read_file(dir.file("out.jsonl")),
            "{\"k\":[1,2],\"v_collect\":[1,2]}\n{\"k\":{\"a\":1,\"b\":2},\"v_collect\":[3,4]}\n"
            "{\"k\":[2,1],\"v_collect\":[5]}\n{\"k\":{\"a\":1,\"b\":3},\"v_collect\":[6]}\n")
            << limit;
        r = through(dir, "in.jsonl", jsonl, "distinct.apply", "columns = [\"k\"]", global);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
                  "{\"k\":[1,2],\"v\":1}\n{\"k\":{\"a\":1,\"b\":2},\"v\":3}\n"
                  "{\"k\":[2,1],\"v\":5}\n{\"k\":{\"a\":1,\"b\":3},\"v\":6}\n")
            << limit;
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, NestedKeysTest, ::testing::Values("dag", "channel", "async"));

constexpr const char* kPeople =
    "id,region,name,amount\n1,east,bob,5\n2,West,Ann,7\n3,east,ann,5\n"
    "4,west,Bob,9\n5,east,Cy,7\n6,West,al,7\n7,east,bo,3\n8,west,ANN,\n";

class LimitByTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LimitByTest, HeadPerGroupAndTopNPerGroupAfterASort) {
    // `mlr head -n 2 -g region` and `mlr top -n 2 -f amount -g region -a`: limit.apply had no
    // groups, only the first N of the whole input.
    test::TempDir dir;
    const std::string global = "executor = \"" + GetParam() + "\"\nbatch_size = 3\n";
    auto r = through(dir, "in.csv", kPeople, "limit.apply", "count = 2\nby = [\"region\"]", global);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"id\":1,\"region\":\"east\",\"name\":\"bob\",\"amount\":5}\n"
              "{\"id\":2,\"region\":\"West\",\"name\":\"Ann\",\"amount\":7}\n"
              "{\"id\":3,\"region\":\"east\",\"name\":\"ann\",\"amount\":5}\n"
              "{\"id\":4,\"region\":\"west\",\"name\":\"Bob\",\"amount\":9}\n"
              "{\"id\":6,\"region\":\"West\",\"name\":\"al\",\"amount\":7}\n"
              "{\"id\":8,\"region\":\"west\",\"name\":\"ANN\",\"amount\":null}\n");
    const std::string in = dir.write("in.csv", kPeople);
    const std::string file = dir.write(
        "top.toml",
        "[global]\n" + global + stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
            stage_toml("s", "sort.apply", "\"in\"", "by = \"amount\"\ndescending = true") +
            stage_toml("top", "limit.apply", "\"s\"",
                       "count = 1\noffset = 1\nby = \"lower(region)\"") +
            stage_toml("out", "csv.write", "\"top\"", "path = \"" + dir.file("top.csv") + "\""));
    r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The second largest amount of each region, regions folded to lower case.
    EXPECT_EQ(test::read_file(dir.file("top.csv")),
              "id,region,name,amount\n2,West,Ann,7\n1,east,bob,5\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, LimitByTest, ::testing::Values("dag", "channel", "async"));

TEST(LimitByRun, AGroupFieldNotInTheCsvHeaderIsAnErrorBeforeAnyRow) {
    test::TempDir dir;
    auto r = through(dir, "in.csv", kPeople, "limit.apply", "count = 2\nby = [\"regoin\"]");
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("by: "));
    EXPECT_THAT(r.err, HasSubstr("(did you mean 'region'?)"));
}

/// The one-digit ids of the records in out.jsonl of `dir`, in order.
std::string ids_in(const test::TempDir& dir) {
    const std::string out = test::read_file(dir.file("out.jsonl"));
    std::string ids;
    for (std::size_t at = out.find("{\"id\":"); at != std::string::npos;
         at = out.find("{\"id\":", at + 1))
        ids += out[at + 6];
    return ids;
}

TEST(SortNoCase, CaseFoldedAscendingAndDescendingAsMillerSortC) {
    // `mlr sort -c name` / `sort -cr name`: collation knew only binary and natural, which put
    // every capital before every small letter (ANN, Ann, Bob, Cy, al, ann, ...).
    for (const std::string spill : {"", "memory_limit = \"1KiB\"\n"}) {
        test::TempDir dir;
        auto r = through(dir, "in.csv", kPeople, "sort.apply",
                         "by = \"name\"\ncollation = \"nocase\"", spill);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(ids_in(dir), "62387145") << spill; // al Ann ann ANN bo bob Bob Cy
        r = through(dir, "in.csv", kPeople, "sort.apply",
                    "by = \"name\"\ncollation = \"nocase\"\ndescending = true", spill);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(ids_in(dir), "51472386") << spill; // Cy bob Bob bo Ann ann ANN al
    }
}

TEST(SortExpressionKey, AKeyThatIsAnExpressionSaysSortTakesFieldsAndWhatToDo) {
    // `by = "lower(name)"` (groupby.apply, distinct.apply and limit.apply take expressions) was
    // "field 'lower(name)' is not in the input", no word of why or what instead.
    test::TempDir dir;
    auto r = through(dir, "in.csv", kPeople, "sort.apply", "by = \"lower(name)\"");
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("by: field 'lower(name)' is not in the input (sort.apply sorts by "
                                 "fields and paths, not expressions: compute the key with "
                                 "map.apply first; for letters in any case, collation = "
                                 "\"nocase\""));
}

TEST(RunningDelta, ADifferencePastInt64IsADoubleNotAWrappedInteger) {
    // `mlr step -a delta` gives -18446744073709552000; running.apply wrote 1 (and then -1).
    test::TempDir dir;
    auto r = through(dir, "in.csv",
                     "x\n9223372036854775807\n-9223372036854775808\n9223372036854775807\n5\n",
                     "running.apply", "operations = [{ column = \"x\", operation = \"delta\" }]");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"x\":9223372036854775807,\"x_delta\":null}\n"
              "{\"x\":-9223372036854775808,\"x_delta\":-18446744073709551616.0}\n"
              "{\"x\":9223372036854775807,\"x_delta\":18446744073709551616.0}\n"
              "{\"x\":5,\"x_delta\":-9223372036854775802}\n");
}

TEST(ShardedRuns, StagesThatCountOverTheWholeInputAreRefusedInsteadOfCountingPerShard) {
    // backend = "local" with processes = 2: limit.apply count = 3 wrote 6 records (3 per
    // shard), sample.apply count = 3 six, running.apply's row_number and window.apply's count
    // windows started again at the second shard's first record, all with exit 0.
    std::string csv = "id,g\n";
    for (int i = 1; i <= 200; ++i)
        csv += std::to_string(i) + ",g" + std::to_string(i % 3) + "\n";
    const std::pair<const char*, const char*> cases[] = {
        {"limit.apply", "count = 3"},
        {"sample.apply", "count = 3\nseed = 1"},
        {"running.apply", "operations = [{ operation = \"row_number\" }]"},
        {"window.apply", "size = 10"},
    };
    for (const auto& [function, config] : cases) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", csv);
        const std::string file =
            dir.write("p.toml", test::csv_through(in, function, config, dir.file("out.csv"),
                                                  "backend = \"local\"\nprocesses = 2\n"));
        auto r = run_conveyor({"run", file, "-q"});
        EXPECT_EQ(r.exit_code, 78) << function << r.err;
        EXPECT_THAT(r.err, HasSubstr("stage 'step': "));
        EXPECT_THAT(r.err, HasSubstr("a sharded run gives each shard a share"));
        EXPECT_FALSE(test::file_exists(dir.file("out.csv"))) << function;
    }
    {
        // A window of a duration on a time field keeps its bounds per record, but
        // aggregate.stream emitted one partial count per shard for the window both shards had.
        test::TempDir dir;
        const std::string in = dir.write("in.csv", "t\n1700000000\n1700000010\n1700000020\n");
        const std::string file = dir.write(
            "p.toml",
            "[global]\nbackend = \"local\"\nprocesses = 2\n" +
                stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                stage_toml("w", "window.apply", "\"in\"", "size = \"5m\"\ntime_field = \"t\"") +
                stage_toml("step", "aggregate.stream", "\"w\"", "operation = \"count\"") +
                stage_toml("out", "csv.write", "\"step\"",
                           "path = \"" + dir.file("out.csv") + "\""));
        auto r = run_conveyor({"run", file, "-q"});
        EXPECT_EQ(r.exit_code, 78) << r.err;
        EXPECT_THAT(r.err, HasSubstr("stage 'step': aggregate.stream emits one result per window, "
                                     "and a sharded run gives each shard a share"));
    }
    // Partitioned by hash on its own by field, each shard holds whole partitions: allowed.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", csv);
    const std::string file = dir.write(
        "p.toml", test::csv_through(in, "running.apply",
                                    "by = [\"g\"]\noperations = [{ operation = \"row_number\" }]",
                                    dir.file("out.csv"),
                                    "backend = \"local\"\nprocesses = 2\npartition = \"hash\"\n"
                                    "partition_key = \"g\"\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string out = test::read_file(dir.file("out.csv"));
    // Each id i is the (i + 2) / 3-th record of its group, whichever shard wrote it.
    for (int i = 1; i <= 200; ++i)
        EXPECT_NE(out.find("\n" + std::to_string(i) + ",g" + std::to_string(i % 3) + "," +
                           std::to_string((i + 2) / 3) + "\n"),
                  std::string::npos)
            << i;
}

TEST(GroupByMode, ModeAndAntimodeAsMillerStatsOne) {
    // `mlr stats1 -a mode,antimode -f amount,name -g region`: both were unknown operations.
    test::TempDir dir;
    auto r = through(dir, "in.csv", kPeople, "groupby.apply",
                     "by = \"region\"\naggregations = [{ column = \"amount\", operation = \"mode\" "
                     "}, { column = \"amount\", operation = \"antimode\" }, { column = \"name\", "
                     "operation = \"mode\" }, { column = \"name\", operation = \"antimode\" }]");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // west's amounts are 9 and null: nulls are skipped, as by every aggregation.
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"region\":\"east\",\"amount_mode\":5,\"amount_antimode\":7,"
              "\"name_mode\":\"bob\",\"name_antimode\":\"bob\"}\n"
              "{\"region\":\"West\",\"amount_mode\":7,\"amount_antimode\":7,"
              "\"name_mode\":\"Ann\",\"name_antimode\":\"Ann\"}\n"
              "{\"region\":\"west\",\"amount_mode\":9,\"amount_antimode\":9,"
              "\"name_mode\":\"Bob\",\"name_antimode\":\"Bob\"}\n");
}

TEST(SelectPattern, KeepOrDropFieldsByARegularExpressionAsMillerCutR) {
    // `mlr cut -r -f '^(id|n)'` and `mlr cut -x -r -f '"A"i'`: select.apply needed every name.
    test::TempDir dir;
    auto r = through(dir, "in.csv", "id,region,name,amount\n1,east,bob,5\n", "select.apply",
                     "pattern = \"^(id|n)\"");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")), "{\"id\":1,\"name\":\"bob\"}\n");
    r = through(dir, "in.jsonl", "{\"id\":1,\"Amount\":2,\"nAme\":3,\"x\":{\"a\":1}}\n",
                "select.apply", "exclude_pattern = \"(?i)a\"");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")), "{\"id\":1,\"x\":{\"a\":1}}\n");
    r = through(dir, "in.csv", "id\n1\n", "select.apply", "pattern = \"(\"");
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'step': invalid regular expression: missing ): ("));
    r = through(dir, "in.csv", "id\n1\n", "select.apply", "pattern = \"i\"\ncolumns = [\"id\"]");
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("give one of 'columns'"));
}

/// The `records` counts of stage `step` in the --stats-json document `stats`.
std::string step_records(const std::string& stats) {
    const std::size_t at = stats.find("\"id\":\"step\"");
    if (at == std::string::npos) return "no stage 'step' in " + stats;
    const std::size_t from = stats.find("\"records\":{", at);
    return stats.substr(from, stats.find('}', from) - from + 1);
}

TEST(KeyedCounts, EveryRecordIsCountedOnceWhetherSpilledOrFailed) {
    // distinct.apply (keep = "first") counted a spilled record as filtered when it spilled and
    // again when its partition dropped it (2550 filtered, 300 failed, 1350 out of 3000 in), and a
    // record whose key failed as failed and filtered ("8 dropped, 8 filtered" of 8 in).
    std::string csv = "id,k\n";
    for (int i = 0; i < 3000; ++i)
        csv += std::to_string(i) + "," + (i % 10 == 0 ? "x" : std::to_string(i % 1500)) + "\n";
    const std::string want_distinct = "\"records\":{\"in\":3000,\"out\":1350,\"filtered\":1350,"
                                      "\"failed\":300,\"dead_lettered\":0,\"dropped\":300,"
                                      "\"nulled\":0,\"spilled\":0}";
    for (const std::string limit : {"", "memory_limit = \"4KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", csv);
        const std::string file = dir.write(
            "p.toml",
            test::csv_through(in, "distinct.apply", "columns = [\"int(k)\"]", dir.file("out.csv"),
                              limit + "[error_handling]\nstrategy = \"continue\"\n"));
        auto r = run_conveyor({"run", file, "--stats-json", dir.file("stats.json")});
        ASSERT_EQ(r.exit_code, 3) << r.err;
        if (!limit.empty()) {
            EXPECT_THAT(r.err, HasSubstr("records spilled to"));
        }
        EXPECT_EQ(step_records(test::read_file(dir.file("stats.json"))), want_distinct) << limit;
    }
    test::TempDir dir;
    const std::string in = dir.write("in.csv", csv);
    const std::string file =
        dir.write("p.toml", test::csv_through(in, "limit.apply", "count = 1\nby = [\"int(k)\"]",
                                              dir.file("out.csv"),
                                              "[error_handling]\nstrategy = \"continue\"\n"));
    auto r = run_conveyor({"run", file, "-q", "--stats-json", dir.file("stats.json")});
    ASSERT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(step_records(test::read_file(dir.file("stats.json"))),
              "\"records\":{\"in\":3000,\"out\":1350,\"filtered\":1350,\"failed\":300,"
              "\"dead_lettered\":0,\"dropped\":300,\"nulled\":0,\"spilled\":0}");
}

class SelectExcludePathTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SelectExcludePathTest, APathDropsThatMemberAsColumnsKeepsOne) {
    // `columns = ["user.name"]` takes a nested value, but `exclude = ["user.name"]` dropped
    // nothing and said nothing (a top-level field of that name was looked for).
    test::TempDir dir;
    auto r = through(
        dir, "in.jsonl",
        "{\"id\":1,\"user\":{\"name\":\"a\",\"age\":3,\"addr\":{\"city\":\"x\",\"zip\":1}},"
        "\"items\":[{\"sku\":1,\"p\":2},{\"sku\":3}]}\n{\"id\":2,\"user\":\"plain\"}\n{\"id\":3}\n",
        "select.apply",
        "exclude = [\"user.name\", \"user.addr.zip\", \"items[0].p\", \"items[-1].sku\", \"id\", "
        "\"nosuch.x\"]",
        "executor = \"" + GetParam() + "\"\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"user\":{\"age\":3,\"addr\":{\"city\":\"x\"}},\"items\":[{\"sku\":1},{}]}\n"
              "{\"user\":\"plain\"}\n{}\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, SelectExcludePathTest,
                         ::testing::Values("dag", "channel", "async"));

TEST(SelectExcludeRun, AnExcludedFieldNotInTheCsvHeaderNamesTheExcludeOption) {
    // It said "columns: field 'usr' is not in the input" for an exclude list.
    test::TempDir dir;
    auto r = through(dir, "in.csv", "id,user\n1,x\n", "select.apply", "exclude = [\"usr\"]");
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'step': exclude: field 'usr' is not in the input (columns: "
                                 "id, user) (did you mean 'user'?)"));
}

TEST(SortLists, ListsAreOrderedItemByItemNotByTheirJsonText) {
    // [10] came before [9] and [2, 1] before [2] (their JSON text compared byte by byte); min
    // and max of lists too.
    const std::string jsonl = "{\"k\":[10]}\n{\"k\":[9]}\n{\"k\":[2,1]}\n{\"k\":[2]}\n"
                              "{\"k\":[2,\"a\"]}\n{\"k\":[]}\n{\"k\":[2,0.5]}\n";
    for (const std::string limit : {"", "memory_limit = \"1KiB\"\n"}) {
        test::TempDir dir;
        auto r = through(dir, "in.jsonl", jsonl, "sort.apply", "by = \"k\"", limit);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
                  "{\"k\":[]}\n{\"k\":[2]}\n{\"k\":[2,0.5]}\n{\"k\":[2,1]}\n{\"k\":[2,\"a\"]}\n"
                  "{\"k\":[9]}\n{\"k\":[10]}\n")
            << limit;
    }
    test::TempDir dir;
    auto r = through(dir, "in.jsonl", jsonl, "groupby.apply",
                     "aggregations = [{ column = \"k\", operation = \"min\" }, { column = \"k\", "
                     "operation = \"max\" }]");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")), "{\"k_min\":[],\"k_max\":[10]}\n");
}

} // namespace
} // namespace conveyor
