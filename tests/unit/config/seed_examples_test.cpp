// The pipeline-format document (seed 000) is the contract: every TOML example in it must load,
// or fail with exactly the problems a user would expect. The examples are kept as fixtures in
// tests/fixtures/config/seed000/ (in document order) and checked against a registry of fake
// functions named like the real ones.

#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"
#include "support/paths.hpp"
#include "support/process.hpp"
#include "unit/config/fake_functions.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace conveyor {
namespace {

namespace fs = std::filesystem;

std::string fixture_dir() {
    return test::fixture("config/seed000");
}

std::vector<std::string> errors(const LoadResult& r) {
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics.all())
        if (d.severity == Diagnostic::Severity::Error) out.push_back(d.to_string());
    return out;
}

LoadResult load_fixture(const std::string& name, const Registry& registry) {
    const std::string text = test::read_file(fixture_dir() + "/" + name);
    return load_pipeline_text(text, name, registry);
}

struct SeedCase {
    std::string file;
    std::vector<std::string> errors; ///< empty: the example loads
};

std::string missing_path(const std::string& file, int line, const std::string& stage) {
    return file + ":" + std::to_string(line) + ":1: error: stage '" + stage +
           "': missing required key 'path' in [stages.config]";
}

std::string no_stages(const std::string& file) {
    return file + ": error: the pipeline has no stages: add at least one [[stages]] table";
}

std::vector<SeedCase> seed_cases() {
    std::vector<SeedCase> cases;
    auto add = [&](std::string file, std::vector<std::string> errs) {
        cases.push_back({std::move(file), std::move(errs)});
    };
    const std::string f01 = "01_default_dag.toml";
    add(f01, {missing_path(f01, 3, "source1"), missing_path(f01, 8, "source2"),
              missing_path(f01, 18, "sink")});
    const std::string f02 = "02_channel_executor.toml";
    add(f02, {missing_path(f02, 6, "source"),
              f02 + ":11:1: error: stage 'transform': missing required key 'column' in "
                    "[stages.config]",
              missing_path(f02, 16, "sink")});
    add("03_http_pipeline.toml", {});
    add("04_async_global.toml", {no_stages("04_async_global.toml")});
    const std::string f05 = "05_async_complex_dag.toml";
    add(f05, {missing_path(f05, 6, "source1"), missing_path(f05, 11, "source2"),
              missing_path(f05, 23, "sink1"), missing_path(f05, 28, "sink2")});
    add("06_executor_choice.toml", {no_stages("06_executor_choice.toml")});
    add("07_channel_settings.toml", {no_stages("07_channel_settings.toml")});
    const std::string f08 = "08_full_configuration.toml";
    add(f08,
        {no_stages(f08),
         f08 + ":10:20: error: unknown plugin 'mongodb' in [global] plugins: "
               "conveyor has no MongoDB plugin yet, see README's Roadmap (available plugins: csv, "
               "json, transform, stdout, http)"});
    add("09_stream_stage.toml", {"09_stream_stage.toml:7:11: error: stage 'enrich': input 'data' "
                                 "is not the id of any stage (stages: enrich)"});
    add("10_real_world.toml", {});
    // Not TOML at all: a bullet list the document tagged as TOML.
    add("11_test_setup.toml", {"11_test_setup.toml:2:3: error: invalid TOML: error while parsing "
                               "key-value pair: expected '=', saw '1'"});
    for (const char* f : {"12_use_case_api.toml", "13_use_case_migration.toml",
                          "14_use_case_streaming.toml", "15_use_case_simple_etl.toml"})
        add(f, {no_stages(f)});
    const std::string f16 = "16_concurrency_start.toml";
    add(f16, {no_stages(f16), f16 + ":1:1: error: unknown top-level key 'concurrency' (it "
                                    "belongs in [global])"});
    // The document shows two alternatives for one key in one table: TOML forbids that.
    add("17_log_levels.toml", {"17_log_levels.toml:3:13: error: invalid TOML: error while "
                               "parsing key-value pair: cannot redefine existing string "
                               "'log_level'"});
    for (const char* f : {"18_error_handling.toml", "19_debug_logging.toml",
                          "20_wrong_settings.toml", "21_right_settings.toml"})
        add(f, {no_stages(f)});
    const std::string f22 = "22_stream_fan_out.toml";
    add(f22, {f22 + ":5:11: error: stage 'to_records': input 'stream_source' is not the id of "
                    "any stage (stages: to_records, sink1, sink2)",
              missing_path(f22, 8, "sink1"), missing_path(f22, 13, "sink2")});
    const std::string f23 = "23_select_before_fan_out.toml";
    add(f23, {f23 + ":9:11: error: stage 'select': input 'data' is not the id of any stage "
                    "(stages: select, sink1)",
              missing_path(f23, 13, "sink1")});
    add("24_debugging.toml", {no_stages("24_debugging.toml")});
    return cases;
}

void PrintTo(const SeedCase& c, std::ostream* os) {
    *os << c.file;
}

class SeedExampleTest : public ::testing::TestWithParam<SeedCase> {
protected:
    SeedExampleTest() { test::register_seed_functions(registry_); }
    Registry registry_;
};

