// json.write append = true (JSON Lines only): records added in place across runs.

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

std::string run_text(const std::string& text) {
    LoadResult loaded = load_pipeline_text(text, "p.toml", test::builtin_registry());
    if (!loaded.pipeline) return "LOAD " + loaded.diagnostics.to_string();
    RunContext run;
    RunReport report = run_pipeline(*loaded.pipeline, run);
    return report.status ? "" : report.status.error().to_string();
}

std::string pipeline(const std::string& in, const std::string& out, const std::string& sink_extra) {
    return R"(
[global]
execution_mode = "streaming"
[[stages]]
id = "in"
function = "csv.read"
inputs = []
[stages.config]
path = ")" +
           in + R"("
[[stages]]
id = "out"
function = "json.write"
inputs = ["in"]
[stages.config]
path = ")" +
           out + "\"\nformat = \"jsonl\"\nappend = true\n" + sink_extra;
}

TEST(JsonAppendTest, RecordsAreAddedAfterWhatTheFileHolds) {
    test::TempDir dir;
    const std::string out = dir.write("events.jsonl", "{\"id\":0}\n");
    const std::string in = dir.write("in.csv", "id,ms\n1,2.50\n2,3\n");
    ASSERT_EQ(run_text(pipeline(in, out, "fsync_interval_ms = 0\n")), "");
    ASSERT_EQ(run_text(pipeline(in, out, "")), "");
    EXPECT_EQ(test::read_file(out), "{\"id\":0}\n{\"id\":1,\"ms\":2.50}\n{\"id\":2,\"ms\":3}\n"
                                    "{\"id\":1,\"ms\":2.50}\n{\"id\":2,\"ms\":3}\n");
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"events.jsonl", "in.csv"}));
}

TEST(JsonAppendTest, AFailedRunLeavesWholeLinesAndKeepsWhatWasThere) {
    test::TempDir dir;
    const std::string out = dir.write("events.jsonl", "{\"id\":0}\n");
    // The source fails on its second batch (ragged row) and cancels the run: whatever the
    // sink wrote before stays, as whole lines; nothing is rolled back or deleted.
    const std::string in = dir.write("in.csv", "id\n1\n2\n3,4\n");
    const std::string text =
        "[global]\nexecution_mode = \"streaming\"\nbatch_size = 2\n"
        "channel_buffer_size = 2\n" +
        pipeline(in, out, "")
            .substr(std::string("\n[global]\nexecution_mode = \"streaming\"\n").size());
    EXPECT_THAT(run_text(text), HasSubstr("row has 2 fields"));
    const std::string got = test::read_file(out);
    EXPECT_TRUE(got == "{\"id\":0}\n" || got == "{\"id\":0}\n{\"id\":1}\n{\"id\":2}\n") << got;
}

TEST(JsonAppendTest, OnlyJsonLinesCanBeAppendedTo) {
    auto b = test::build_stage("json.write", {{"path", "x.json"}, {"append", true}});
    EXPECT_FALSE(b.stage);
    EXPECT_THAT(b.errors(), HasSubstr("needs format = \"jsonl\""));
    auto ok = test::build_stage("json.write", {{"path", "x.ndjson"}, {"append", true}});
    EXPECT_TRUE(ok.stage) << ok.errors();
}

} // namespace
} // namespace conveyor
