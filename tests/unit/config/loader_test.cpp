// The loader: a whole file with every section, the documented defaults, reading files and
// TOML syntax errors.

#include "support/process.hpp"
#include "unit/config/loader_test_support.hpp"

namespace conveyor {
namespace {

using test::errors;
using test::LoaderTest;
using test::toml_text;
using test::TrivialStage;
using test::warnings;

constexpr std::string_view kFullFile = R"(
[pipeline]
name = "orders"
version = "2.1.0"
description = "Nightly orders export"

[global]
executor = "channel"
channel_buffer_size = 250
concurrency = 4
log_level = "warning"
plugins = ["extra"]
execution_mode = "streaming"
timeout_seconds = 90.5
workers = 3
batch_size = 2048
max_buffered_bytes = "512MB"
shutdown_timeout_seconds = 5
variables = { region = "eu" }

[error_handling]
strategy = "retry"
max_retries = 5
retry_delay_seconds = 0.5
max_retry_delay_seconds = 30
dead_letter_queue = { enabled = true, path = "failed.jsonl" }

[[stages]]
id = "load"
function = "test.source"
description = "read the orders"
inputs = []

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
[stages.config]
field = "${region}"
flag = true
limit = 7
ratio = 1
mode = "exact"
columns = "id"
headers = { X-Region = "${region}", Accept = "text/csv" }
value = [1, "two", 3.5]
extra = { nested = { deep = true }, n = 2 }
has_headers = false

[[stages]]
id = "extra"
function = "extra.fn"
inputs = ["shape"]

[[stages]]
id = "save"
function = "test.sink"
inputs = ["extra", "load"]
[stages.config]
path = "out/${region}.csv"
)";

TEST_F(LoaderTest, LoadsAFullFileWithEverySection) {
    LoadResult r = load(kFullFile);
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_TRUE(r.diagnostics.all().empty()) << r.diagnostics.to_string();
    const PipelineSpec& p = *r.pipeline;

    EXPECT_EQ(p.name, "orders");
    EXPECT_EQ(p.version, "2.1.0");
    EXPECT_EQ(p.description, "Nightly orders export");
    EXPECT_EQ(p.file, "pipe.toml");

    const GlobalSpec& g = p.global;
    EXPECT_EQ(g.executor, ExecutorKind::Channel);
    EXPECT_EQ(g.channel_buffer_size, 250u);
    EXPECT_EQ(g.concurrency, 4u);
    EXPECT_EQ(g.log_level, "warning");
    ASSERT_TRUE(g.plugins.has_value());
    EXPECT_EQ(*g.plugins, std::vector<std::string>{"extra"});
    EXPECT_EQ(g.execution_mode, ExecutionMode::Streaming);
    ASSERT_TRUE(g.timeout_seconds.has_value());
    EXPECT_DOUBLE_EQ(*g.timeout_seconds, 90.5);
    EXPECT_EQ(g.workers, 3u);
    EXPECT_EQ(g.batch_size, 2048u);
    EXPECT_EQ(g.max_buffered_bytes, 512'000'000u);
    EXPECT_DOUBLE_EQ(g.shutdown_timeout_seconds, 5.0);
    EXPECT_EQ(g.variables, (std::map<std::string, std::string>{{"region", "eu"}}));

    const ErrorHandlingSpec& e = p.error_handling;
    EXPECT_EQ(e.strategy, ErrorStrategy::Retry);
    EXPECT_EQ(e.max_retries, 5u);
    EXPECT_DOUBLE_EQ(e.retry_delay_seconds, 0.5);
    EXPECT_DOUBLE_EQ(e.max_retry_delay_seconds, 30.0);
    EXPECT_TRUE(e.dead_letter_enabled);
    EXPECT_EQ(e.dead_letter_path, "failed.jsonl");

    ASSERT_EQ(p.stages.size(), 4u);
    const StageSpec& load_stage = p.stages[0];
    EXPECT_EQ(load_stage.id, "load");
    EXPECT_EQ(load_stage.function, "test.source");
    EXPECT_TRUE(load_stage.inputs.empty());
    EXPECT_EQ(load_stage.where.to_string(), "pipe.toml:27:1");
    EXPECT_EQ(load_stage.description, "read the orders");
    EXPECT_EQ(load_stage.descriptor, registry_.find("test.source"));
    ASSERT_NE(load_stage.stage, nullptr);
    EXPECT_NE(dynamic_cast<const TrivialStage*>(load_stage.stage.get()), nullptr);

    const StageSpec& shape = p.stages[1];
    EXPECT_EQ(shape.id, "shape");
    EXPECT_EQ(shape.inputs, std::vector<std::string>{"load"});
    EXPECT_EQ(shape.where.to_string(), "pipe.toml:33:1");
    const Options& o = shape.config;
    EXPECT_EQ(o.get_string("field"), "eu");
    EXPECT_TRUE(o.given("field"));
    EXPECT_EQ(o.location("field").to_string(), "pipe.toml:38:9");
    EXPECT_TRUE(o.get_bool("flag"));
    EXPECT_EQ(o.get_int("limit"), 7);
    ASSERT_NE(o.find("ratio"), nullptr);
    EXPECT_TRUE(o.find("ratio")->is_double()); // an integer given for a Float is stored as one
    EXPECT_DOUBLE_EQ(o.get_double("ratio"), 1.0);
    EXPECT_EQ(o.get_string("mode"), "exact");
    // A single string for a StringList is normalised to a list of one.
    ASSERT_NE(o.find("columns"), nullptr);
    EXPECT_TRUE(o.find("columns")->is_list());
    EXPECT_EQ(o.get_string_list("columns"), std::vector<std::string>{"id"});
    // StringMap keeps file order (toml++ would sort the keys).
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(o.get_string_map("headers"), (Pairs{{"X-Region", "eu"}, {"Accept", "text/csv"}}));
    EXPECT_EQ(*o.find("value"),
              OptionValue(OptionValue::List{OptionValue(1), OptionValue("two"), OptionValue(3.5)}));
    EXPECT_EQ(*o.find("extra"),
              OptionValue(OptionValue::Table{
                  {"nested", OptionValue(OptionValue::Table{{"deep", OptionValue(true)}})},
                  {"n", OptionValue(2)}}));
    // The alias is stored under the canonical name.
    EXPECT_FALSE(o.get_bool("has_header"));
    EXPECT_TRUE(o.given("has_header"));
    EXPECT_EQ(o.find("has_headers"), nullptr);
    const auto* built = dynamic_cast<const TrivialStage*>(shape.stage.get());
    ASSERT_NE(built, nullptr);
    EXPECT_EQ(built->options().get_string("field"), "eu");

    EXPECT_EQ(p.stages[2].function, "extra.fn");
    EXPECT_EQ(p.stages[3].inputs, (std::vector<std::string>{"extra", "load"}));
    EXPECT_EQ(p.stages[3].config.get_string("path"), "out/eu.csv");
    EXPECT_EQ(p.find_stage("save"), &p.stages[3]);
}

TEST_F(LoaderTest, AppliesDocumentedDefaults) {
    LoadResult r = load(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
[stages.config]
field = "f"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["shape"]
[stages.config]
path = "out.csv"
)",
                        {}, "jobs/nightly_orders.toml");
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    const PipelineSpec& p = *r.pipeline;
    EXPECT_EQ(p.name, "nightly_orders"); // the file stem
    EXPECT_EQ(p.version, "");
    EXPECT_EQ(p.description, "");

