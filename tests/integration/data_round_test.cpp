// Everyday data jobs of a new user (the fourth round): what they found wrong, end to end.
// Group-by results beyond a double's range were written as empty fields with exit 0; what
// `jq .` prints (objects one after another over several lines) could not be read at all; JSON
// ids beyond int64 that one double cannot tell apart were one group, one distinct value and
// equal in a sort; a misspelt name in csv.write's columns over a CSV header wrote an empty
// column on every row; the invalid records of validate.schema over a CSV input could not be
// written to CSV (_errors was "not in the header") nor selected.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

TEST(GroupByOverflow, ASumBeyondADoublesRangeIsADataErrorInMemoryAndSpilled) {
    // `mlr stats1 -a sum,mean` says +Inf; conveyor wrote an empty v_sum and v_avg, exit 0.
    std::string csv = "g,v\n";
    for (int i = 0; i < 300; ++i)
        csv += "k" + std::to_string(i) + ",1.5\n";
    csv += "big,1e308\nbig,1e308\n";
    for (const std::string limit : {"", "memory_limit = \"16KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", csv);
        const std::string file =
            dir.write("p.toml", test::csv_through(in, "groupby.apply",
                                                  "by = \"g\"\naggregations = [{ column = \"v\", "
                                                  "operation = \"sum\" }]",
                                                  dir.file("out.csv"), limit));
        auto r = run_conveyor({"run", file, "-q"});
        EXPECT_EQ(r.exit_code, 65) << limit << r.err;
        EXPECT_THAT(r.err, HasSubstr("stage 'step': 'v_sum' of the group (\"big\") overflows a "
                                     "double"))
            << limit;
        EXPECT_FALSE(test::file_exists(dir.file("out.csv"))) << limit;
    }
}

TEST(JsonObjects, WhatJqPrintsIsReadWithFormatObjectsAndTheRecordsErrorSaysSo) {
    // `curl ... | jq '.items[]' > items.json.gz`: format "records" refused the first '{' and
    // pointed to "jsonl", which then failed on the object's first line.
    test::TempDir dir;
    const std::string text = "{\n  \"id\": 1,\n  \"tags\": [\n    \"a\"\n  ]\n}\n{\n  \"id\": 2,\n"
                             "  \"name\": \"}{\"\n}\n{\"id\": 3}{\"id\": 4}\n";
    const std::string in = dir.write("items.json", text);
    const std::string reads = stage_toml("in", "json.read", "", "path = \"" + in + "\"");
    const std::string writes =
        stage_toml("out", "json.write", "\"in\"", "path = \"" + dir.file("out.jsonl") + "\"");
    auto r = run_conveyor({"run", dir.write("p.toml", reads + writes), "-q"});
    EXPECT_EQ(r.exit_code, 65);
    EXPECT_THAT(r.err, HasSubstr("items.json:1:1: expected '[' to start an array of records, "
                                 "found '{' (for one object per line, use format = \"jsonl\"; "
                                 "for objects one after another over several lines, as jq "
                                 "prints them, format = \"objects\")"));
    r = run_conveyor({"run", dir.write("o.toml", reads + "format = \"objects\"\n" + writes), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.jsonl")),
              "{\"id\":1,\"tags\":[\"a\"]}\n{\"id\":2,\"name\":\"}{\"}\n{\"id\":3}\n{\"id\":4}\n");
}

TEST(BigJsonIds, IdsBeyondInt64AreDistinctKeysAndSortByTheirDigitsInMemoryAndSpilled) {
    // `mlr count -g id` counts 12345678901234567890 and ...891 apart; conveyor made them one
    // group (n 2, the second id gone), distinct.apply dropped one, sort.apply left them in input
    // order.
    std::string jsonl;
    for (int i = 0; i < 400; ++i)
        jsonl += "{\"id\":1234567890123456789" + std::to_string(9 - i % 3) +
                 ",\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(40, 'x') + "\"}\n";
    for (const std::string limit : {"", "memory_limit = \"16KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.jsonl", jsonl);
        const std::string file = dir.write(
            "p.toml",
            "[global]\n" + limit + stage_toml("in", "json.read", "", "path = \"" + in + "\"") +
                stage_toml("g", "groupby.apply", "\"in\"",
                           "by = \"id\"\naggregations = [{ operation = \"count\", "
                           "output_column = \"n\" }]") +
                stage_toml("d", "distinct.apply", "\"in\"", "columns = [\"id\"]") +
                stage_toml("s", "sort.apply", "\"in\"", "by = [\"id\", \"i\"]") +
                stage_toml("l", "limit.apply", "\"s\"", "count = 2") +
                stage_toml("og", "json.write", "\"g\"", "path = \"" + dir.file("g.jsonl") + "\"") +
                stage_toml("od", "csv.write", "\"d\"", "path = \"" + dir.file("d.csv") + "\"") +
                stage_toml("ol", "csv.write", "\"l\"", "path = \"" + dir.file("l.csv") + "\""));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("g.jsonl")), "{\"id\":12345678901234567899,\"n\":134}\n"
                                                        "{\"id\":12345678901234567898,\"n\":133}\n"
                                                        "{\"id\":12345678901234567897,\"n\":133}\n")
            << limit;
        EXPECT_EQ(test::read_file(dir.file("d.csv")),
                  "id,i,pad\n12345678901234567899,0," + std::string(40, 'x') +
                      "\n12345678901234567898,1," + std::string(40, 'x') +
                      "\n12345678901234567897,2," + std::string(40, 'x') + "\n")
            << limit;
        EXPECT_EQ(test::read_file(dir.file("l.csv")),
                  "id,i,pad\n12345678901234567897,2," + std::string(40, 'x') +
                      "\n12345678901234567897,5," + std::string(40, 'x') + "\n")
            << limit;
    }
}

