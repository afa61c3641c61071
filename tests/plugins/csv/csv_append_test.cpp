// csv.write append = true: in place, header only for an empty file, an existing header names
// the columns. Runs whole pipelines from TOML text.

#include "conveyor/config/loader.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

/// json.read of `input` into csv.write (append) of `output`; the run's error text or "".
std::string append_run(const std::string& input, const std::string& output,
                       const std::string& extra = "") {
    const std::string text = R"(
[global]
execution_mode = "streaming"
[[stages]]
id = "in"
function = "json.read"
inputs = []
[stages.config]
path = ")" + input + R"("
format = "jsonl"
[[stages]]
id = "out"
function = "csv.write"
inputs = ["in"]
[stages.config]
path = ")" + output + "\"\nappend = true\n" +
                             extra;
    LoadResult loaded = load_pipeline_text(text, "p.toml", test::builtin_registry());
    if (!loaded.pipeline) return "LOAD " + loaded.diagnostics.to_string();
    RunContext run;
    RunReport report = run_pipeline(*loaded.pipeline, run);
    return report.status ? "" : report.status.error().to_string();
}

TEST(CsvAppendTest, TwoRunsAddToOneFileWithOneHeader) {
    test::TempDir dir;
    const std::string in1 = dir.write("a.jsonl", "{\"id\":1,\"name\":\"a, b\"}\n");
    const std::string in2 = dir.write("b.jsonl", "{\"id\":2,\"name\":\"c\"}\n");
    ASSERT_EQ(append_run(in1, dir.file("out/log.csv")), "");
    ASSERT_EQ(append_run(in2, dir.file("out/log.csv")), "");
    EXPECT_EQ(test::read_file(dir.file("out/log.csv")), "id,name\n1,\"a, b\"\n2,c\n");
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"log.csv"})
        << "no temporary file";
}

TEST(CsvAppendTest, AnExistingHeaderNamesTheColumns) {
    test::TempDir dir;
    const std::string out = dir.write("log.csv", "name,id\n");
    const std::string in = dir.write("a.jsonl", "{\"id\":7,\"name\":\"x\"}\n{\"name\":\"y\"}\n");
    ASSERT_EQ(append_run(in, out), "");
    EXPECT_EQ(test::read_file(out), "name,id\nx,7\ny,\n");
}

TEST(CsvAppendTest, AFieldTheExistingHeaderLacksIsAnError) {
    test::TempDir dir;
    const std::string out = dir.write("log.csv", "id\n1\n");
    const std::string in = dir.write("a.jsonl", "{\"id\":2,\"extra\":true}\n");
    EXPECT_THAT(append_run(in, out), HasSubstr("'extra' that is not in the CSV header"));
    EXPECT_EQ(test::read_file(out), "id\n1\n") << "nothing of the failed batch was written";
}

TEST(CsvAppendTest, ColumnsThatContradictTheFileAreRefused) {
    test::TempDir dir;
    const std::string out = dir.write("log.csv", "a,b\n");
    const std::string in = dir.write("a.jsonl", "{\"a\":1,\"b\":2}\n");
    EXPECT_THAT(append_run(in, out, "columns = [\"b\", \"a\"]\n"),
                HasSubstr("differs from 'columns'"));
}

TEST(CsvAppendTest, StandardOutputCannotBeAppendedTo) {
    auto b = test::build_stage("csv.write", {{"path", "-"}, {"append", true}});
    EXPECT_FALSE(b.stage);
    EXPECT_THAT(b.errors(), HasSubstr("leave append out"));
}

TEST(CsvAppendTest, FsyncIntervalWithoutAppendIsWarnedAbout) {
    auto b =
        test::build_stage("csv.write", {{"path", "x.csv"}, {"fsync_interval_ms", std::int64_t{0}}});
    EXPECT_TRUE(b.stage);
    EXPECT_THAT(b.errors(), HasSubstr("only matters with append = true"));
}

} // namespace
} // namespace conveyor