TEST_P(SeedExampleTest, LoadsOrReportsExactlyTheExpectedProblems) {
    const SeedCase& c = GetParam();
    LoadResult r = load_fixture(c.file, registry_);
    EXPECT_EQ(errors(r), c.errors) << r.diagnostics.to_string();
    EXPECT_EQ(r.pipeline.has_value(), c.errors.empty());
    if (!c.errors.empty()) {
        EXPECT_EQ(r.failure, ErrorKind::Config);
    }
}

INSTANTIATE_TEST_SUITE_P(Seed000, SeedExampleTest, ::testing::ValuesIn(seed_cases()),
                         [](const ::testing::TestParamInfo<SeedCase>& param) {
                             std::string name =
                                 param.param.file.substr(0, param.param.file.find('.'));
                             for (char& ch : name)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return "e" + name;
                         });

TEST(SeedExamples, EveryFixtureHasAnExpectation) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(fixture_dir()))
        files.push_back(entry.path().filename().string());
    std::sort(files.begin(), files.end());
    std::vector<std::string> covered;
    for (const SeedCase& c : seed_cases())
        covered.push_back(c.file);
    EXPECT_EQ(files, covered);
}

TEST(SeedExamples, HttpPipelineLoadsAsWritten) {
    Registry registry;
    test::register_seed_functions(registry);
    LoadResult r = load_fixture("03_http_pipeline.toml", registry);
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_TRUE(r.diagnostics.all().empty()) << r.diagnostics.to_string();
    const PipelineSpec& p = *r.pipeline;
    EXPECT_EQ(p.name, "api-enrichment");
    EXPECT_EQ(p.version, "1.0.0");
    EXPECT_EQ(p.global.executor, ExecutorKind::Channel);
    EXPECT_EQ(p.global.channel_buffer_size, 50u);
    EXPECT_EQ(p.global.concurrency, 10u);
    EXPECT_EQ(p.global.plugins, std::optional<std::vector<std::string>>({"http"}));
    ASSERT_EQ(p.stages.size(), 3u);
    EXPECT_EQ(p.stages[0].config.get_string("path"), "users.csv");
    EXPECT_TRUE(p.stages[0].config.get_bool("has_header")); // default
    const Options& fetch = p.stages[1].config;
    // Per-record templates are left for http.fetch to fill in.
    EXPECT_EQ(fetch.get_string("url"), "https://api.example.com/users/{{ id }}/profile");
    EXPECT_EQ(fetch.get_string("mode"), "per_row");
    EXPECT_EQ(fetch.get_string("result_field"), "profile");
    EXPECT_EQ(fetch.get_string("method"), "GET");
    EXPECT_EQ(p.stages[2].inputs, std::vector<std::string>{"fetch_profiles"});
    EXPECT_EQ(p.stages[2].config.get_string("path"), "enriched.json");
}

TEST(SeedExamples, RealWorldExampleChainsTwoFetches) {
    Registry registry;
    test::register_seed_functions(registry);
    LoadResult r = load_fixture("10_real_world.toml", registry);
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_FALSE(r.pipeline->global.plugins.has_value()); // no list: every plugin is on
    ASSERT_EQ(r.pipeline->stages.size(), 4u);
    EXPECT_EQ(r.pipeline->stages[2].inputs, std::vector<std::string>{"fetch_profiles"});
    EXPECT_EQ(r.pipeline->stages[2].config.get_string("result_field"), "orders");
}

TEST(SeedExamples, OptionalPluginOffWhenPluginsListOmitsIt) {
    // The same example with a plugins list that does not name http.
    Registry registry;
    test::register_seed_functions(registry);
    std::string text = test::read_file(fixture_dir() + "/03_http_pipeline.toml");
    text.replace(text.find("plugins = [\"http\"]"), 18, "plugins = [\"csv\"]");
    LoadResult r = load_pipeline_text(text, "03.toml", registry);
    EXPECT_EQ(errors(r), std::vector<std::string>{
                             "03.toml:22:12: error: stage 'fetch_profiles': function 'http.fetch' "
                             "belongs to plugin 'http', which is not enabled: add \"http\" to "
                             "[global] plugins"});
}

/// The fixtures are the document's examples verbatim; when the document is at hand, check that
/// they have not drifted apart.
TEST(SeedExamples, FixturesMatchTheDocument) {
    const fs::path seeds = fs::path(test::shared_dir()) / "seeds";
    std::string doc;
    if (fs::is_directory(seeds)) {
        for (const auto& entry : fs::directory_iterator(seeds))
            if (entry.path().filename().string().starts_with("000_"))
                doc = test::read_file(entry.path().string());
    }
    if (doc.empty()) GTEST_SKIP() << "seed 000 not found under " << seeds;

    std::vector<std::string> blocks;
    std::istringstream in(doc);
    std::string line;
    std::string block;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!inside && line.starts_with("```toml")) {
            inside = true;
            block.clear();
        } else if (inside && line.starts_with("```")) {
            inside = false;
            blocks.push_back(block);
        } else if (inside) {
            block += line + "\n";
        }
    }
    const std::vector<SeedCase> cases = seed_cases();
    ASSERT_EQ(blocks.size(), cases.size());
    for (std::size_t i = 0; i < blocks.size(); ++i)
        EXPECT_EQ(test::read_file(fixture_dir() + "/" + cases[i].file), blocks[i]) << cases[i].file;
}

} // namespace
} // namespace conveyor