TEST(BareEmptyFields, StayEmptyFieldsThroughStagesThatSpill) {
    // With infer_types = false `a,,b` is written back as `a,,b`, and `a,"",b` as it was. A
    // sort or distinct that spilled wrote every such empty field as "" instead (the spill
    // file's JSON text cannot tell the two apart), and a group-by did even in memory.
    std::string csv = "id,v,w\n";
    for (int i = 0; i < 300; ++i)
        csv += std::to_string((i * 7919) % 300) + "," + (i % 3 == 0 ? "" : "x") + "," +
               (i % 5 == 0 ? "\"\"" : std::to_string(i % 4)) + "\n";
    std::vector<std::string> sorted;
    std::vector<std::string> distinct;
    for (const std::string limit : {"", "memory_limit = \"16KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", csv);
        const std::string file = dir.write(
            "p.toml",
            "[global]\n" + limit +
                stage_toml("in", "csv.read", "", "path = \"" + in + "\"\ninfer_types = false") +
                stage_toml("s", "sort.apply", "\"in\"", "by = [\"w\", \"id\"]") +
                stage_toml("d", "distinct.apply", "\"in\"", "columns = [\"v\", \"w\"]") +
                stage_toml("g", "groupby.apply", "\"in\"",
                           "by = [\"v\"]\naggregations = [{ operation = \"count\", "
                           "output_column = \"n\" }]") +
                stage_toml("og", "csv.write", "\"g\"", "path = \"" + dir.file("g.csv") + "\"") +
                stage_toml("os", "csv.write", "\"s\"", "path = \"" + dir.file("s.csv") + "\"") +
                stage_toml("od", "csv.write", "\"d\"", "path = \"" + dir.file("d.csv") + "\""));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        sorted.push_back(test::read_file(dir.file("s.csv")));
        distinct.push_back(test::read_file(dir.file("d.csv")));
        EXPECT_THAT(sorted.back(), HasSubstr("\n0,,\"\"\n")) << limit; // i = 0
        // The group's key is copied when the group is made: the copy kept no mark either.
        EXPECT_EQ(test::read_file(dir.file("g.csv")), "v,n\n,100\nx,200\n") << limit;
        EXPECT_EQ(distinct.back(), "id,v,w\n0,,\"\"\n119,x,1\n238,x,2\n57,,3\n176,x,0\n"
                                   "295,x,\"\"\n114,,2\n233,x,3\n171,,1\n228,,0\n")
            << limit;
    }
    EXPECT_EQ(sorted[0], sorted[1]) << "the spilled sort wrote other bytes";
    EXPECT_EQ(std::count(sorted[0].begin(), sorted[0].end(), '\n'), 301);
}

TEST(Latin1Text, KeepsItsBytesThroughASortThatSpills) {
    // A Latin-1 export (caf\xe9) sorted to CSV: csv.write writes the bytes as they were read.
    // A sort that spilled wrote U+FFFD in their place, without a word, and ordered by it.
    const char* const names[] = {"caf\xe9", "caf\xe8", "cafe", "caf\xc3\xa9", "\xff\xfe", "z"};
    std::string csv = "id,name\n";
    for (int i = 0; i < 400; ++i)
        csv += std::to_string((i * 7919) % 400) + "," + names[i % 6] + "\n";
    std::vector<std::string> outputs;
    for (const std::string limit : {"", "memory_limit = \"16KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", csv);
        const std::string file =
            dir.write("p.toml", test::csv_through(in, "sort.apply", "by = [\"name\", \"id\"]",
                                                  dir.file("out.csv"), limit));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        outputs.push_back(test::read_file(dir.file("out.csv")));
        EXPECT_THAT(outputs.back(), HasSubstr(",caf\xe9\n")) << limit;
        EXPECT_EQ(outputs.back().find("\xef\xbf\xbd"), std::string::npos) << limit;
    }
    EXPECT_EQ(outputs[0], outputs[1]) << "the spilled sort wrote other bytes";
    // By bytes: cafe, caf\xc3\xa9, caf\xe8, caf\xe9, z, \xff\xfe.
    EXPECT_LT(outputs[0].find(",caf\xe8\n"), outputs[0].find(",caf\xe9\n"));
    EXPECT_LT(outputs[0].find(",z\n"), outputs[0].find(",\xff\xfe\n"));
}