    const GlobalSpec g;
    EXPECT_EQ(p.global.executor, ExecutorKind::Dag);
    EXPECT_EQ(p.global.channel_buffer_size, 100u);
    EXPECT_EQ(p.global.concurrency, 10u);
    EXPECT_EQ(p.global.log_level, "info");
    EXPECT_FALSE(p.global.plugins.has_value());
    EXPECT_EQ(p.global.execution_mode, ExecutionMode::Batch);
    EXPECT_FALSE(p.global.timeout_seconds.has_value());
    EXPECT_TRUE(p.global.variables.empty());
    EXPECT_EQ(p.global.workers, 0u);
    EXPECT_EQ(p.global.batch_size, g.batch_size);
    EXPECT_EQ(p.global.max_buffered_bytes, 0u);
    EXPECT_DOUBLE_EQ(p.global.shutdown_timeout_seconds, 10.0);

    EXPECT_EQ(p.error_handling.strategy, ErrorStrategy::Stop);
    EXPECT_EQ(p.error_handling.max_retries, 3u);
    EXPECT_DOUBLE_EQ(p.error_handling.retry_delay_seconds, 1.0);
    EXPECT_DOUBLE_EQ(p.error_handling.max_retry_delay_seconds, 60.0);
    EXPECT_FALSE(p.error_handling.dead_letter_enabled);

