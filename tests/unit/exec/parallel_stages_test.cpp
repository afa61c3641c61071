// Stages that split their work over the run's workers (csv.read parsing a file in chunks,
// json.write encoding batches) under every executor: with workers = 2 or 3 and tiny chunks the
// outputs are byte for byte those of workers = 1. Built into the ThreadSanitizer tree too
// (tests/unit/exec is what it runs).

#include "conveyor/config/loader.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/registry/registry.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <random>
#include <string>

namespace conveyor {
namespace {

const Registry& registry() {
    static const Registry r = [] {
        Registry reg;
        register_builtin_plugins(reg);
        return reg;
    }();
    return r;
}

/// "id,name,amount,note": quoted fields with line breaks (LF and CRLF) and doubled quotes,
/// CRLF and LF line ends, blank lines, some empty amounts.
std::string input_csv(int rows) {
    std::mt19937 rng(2026);
    std::string text = "id,name,amount,note\r\n";
    for (int i = 0; i < rows; ++i) {
        text += std::to_string(i) + ",";
        switch (rng() % 5) {
        case 0:
            text += "\"Last, First\"";
            break;
        case 1:
            text += "\"two\r\nlines \"\"quoted\"\"\"";
            break;
        case 2:
            text += "\"a\nb\nc\"";
            break;
        default:
            text += "name" + std::to_string(rng() % 1000);
        }
        text += "," + (rng() % 10 == 0 ? std::string() : std::to_string(rng() % 2000) + ".25");
        text += rng() % 3 == 0 ? ",\"n\n\"" : ",plain";
        text += rng() % 4 == 0 ? "\r\n" : "\n";
        if (rng() % 20 == 0) text += "\n";
    }
    return text;
}

class ParallelStages : public ::testing::TestWithParam<std::string> {
protected:
    /// csv.read (chunks of `chunk` bytes) -> filter.apply -> json.write (jsonl and records) and
    /// csv.write; returns the three outputs.
    std::vector<std::string> run(int workers, const std::string& chunk) {
        const std::string out = dir_.path() + "/w" + std::to_string(workers) + "_";
        const std::string text = "[global]\nexecutor = \"" + GetParam() +
                                 "\"\nworkers = " + std::to_string(workers) +
                                 "\nchannel_buffer_size = 64\nbatch_size = 50\n" + R"(
[[stages]]
id = "read"
function = "csv.read"
inputs = []
[stages.config]
path = ")" + input_ + R"("
chunk_size = ")" + chunk + R"("

[[stages]]
id = "big"
function = "filter.apply"
inputs = ["read"]
[stages.config]
column = "amount"
operator = ">="
value = 500

[[stages]]
id = "lines"
function = "json.write"
inputs = ["big"]
[stages.config]
path = ")" + out + R"(lines.jsonl"

[[stages]]
id = "array"
function = "json.write"
inputs = ["read"]
[stages.config]
path = ")" + out + R"(array.json"
format = "records"

[[stages]]
id = "copy"
function = "csv.write"
inputs = ["read"]
[stages.config]
path = ")" + out + R"(copy.csv"
)";
        LoadResult loaded = load_pipeline_text(text, "parallel.toml", registry());
        EXPECT_TRUE(loaded.pipeline) << loaded.diagnostics.to_string();
        if (!loaded.pipeline) return {};
        RunContext ctx;
        RunReport report = run_pipeline(*loaded.pipeline, ctx, RunOptions{});
        EXPECT_TRUE(report.status) << report.status.error().to_string();
        return {test::read_file(out + "lines.jsonl"), test::read_file(out + "array.json"),
                test::read_file(out + "copy.csv")};
    }

    void SetUp() override { input_ = dir_.write("in.csv", input_csv(1000)); }

    test::TempDir dir_;
    std::string input_;
};

TEST_P(ParallelStages, OutputsAreThoseOfOneWorker) {
    const std::vector<std::string> one = run(1, "4KiB");
    ASSERT_EQ(one.size(), 3u);
    EXPECT_GT(one[0].size(), 1000u);
    for (const char* chunk : {"7", "97", "4KiB"}) {
        EXPECT_EQ(run(2, chunk), one) << "chunk " << chunk;
        EXPECT_EQ(run(3, chunk), one) << "chunk " << chunk;
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, ParallelStages, ::testing::Values("dag", "channel", "async"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

} // namespace
} // namespace conveyor