TEST(CsvWriteColumns, ANameNoCsvHeaderGivesIsAnErrorBeforeAnyRowWithADidYouMean) {
    // columns = ["name", "amuont"] wrote name,amuont with an empty amuont on every row, exit 0.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,name,amount,user.city\n1,Ann,5,Rome\n");
    const auto pipeline = [&](const std::string& columns) {
        return stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
               stage_toml("out", "csv.write", "\"in\"",
                          "path = \"" + dir.file("out.csv") + "\"\ncolumns = " + columns);
    };
    auto r = run_conveyor({"run", dir.write("p.toml", pipeline("[\"name\", \"amuont\"]")), "-q"});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("p.toml:15:11: error: stage 'out': columns: field 'amuont' is "
                                 "not in the input (columns: id, name, amount, user.city) (did "
                                 "you mean 'amount'?)"));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
    // Names the header has, a name with a dot, and the same over JSON input (no header to
    // check: a field records lack is an empty column there, as before).
    r = run_conveyor(
        {"run", dir.write("q.toml", pipeline("[\"amount\", \"user.city\", \"id\"]")), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "amount,user.city,id\n5,Rome,1\n");
    const std::string jsonl = dir.write("in.jsonl", "{\"id\":1,\"name\":\"Ann\"}\n");
    r = run_conveyor(
        {"run",
         dir.write("j.toml", stage_toml("in", "json.read", "", "path = \"" + jsonl + "\"") +
                                 stage_toml("out", "csv.write", "\"in\"",
                                            "path = \"" + dir.file("out.csv") +
                                                "\"\ncolumns = [\"name\", \"amount\"]")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "name,amount\nAnn,\n");
}

TEST(BigJsonIds, CsvIdsBeyondInt64MeetTheSameIdsFromJsonInMemoryAndSpilled) {
    // csv.read keeps 12345678901234567890 as text (no int64 holds it), JSON as a number: a
    // left join of the two found no right record for any of them, exit 0.
    std::string csv = "id,l\n";
    std::string jsonl;
    for (int i = 0; i < 300; ++i) {
        const std::string id = "123456789012345" + std::to_string(67000 + i);
        csv += id + ",l" + std::to_string(i) + "\n";
        if (i % 2 == 0) jsonl += "{\"id\":" + id + ",\"r\":\"r" + std::to_string(i) + "\"}\n";
    }
    csv += "0012345678901234567000,zeros\n";
    for (const std::string limit : {"", "memory_limit = \"16KiB\"\n"}) {
        test::TempDir dir;
        const std::string left = dir.write("l.csv", csv);
        const std::string right = dir.write("r.jsonl", jsonl);
        const std::string file = dir.write(
            "p.toml",
            "[global]\n" + limit + stage_toml("l", "csv.read", "", "path = \"" + left + "\"") +
                stage_toml("r", "json.read", "", "path = \"" + right + "\"") +
                stage_toml("j", "join.apply", "\"l\", \"r\"", "on = \"id\"\ntype = \"left\"") +
                stage_toml("out", "csv.write", "\"j\"", "path = \"" + dir.file("out.csv") + "\""));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        std::string want = "id,l,r\n";
        for (int i = 0; i < 300; ++i)
            want += "123456789012345" + std::to_string(67000 + i) + ",l" + std::to_string(i) + "," +
                    (i % 2 == 0 ? "r" + std::to_string(i) : "") + "\n";
        want += "0012345678901234567000,zeros,\n";
        EXPECT_EQ(test::read_file(dir.file("out.csv")), want) << limit;
    }
}

TEST(ValidateRejects, InvalidRecordsOfACsvInputGoToACsvFileWithTheirErrors) {
    // The daily rejects file: `inputs = ["check.invalid"]` into csv.write stopped at the first
    // invalid record with exit 65 ("record has field '_errors' that is not in the CSV header"),
    // and select.apply of _errors was refused before any row, exit 78.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount\n1,5\n2,n/a\n3,7\n");
    const std::string file =
        dir.write("p.toml", stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                                stage_toml("check", "validate.schema", "\"in\"",
                                           "field_types = { amount = \"number\" }") +
                                stage_toml("good", "csv.write", "\"check\"",
                                           "path = \"" + dir.file("good.csv") + "\"") +
                                stage_toml("bad", "csv.write", "\"check.invalid\"",
                                           "path = \"" + dir.file("bad.csv") + "\"") +
                                stage_toml("why", "select.apply", "\"check.invalid\"",
                                           "columns = [\"id\", \"_errors\"]") +
                                stage_toml("w", "json.write", "\"why\"",
                                           "path = \"" + dir.file("why.jsonl") + "\""));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("good.csv")), "id,amount\n1,5\n3,7\n");
    const std::string errors = "[{\"rule\":\"field_types\",\"field\":\"amount\",\"message\":"
                               "\"'amount' should be number, got string n/a\"}]";
    EXPECT_EQ(test::read_file(dir.file("why.jsonl")), "{\"id\":2,\"_errors\":" + errors + "}\n");
    std::string quoted;
    for (const char c : errors)
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    EXPECT_EQ(test::read_file(dir.file("bad.csv")),
              "id,amount,_errors\n2,n/a,\"" + quoted + "\"\n");
}

} // namespace
} // namespace conveyor
