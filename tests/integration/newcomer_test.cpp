// Frictions a new user met (issue 17): `conveyor run -` reads the pipeline from standard
// input (and refuses records from there too, exit 64); stdout.write's `limit` counts what it
// left out, so its stats say out = what it showed; a filter on JSON input testing a field that
// never appears says so (CSV input: a load error, tested with the filter).

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;

TEST(RunFromStdin, ThePipelineComesFromStandardInput) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(4));
    test::ProcessOptions opts;
    opts.stdin_data =
        "[pipeline]\nname = \"inline\"\n" +
        stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
        stage_toml("out", "csv.write", "\"in\"", "path = \"" + dir.file("out.csv") + "\"");
    auto r = test::run_conveyor({"run", "-q", "-"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), test::items_csv(4));

    // validate too, with errors located in <stdin>.
    opts.stdin_data = stage_toml("in", "csv.raed", "", "path = \"x\"");
    r = test::run_conveyor({"validate", "-"}, opts);
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("<stdin>:"));
    EXPECT_THAT(r.err, HasSubstr("csv.read"));
}

TEST(RunFromStdin, RecordsCannotComeFromStandardInputToo) {
    test::TempDir dir;
    test::ProcessOptions opts;
    opts.stdin_data =
        stage_toml("in", "csv.read", "", "path = \"-\"") +
        stage_toml("out", "csv.write", "\"in\"", "path = \"" + dir.file("out.csv") + "\"");
    auto r = test::run_conveyor({"run", "-"}, opts);
    EXPECT_EQ(r.exit_code, 64);
    EXPECT_THAT(r.err, HasSubstr("stage 'in' (csv.read) reads its records from standard input, "
                                 "but the pipeline itself was read from there"));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(StdoutLimit, StatsSayWhatWasShownAndWhatWasLeftOut) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(7));
    for (const char* format : {"jsonl", "csv", "table"}) {
        const std::string file = dir.write(
            "p.toml", stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                          stage_toml("show", "stdout.write", "\"in\"",
                                     std::string("limit = 4\nformat = \"") + format + "\""));
        auto r = test::run_conveyor({"run", "-q", "--stats-json", dir.file("s.json"), file});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const std::string stats = test::read_file(dir.file("s.json"));
        const std::size_t at = stats.find("\"id\":\"show\"");
        ASSERT_NE(at, std::string::npos) << stats;
        EXPECT_THAT(stats.substr(at), HasSubstr("\"in\":7,\"out\":4,\"filtered\":3")) << format;
    }
}

TEST(FieldWatch, AFilterOnAFieldJsonInputNeverHasWarnsEarlyAndAtTheEnd) {
    test::TempDir dir;
    std::string jsonl;
    for (int i = 0; i < 1500; ++i)
        jsonl += "{\"id\":" + std::to_string(i) + ",\"amount\":" + std::to_string(i) + "}\n";
    const std::string in = dir.write("in.jsonl", jsonl);
    const std::string file = dir.write(
        "p.toml", stage_toml("in", "json.read", "", "path = \"" + in + "\"") +
                      stage_toml("f", "filter.apply", "\"in\"",
                                 "column = \"amout\"\noperator = \">\"\nvalue = 1") +
                      stage_toml("g", "filter.apply", "\"in\"", "expression = \"amount > 1\"") +
                      stage_toml("out", "json.write", "\"f\", \"g\"",
                                 "path = \"" + dir.file("out.jsonl") + "\""));
    auto r = test::run_conveyor({"run", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'f': field 'amout' did not appear in the first"));
    EXPECT_THAT(r.err, HasSubstr("stage 'f': field 'amout' did not appear in the whole input "
                                 "(1500 records) (fields seen: id, amount) (did you mean "
                                 "'amount'?)"));
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("stage 'g': field")));

    // The end-of-input warning is part of the summary: the table's last lines (--stats), and
    // the stage's "warnings" in --stats-json; said once, not also as a log line.
    r = test::run_conveyor({"run", file, "--stats", "--stats-json", dir.file("s.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string end_warning = "warning: stage 'f': field 'amout' did not appear in the "
                                    "whole input (1500 records)";
    const std::size_t table = r.err.find("total ");
    ASSERT_NE(table, std::string::npos) << r.err;
    const std::size_t warning = r.err.find(end_warning);
    ASSERT_NE(warning, std::string::npos) << r.err;
    EXPECT_LT(warning, table) << "the warning is in the table, before its total line";
    EXPECT_EQ(r.err.find("did not appear in the whole input", warning + end_warning.size()),
              std::string::npos)
        << r.err;
    const std::string stats = test::read_file(dir.file("s.json"));
    EXPECT_THAT(stats, HasSubstr("\"warnings\":[\"field 'amout' did not appear in the whole "
                                 "input (1500 records)"))
        << stats;
    EXPECT_THAT(stats, HasSubstr("\"id\":\"g\"")) << stats;
}

} // namespace
} // namespace conveyor