    // Defaults are stored, marked as not given, located at the config table (or the stage).
    const Options& src = p.stages[0].config;
    EXPECT_EQ(src.get_int("count"), 10);
    EXPECT_FALSE(src.given("count"));
    EXPECT_EQ(src.location("count").to_string(), "jobs/nightly_orders.toml:1:1");

    const Options& map = p.stages[1].config;
    EXPECT_FALSE(map.get_bool("flag"));
    EXPECT_EQ(map.get_int("limit"), 10);
    EXPECT_EQ(map.get_string("mode"), "safe");
    EXPECT_TRUE(map.get_bool("has_header"));
    EXPECT_FALSE(map.given("mode"));
    EXPECT_EQ(map.location("mode").to_string(), "jobs/nightly_orders.toml:9:1");
    EXPECT_EQ(map.find("ratio"), nullptr); // no default: absent
    EXPECT_EQ(map.find("columns"), nullptr);
}

TEST_F(LoaderTest, ReadsAFileAndNamesThePipelineAfterItsStem) {
    test::TempDir dir;
    const std::string path = dir.write("daily-report.toml", R"([[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "x.csv"
)");
    LoadResult r = load_pipeline_file(path, registry_);
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_EQ(r.pipeline->name, "daily-report");
    EXPECT_EQ(r.pipeline->file, path);
    EXPECT_EQ(r.pipeline->stages[1].where.to_string(), path + ":5:1");
}

TEST_F(LoaderTest, MissingFileIsNoInput) {
    test::TempDir dir;
    const std::string path = dir.file("absent.toml");
    LoadResult r = load_pipeline_file(path, registry_);
    EXPECT_FALSE(r.pipeline.has_value());
    EXPECT_EQ(r.failure, ErrorKind::NoInput);
    EXPECT_EQ(errors(r), std::vector<std::string>{
                             path + ": error: cannot read the pipeline file: No such file or "
                                    "directory"});
}

TEST_F(LoaderTest, DirectoryIsNoInput) {
    test::TempDir dir;
    LoadResult r = load_pipeline_file(dir.path(), registry_);
    EXPECT_FALSE(r.pipeline.has_value());
    EXPECT_EQ(r.failure, ErrorKind::NoInput);
    EXPECT_EQ(errors(r), std::vector<std::string>{dir.path() +
                                                  ": error: cannot read the pipeline file: it is a "
                                                  "directory"});
}

TEST_F(LoaderTest, SyntaxErrorIsOneDiagnosticWithPosition) {
    LoadResult r = load(R"(
[global]
executor =
concurrency = "x"
)");
    EXPECT_FALSE(r.pipeline.has_value());
    EXPECT_EQ(r.failure, ErrorKind::Config);
    EXPECT_EQ(errors(r), std::vector<std::string>{
                             "pipe.toml:2:11: error: invalid TOML: error while parsing key-value "
                             "pair: expected value, saw '\\n'"});
}

TEST_F(LoaderTest, DuplicateKeyIsASyntaxError) {
    EXPECT_EQ(load_errors(R"(
[global]
log_level = "debug"
log_level = "info"
)"),
              std::vector<std::string>{"pipe.toml:3:13: error: invalid TOML: error while parsing "
                                       "key-value pair: cannot redefine existing string "
                                       "'log_level'"});
}

} // namespace
} // namespace conveyor
