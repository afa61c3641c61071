// Everyday jobs a user who knows Miller tries (the etl3 round): tab-separated files named
// .tsv read and written with tabs without a delimiter option; comment lines skipped;
// reshape.apply's long-to-wide and wide-to-long, in memory and spilled, under every executor;
// unsparsify.apply making JSON records of different shapes one CSV.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

TEST(TsvFiles, ATsvPathIsReadAndWrittenWithTabs) {
    // `mlr --tsv cat in.tsv > out.tsv`: conveyor read one field "id\tname" and exit 0.
    test::TempDir dir;
    const std::string in = dir.write("in.tsv", "id\tname\n1\tAnn, Lee\n2\tBob\n");
    const std::string file = dir.write(
        "p.toml",
        stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
            stage_toml("f", "filter.apply", "\"in\"", "expression = \"id >= 1\"") +
            stage_toml("out", "csv.write", "\"f\"", "path = \"" + dir.file("out.tsv") + "\""));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.tsv")), "id\tname\n1\tAnn, Lee\n2\tBob\n");
}

TEST(TsvFiles, AnExportWhoseTextHoldsQuotesRoundTripsWithQuoteOff) {
    // `mlr --tsv sort -f name`: Miller's TSV has no quoting. With quote = "" the quotes are
    // text, on both workers and from standard input as well, and the output is the input's
    // bytes in the new order.
    std::string text = "name\tnote\n";
    std::string sorted;
    for (int i = 2999; i >= 0; --i) {
        const std::string line = "n" + std::to_string(10000 + i) + "\t" +
                                 (i % 3 == 0   ? "\"quoted\" word"
                                  : i % 3 == 1 ? "5\" screen"
                                               : "\"open") +
                                 "\n";
        text += line;
        sorted.insert(0, line);
    }
    for (const std::string& path : {std::string("in.tsv"), std::string("-")}) {
        for (const std::string workers : {"1", "2"}) {
            SCOPED_TRACE(path + ", workers " + workers);
            test::TempDir dir;
            const std::string in = dir.write("in.tsv", text);
            const std::string source =
                path == "-" ? stage_toml("in", "stdin.read", "",
                                         "format = \"csv\"\ndelimiter = \"tab\"\nquote = \"\"")
                            : stage_toml("in", "csv.read", "",
                                         "path = \"" + in + "\"\nquote = \"\"\nchunk_size = 4096");
            const std::string file = dir.write(
                "p.toml", "[global]\nworkers = " + workers + "\n" + source +
                              stage_toml("s", "sort.apply", "\"in\"", "by = [\"name\"]") +
                              stage_toml("out", "csv.write", "\"s\"",
                                         "path = \"" + dir.file("out.tsv") + "\"\nquote = \"\""));
            test::ProcessOptions opts;
            if (path == "-") opts.stdin_data = text;
            auto r = run_conveyor({"run", file, "-q"}, opts);
            ASSERT_EQ(r.exit_code, 0) << r.err;
            EXPECT_EQ(r.err, "");
            EXPECT_EQ(test::read_file(dir.file("out.tsv")), "name\tnote\n" + sorted);
        }
    }
}

constexpr const char* kLong = "id,metric,value\n1,x,3\n1,y,4\n2,x,5\n2,z,6\n3,y,7\n";

/// csv.read of `in` -> reshape.long_to_wide -> csv.write `wide.csv`, and the wide records ->
/// reshape.wide_to_long -> csv.write `long.csv`.
std::string round_trip(const std::string& in, const std::string& dir, const std::string& global) {
    return "[global]\n" + global + "\n" +
           stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
           stage_toml("wide", "reshape.long_to_wide", "\"in\"", "key_column = \"metric\"") +
           stage_toml("w", "csv.write", "\"wide\"", "path = \"" + dir + "/wide.csv\"") +
           stage_toml("long", "reshape.wide_to_long", "\"wide\"",
                      "id_columns = [\"id\"]\nkey_column = \"metric\"\nskip_nulls = true") +
           stage_toml("l", "csv.write", "\"long\"", "path = \"" + dir + "/long.csv\"");
}

TEST(CsvComments, CommentLinesAreSkippedWithTheWorkersToo) {
    // `mlr --icsv --ifs ';' --skip-comments`: the first comment was the header.
    std::string text = "\xEF\xBB\xBF# export of 2026-03-01\nid;name\n";
    std::string want = "id,name\n";
    for (int i = 0; i < 4000; ++i) {
        if (i % 7 == 0) text += "# page " + std::to_string(i) + "; \"see\"\n";
        text += std::to_string(i) + ";n" + std::to_string(i) + "\n";
        want += std::to_string(i) + ",n" + std::to_string(i) + "\n";
    }
    for (const std::string workers : {"1", "2"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", text);
        const std::string file =
            dir.write("p.toml", "[global]\nworkers = " + workers + "\n" +
                                    stage_toml("in", "csv.read", "",
                                               "path = \"" + in +
                                                   "\"\ndelimiter = \";\"\ncomment = \"#\"\n"
                                                   "chunk_size = 2048") +
                                    stage_toml("out", "csv.write", "\"in\"",
                                               "path = \"" + dir.file("out.csv") + "\""));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_TRUE(test::read_file(dir.file("out.csv")) == want) << "workers " << workers;
    }
}

TEST(RenamePattern, HeadersWithSpacesBecomeNamesExpressionsCanUse) {
    // mlr rename -g -r '[^A-Za-z0-9]+,_' then case -k -l: each name needed its own entry.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "First Name,Last-Name,AGE\nAnn,Lee,30\nBo,Ek,9\n");
    const std::string file = dir.write(
        "p.toml",
        stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
            stage_toml("r", "rename.apply", "\"in\"",
                       "pattern = \"[^A-Za-z0-9]+\"\nreplacement = \"_\"\ncase = \"lower\"") +
            stage_toml("f", "filter.apply", "\"r\"", "expression = \"age >= 18\"") +
            stage_toml("out", "csv.write", "\"f\"", "path = \"" + dir.file("out.csv") + "\""));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "first_name,last_name,age\nAnn,Lee,30\n");
}

TEST(SelectStar, ReorderMovesFieldsFirstOrLastAndKeepsTheRest) {
    // mlr reorder -f amount then reorder -e -f id.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,region,amount,qty\n1,e,5,2\n2,w,7,1\n");
    const std::string file = dir.write(
        "p.toml", test::csv_through(in, "select.apply", "columns = [\"amount\", \"*\", \"id\"]",
                                    dir.file("out.csv")));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "amount,region,qty,id\n5,e,2,1\n7,w,1,2\n");
}

class ReshapeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReshapeTest, LongToWideAndBackUnderEveryExecutorInMemoryAndSpilled) {
    // `mlr reshape -s metric,value then unsparsify` and `mlr reshape -r '^[a-z]$' -o
    // metric,value`: no function did either.
    for (const std::string limit : {"", "memory_limit = \"1KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", kLong);
        const std::string file = dir.write(
            "p.toml", round_trip(in, dir.path(), "executor = \"" + GetParam() + "\"\n" + limit));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("wide.csv")), "id,x,y,z\n1,3,4,\n2,5,,6\n3,,7,\n")
            << limit;
        EXPECT_EQ(test::read_file(dir.file("long.csv")),
                  "id,metric,value\n1,x,3\n1,y,4\n2,x,5\n2,z,6\n3,y,7\n")
            << limit;
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, ReshapeTest, ::testing::Values("dag", "channel", "async"));

TEST(ReshapeRun, AKeyThatCannotNameAFieldIsARecordErrorNamingTheStage) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,metric,value\n1,x,3\n1,,4\n2,id,5\n2,y,6\n");
    const std::string pipeline = round_trip(in, dir.path(), "");
    auto r = run_conveyor({"run", dir.write("p.toml", pipeline), "-q"});
    EXPECT_EQ(r.exit_code, 65);
    EXPECT_THAT(r.err, HasSubstr("stage 'wide': key_column 'metric' is null"));
    r = run_conveyor({"run",
                      dir.write("c.toml", "[error_handling]\nstrategy = \"continue\"\n" + pipeline),
                      "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("key 'id' (from metric) names a field the record already has"));
    EXPECT_EQ(test::read_file(dir.file("wide.csv")), "id,x,y\n1,3,\n2,,6\n");
}

class UnsparsifyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(UnsparsifyTest, JsonRecordsOfDifferentShapesMakeOneCsvInMemoryAndSpilled) {
    // `mlr --ijsonl --ocsv unsparsify`: csv.write refused the second record's new field.
    std::string jsonl;
    std::string want = "id,a,b,c\n";
    for (int i = 0; i < 3000; ++i) {
        const std::string id = std::to_string(i);
        if (i % 3 == 0) {
            jsonl += "{\"id\":" + id + ",\"a\":" + id + "}\n";
            want += id + "," + id + ",,\n";
        } else if (i % 3 == 1) {
            jsonl += "{\"b\":\"x\",\"id\":" + id + "}\n";
            want += id + ",,x,\n";
        } else {
            jsonl += "{\"id\":" + id + ",\"c\":null}\n";
            want += id + ",,,\n";
        }
    }
    for (const std::string limit : {"", "memory_limit = \"16KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.jsonl", jsonl);
        const std::string file =
            dir.write("p.toml", "[global]\nexecutor = \"" + GetParam() + "\"\n" + limit +
                                    stage_toml("in", "json.read", "", "path = \"" + in + "\"") +
                                    stage_toml("u", "unsparsify.apply", "\"in\"", "") +
                                    stage_toml("out", "csv.write", "\"u\"",
                                               "path = \"" + dir.file("out.csv") + "\""));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.csv")), want) << limit;
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, UnsparsifyTest, ::testing::Values("dag", "channel", "async"));

TEST(GroupByMillerNames, StatsOneSpellingsGiveMillersInterpolatedResults) {
    // `mlr stats1 -i -a p50,p95,stddev,distinct_count -f amount -g region`, same numbers and
    // column names; 'p95' was an unknown operation.
    test::TempDir dir;
    const std::string in =
        dir.write("in.csv", "region,amount\neast,10.5\nwest,7\neast,3.25\neast,20\nwest,8\n"
                            "west,1.5\neast,6\nwest,9\n");
    const std::string file = dir.write(
        "p.toml",
        test::csv_through(in, "groupby.apply",
                          "by = \"region\"\naggregations = [{ column = \"amount\", operation = "
                          "\"p50\" }, { column = \"amount\", operation = \"p95\" }, { column = "
                          "\"amount\", operation = \"stddev\" }, { column = \"amount\", "
                          "operation = \"distinct_count\" }]",
                          dir.file("out.csv")));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "region,amount_p50,amount_p95,amount_stddev,amount_distinct_count\n"
              "east,8.25,18.574999999999996,7.3438608147667574,4\n"
              "west,7.5,8.85,3.3509948771471834,4\n");
}

} // namespace
} // namespace conveyor
