#include "conveyor/config/loader.hpp"
#include "conveyor/registry/registry.hpp"
#include "support/process.hpp"
#include "unit/config/fake_functions.hpp"

#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

namespace conveyor {
namespace {

using test::TrivialStage;

/// Drops the newline after R"( so that the first line of the text is line 1.
std::string toml_text(std::string_view raw) {
    if (!raw.empty() && raw.front() == '\n') raw.remove_prefix(1);
    return std::string(raw);
}

std::vector<std::string> errors(const LoadResult& r) {
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics.all())
        if (d.severity == Diagnostic::Severity::Error) out.push_back(d.to_string());
    return out;
}

std::vector<std::string> warnings(const LoadResult& r) {
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics.all())
        if (d.severity == Diagnostic::Severity::Warning) out.push_back(d.to_string());
    return out;
}

class LoaderTest : public ::testing::Test {
protected:
    LoaderTest() { test::register_test_functions(registry_); }

    LoadResult load(std::string_view raw, LoadOptions options = {},
                    std::string label = "pipe.toml") {
        if (!options.getenv)
            options.getenv = [this](std::string_view name) -> std::optional<std::string> {
                auto it = env_.find(std::string(name));
                if (it == env_.end()) return std::nullopt;
                return it->second;
            };
        return load_pipeline_text(toml_text(raw), std::move(label), registry_, options);
    }

    /// Loads `raw`, expecting failure, and returns the errors.
    std::vector<std::string> load_errors(std::string_view raw, LoadOptions options = {}) {
        LoadResult r = load(raw, std::move(options));
        EXPECT_FALSE(r.pipeline.has_value());
        EXPECT_EQ(r.failure, ErrorKind::Config);
        return errors(r);
    }

    Registry registry_;
    std::map<std::string, std::string> env_;
};

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
    EXPECT_EQ(errors(r), std::vector<std::string>{"error: cannot read pipeline file '" + path +
                                                  "': No such file or directory"});
}

TEST_F(LoaderTest, DirectoryIsNoInput) {
    test::TempDir dir;
    LoadResult r = load_pipeline_file(dir.path(), registry_);
    EXPECT_FALSE(r.pipeline.has_value());
    EXPECT_EQ(r.failure, ErrorKind::NoInput);
    EXPECT_EQ(errors(r), std::vector<std::string>{"error: cannot read pipeline file '" +
                                                  dir.path() + "': it is a directory"});
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

// ---- variables -------------------------------------------------------------------------------

constexpr std::string_view kVariablesFile = R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
[stages.config]
field = "${USER_FIELD}"
mode = "${MODE:-fast}"
columns = ["${COL_A}", "b${EMPTY:-}c", "$${LITERAL}", "cost: $5 $$", "{{ id }}", "${{ id }"]
headers = { Authorization = "Bearer ${TOKEN}" }
extra = { url = "https://x/{{ id }}/${SEG}", list = ["${SEG}"], "${SEG}" = "key" }

[[stages]]
id = "save"
function = "test.sink"
inputs = ["shape"]
[stages.config]
path = "${OUT_DIR:-/tmp}/out.csv"
)";

TEST_F(LoaderTest, ExpandsEnvironmentVariablesDefaultsAndEscapes) {
    env_ = {{"USER_FIELD", "name"},
            {"COL_A", "a"},
            {"TOKEN", "t0k"},
            {"SEG", "users"},
            {"OUT_DIR", ""}};
    // "${{ id }" has an invalid name: remove it first to check the valid cases.
    std::string text(kVariablesFile);
    text.replace(text.find(", \"${{ id }\""), std::string(", \"${{ id }\"").size(), "");
    LoadResult r = load(text);
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    const Options& o = r.pipeline->stages[1].config;
    EXPECT_EQ(o.get_string("field"), "name");
    EXPECT_EQ(o.get_string("mode"), "fast");
    EXPECT_EQ(o.get_string_list("columns"),
              (std::vector<std::string>{"a", "bc", "${LITERAL}", "cost: $5 $$", "{{ id }}"}));
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(o.get_string_map("headers"), (Pairs{{"Authorization", "Bearer t0k"}}));
    const OptionValue& extra = *o.find("extra");
    ASSERT_NE(extra.find("url"), nullptr);
    EXPECT_EQ(extra.find("url")->as_string(), "https://x/{{ id }}/users");
    EXPECT_EQ(*extra.find("list"), OptionValue(OptionValue::List{OptionValue("users")}));
    // Keys are never expanded.
    ASSERT_NE(extra.find("${SEG}"), nullptr);
    EXPECT_EQ(extra.find("${SEG}")->as_string(), "key");
    // Like the shell: an empty variable takes the default too.
    EXPECT_EQ(r.pipeline->stages[2].config.get_string("path"), "/tmp/out.csv");
}

TEST_F(LoaderTest, InvalidVariableReferenceIsAnError) {
    env_ = {{"USER_FIELD", "name"}, {"COL_A", "a"}, {"TOKEN", "t0k"}, {"SEG", "users"}};
    EXPECT_EQ(load_errors(kVariablesFile),
              std::vector<std::string>{
                  "pipe.toml:12:82: error: stage 'shape': invalid variable name '{ id ' in "
                  "\"${{ id }\": names are letters, digits and '_', not starting with a digit "
                  "(write '$${' for a literal '${')"});
}

TEST_F(LoaderTest, UnsetVariableIsAnErrorNamingIt) {
    EXPECT_EQ(load_errors(R"(
[global]
executor = "${EXECUTOR}"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "${OUT}/x.csv"
)"),
              (std::vector<std::string>{
                  // The failed value is not also reported as an invalid executor.
                  "pipe.toml:2:12: error: variable 'EXECUTOR' is not set (used in "
                  "\"${EXECUTOR}\"); set it in the environment or in [global.variables], or give "
                  "a default: ${EXECUTOR:-value}",
                  "pipe.toml:13:8: error: stage 'save': variable 'OUT' is not set (used in "
                  "\"${OUT}/x.csv\"); set it in the environment or in [global.variables], or "
                  "give a default: ${OUT:-value}"}));
}

TEST_F(LoaderTest, UnterminatedReferenceAndColonWithoutDash) {
    EXPECT_EQ(load_errors(R"(
[pipeline]
name = "${NAME"
description = "${MODE:fast}"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:8: error: unterminated '${' in \"${NAME\": a variable reference "
                  "ends with '}' (write '$${' for a literal '${')",
                  "pipe.toml:3:15: error: invalid variable name 'MODE:fast' in "
                  "\"${MODE:fast}\": names are letters, digits and '_', not starting with a digit "
                  "(for a default value write '${MODE:-fast}')"}));
}

TEST_F(LoaderTest, GlobalVariablesComeBeforeTheEnvironment) {
    env_ = {{"region", "us"}, {"HOME_DIR", "/home/u"}};
    LoadResult r = load(R"(
[global.variables]
region = "eu"
data = "${HOME_DIR}/data"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "${data}/${region}.csv"
)");
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_EQ(r.pipeline->stages[1].config.get_string("path"), "/home/u/data/eu.csv");
    EXPECT_EQ(r.pipeline->global.variables,
              (std::map<std::string, std::string>{{"data", "/home/u/data"}, {"region", "eu"}}));
}

TEST_F(LoaderTest, GlobalVariablesUseEachOtherInAnyOrderAndTheEnvironment) {
    env_ = {{"HOME_DIR", "/home/u"}};
    LoadResult r = load(R"(
[global.variables]
out = "${base}/out"
base = "${HOME_DIR}/${name}"
name = "job"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "${out}/x.csv"
)");
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_EQ(r.pipeline->stages[1].config.get_string("path"), "/home/u/job/out/x.csv");
    EXPECT_EQ(r.pipeline->global.variables.at("out"), "/home/u/job/out");
}

TEST_F(LoaderTest, ACycleOfGlobalVariablesIsOneErrorNamingIt) {
    EXPECT_EQ(load_errors(R"(
[global.variables]
a = "${b}/x"
b = "${c}"
c = "${a}"
d = "${a}-d"
n = 5

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "${d}"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:5: error: [global.variables] refer to each other in a cycle: "
                  "a -> b -> c -> a",
                  "pipe.toml:6:5: error: variable 'n' in [global.variables] must be a string, "
                  "not integer 5 (quote it)"}));
}

TEST_F(LoaderTest, AnUnsetVariableInsideAGlobalVariableIsReportedThere) {
    EXPECT_EQ(load_errors(R"(
[global.variables]
a = "${NOT_SET_ANYWHERE}"
b = "${a}"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "${b}"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:5: error: variable 'NOT_SET_ANYWHERE' is not set (used in "
                  "\"${NOT_SET_ANYWHERE}\"); set it in the environment or in [global.variables], "
                  "or give a default: ${NOT_SET_ANYWHERE:-value}"}));
}

TEST_F(LoaderTest, AValueThatIsExactlyOneVariableTakesTheTypeOfItsOption) {
    env_ = {{"W", "3"}, {"RATIO", "0.25"}, {"FLAG", "true"}, {"ID", "007"}};
    LoadResult r = load(R"(
[global]
workers = "${W}"
lock = "${LOCK:-true}"
timeout_seconds = "${T:-1.5}"

[[stages]]
id = "load"
function = "test.source"
[stages.config]
count = "${COUNT:-42}"

[[stages]]
id = "m"
function = "test.map"
inputs = ["load"]
[stages.config]
field = "${ID}"
flag = "${FLAG}"
ratio = "${RATIO}"
limit = "${W}"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["m"]
[stages.config]
path = "${ID}.csv"
)");
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    const PipelineSpec& p = *r.pipeline;
    EXPECT_EQ(p.global.workers, 3u);
    EXPECT_TRUE(p.global.lock);
    EXPECT_EQ(p.global.timeout_seconds, 1.5);
    EXPECT_EQ(p.stages[0].config.get_int("count"), 42);
    EXPECT_EQ(p.stages[1].config.get_string("field"), "007") << "a string option stays a string";
    EXPECT_TRUE(p.stages[1].config.get_bool("flag"));
    EXPECT_EQ(p.stages[1].config.get_double("ratio"), 0.25);
    EXPECT_EQ(p.stages[1].config.get_int("limit"), 3);
}

TEST_F(LoaderTest, AVariableThatDoesNotReadAsItsOptionsTypeIsAnErrorNamingIt) {
    env_ = {{"W", "two"}, {"L", "500"}};
    EXPECT_EQ(load_errors(R"(
[global]
workers = "${W:-2}"
lock = "${LOCK:-yes}"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "m"
function = "test.map"
inputs = ["load"]
[stages.config]
field = "x"
limit = "${L}"
ratio = "half ${L}"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["m"]
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:11: error: [global] workers must be an integer, not string "
                  "\"two\" (the value of ${W:-2})",
                  "pipe.toml:3:8: error: [global] lock must be a boolean (true or false), not "
                  "string \"yes\" (the value of ${LOCK:-yes})",
                  "pipe.toml:15:9: error: stage 'm': key 'limit' must be between 1 and 100, got "
                  "500",
                  "pipe.toml:16:9: error: stage 'm': key 'ratio' must be a number, not string "
                  "\"half 500\""}));
}

TEST_F(LoaderTest, UsesTheProcessEnvironmentByDefault) {
    ::setenv("CONVEYOR_LOADER_TEST_PATH", "from-env.csv", 1);
    LoadResult r = load_pipeline_text(toml_text(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "${CONVEYOR_LOADER_TEST_PATH}"
)"),
                                      "pipe.toml", registry_);
    ::unsetenv("CONVEYOR_LOADER_TEST_PATH");
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_EQ(r.pipeline->stages[1].config.get_string("path"), "from-env.csv");
}

// ---- unknown keys and wrong types ------------------------------------------------------------

TEST_F(LoaderTest, UnknownKeysEverywhereSuggestTheClosest) {
    EXPECT_EQ(
        load_errors(R"(
[pipeline]
nme = "x"

[global]
chanel_buffer_size = 10

[error_handling]
strategi = "stop"
dead_letter_queue = { enabled = true, pth = "x" }

[stage]
id = "oops"

[[stages]]
id = "load"
functon = "test.source"

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
flag = true
[stages.config]
field = "f"
limt = 5

[[stages]]
id = "save"
function = "test.sink"
inputs = ["shape"]
concurrency = 3
[stages.config]
path = "p"
)"),
        (std::vector<std::string>{
            "pipe.toml:2:1: error: unknown key 'nme' in [pipeline] (did you mean 'name'?)",
            "pipe.toml:5:1: error: unknown key 'chanel_buffer_size' in [global] (did you mean "
            "'channel_buffer_size'?)",
            "pipe.toml:8:1: error: unknown key 'strategi' in [error_handling] (did you mean "
            "'strategy'?)",
            "pipe.toml:9:21: error: dead_letter_queue is enabled but has no 'path' (the file that "
            "receives failed records)",
            "pipe.toml:9:39: error: unknown key 'pth' in [error_handling] dead_letter_queue (did "
            "you mean 'path'?)",
            "pipe.toml:11:2: error: unknown table [stage] (did you mean [[stages]]?)",
            "pipe.toml:14:1: error: stage 'load': missing 'function' (the function the stage "
            "runs, e.g. \"csv.read\")",
            "pipe.toml:16:1: error: stage 'load': unknown key 'functon' in [[stages]] (did you "
            "mean 'function'?)",
            "pipe.toml:22:1: error: stage 'shape': unknown key 'flag' in [[stages]]: options of "
            "'test.map' go in [stages.config]",
            "pipe.toml:25:1: error: stage 'shape': unknown key 'limt' in [stages.config] (did "
            "you mean 'limit'?)",
            "pipe.toml:31:1: error: stage 'save': unknown key 'concurrency' in [[stages]] "
            "([global] settings go in [global], before the first [[stages]])"}));
}

TEST_F(LoaderTest, UnknownTopLevelEntries) {
    EXPECT_EQ(load_errors(R"(
concurrency = 10
version = "1"
colour = "red"

[globals]
executor = "dag"

[[stage]]
id = "x"
)"),
              (std::vector<std::string>{
                  "pipe.toml: error: the pipeline has no stages: add at least one [[stages]] "
                  "table",
                  "pipe.toml:1:1: error: unknown top-level key 'concurrency' (it belongs in "
                  "[global])",
                  "pipe.toml:2:1: error: unknown top-level key 'version' (it belongs in "
                  "[pipeline])",
                  "pipe.toml:3:1: error: unknown top-level key 'colour'",
                  "pipe.toml:5:2: error: unknown table [globals] (did you mean [global]?)",
                  "pipe.toml:8:3: error: unknown table [[stage]] (did you mean [[stages]]?)"}));
}

TEST_F(LoaderTest, WrongTypesNameWhatWasExpectedAndGiven) {
    EXPECT_EQ(load_errors(R"(
[global]
channel_buffer_size = "100"
executor = "chanel"
concurrency = 0
plugins = "extra"
timeout_seconds = -1
log_level = 3
max_buffered_bytes = "lots"
execution_mode = "stream"
batch_size = 2000000
workers = 1.5

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = "load"
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:23: error: [global] channel_buffer_size must be a positive "
                  "integer, not string \"100\" (remove the quotes)",
                  "pipe.toml:3:12: error: [global] executor must be one of \"dag\", \"channel\", "
                  "\"async\", not \"chanel\" (did you mean 'channel'?)",
                  "pipe.toml:4:15: error: [global] concurrency must be between 1 and 100000, got 0",
                  "pipe.toml:5:11: error: [global] plugins must be an array of plugin names, not "
                  "string \"extra\" (write plugins = [\"extra\"])",
                  "pipe.toml:6:19: error: [global] timeout_seconds must be a number of seconds "
                  "greater than 0 up to 31536000, got -1",
                  "pipe.toml:7:13: error: [global] log_level must be a string, not integer 3",
                  "pipe.toml:8:22: error: [global] max_buffered_bytes must be a positive number of "
                  "bytes, either an integer or a string with a unit such as \"512MB\" or "
                  "\"2GiB\" (up to 1PiB), not string \"lots\"",
                  "pipe.toml:9:18: error: [global] execution_mode must be one of \"batch\", "
                  "\"streaming\", not \"stream\" (did you mean 'streaming'?)",
                  "pipe.toml:10:14: error: [global] batch_size must be between 1 and 1000000, got "
                  "2000000",
                  "pipe.toml:11:11: error: [global] workers must be an integer, not float 1.5",
                  "pipe.toml:20:10: error: stage 'save': 'inputs' must be an array of stage ids, "
                  "not string \"load\" (write inputs = [\"load\"])"}));
}

TEST_F(LoaderTest, ErrorHandlingValues) {
    EXPECT_EQ(load_errors(R"(
[error_handling]
strategy = "abort"
max_retries = -1
retry_delay_seconds = 5
max_retry_delay_seconds = 1
dead_letter_queue = { enabled = "yes", path = "" }

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:12: error: [error_handling] strategy must be one of \"stop\", "
                  "\"continue\", \"retry\", not \"abort\"",
                  "pipe.toml:3:15: error: [error_handling] max_retries must be between 0 and "
                  "1000, got -1",
                  "pipe.toml:5:27: error: [error_handling] max_retry_delay_seconds (1) must not "
                  "be less than retry_delay_seconds (5)",
                  "pipe.toml:6:33: error: dead_letter_queue.enabled must be a boolean (true or "
                  "false), not string \"yes\""}));
}

TEST_F(LoaderTest, DeadLetterPathWithoutEnabledIsAWarning) {
    LoadResult r = load(R"(
[error_handling]
dead_letter_queue = { path = "dlq.jsonl" }
retry_delay_seconds = 90

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "p"
)");
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_EQ(warnings(r), std::vector<std::string>{
                               "pipe.toml:2:21: warning: dead_letter_queue has a path but is not "
                               "enabled (add enabled = true to use it)"});
    EXPECT_FALSE(r.pipeline->error_handling.dead_letter_enabled);
    // Without an explicit cap, the cap grows to the first delay.
    EXPECT_DOUBLE_EQ(r.pipeline->error_handling.max_retry_delay_seconds, 90.0);
}

struct BytesCase {
    std::string value;
    std::uint64_t bytes;
};

class MaxBufferedBytesTest : public LoaderTest, public ::testing::WithParamInterface<BytesCase> {};

TEST_P(MaxBufferedBytesTest, ParsesUnits) {
    const std::string text = "[global]\nmax_buffered_bytes = " + GetParam().value + R"(
[[stages]]
id = "load"
function = "test.source"
[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
config = { path = "p" }
)";
    LoadResult r = load(text);
    if (GetParam().bytes == 0) {
        EXPECT_FALSE(r.pipeline.has_value());
        ASSERT_EQ(errors(r).size(), 1u) << r.diagnostics.to_string();
        EXPECT_NE(errors(r)[0].find("pipe.toml:2:22: error: [global] max_buffered_bytes must be "
                                    "a positive number of bytes"),
                  std::string::npos)
            << errors(r)[0];
        return;
    }
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_EQ(r.pipeline->global.max_buffered_bytes, GetParam().bytes);
}

INSTANTIATE_TEST_SUITE_P(
    Units, MaxBufferedBytesTest,
    ::testing::Values(BytesCase{"\"512MB\"", 512'000'000}, BytesCase{"\"2GiB\"", 2147483648},
                      BytesCase{"1024", 1024}, BytesCase{"\"1.5 kb\"", 1500},
                      BytesCase{"\"64 KiB\"", 65536}, BytesCase{"\"100\"", 100},
                      BytesCase{"\"3t\"", 3'000'000'000'000}, BytesCase{"0", 0},
                      BytesCase{"\"0MB\"", 0}, BytesCase{"\"lots\"", 0},
                      BytesCase{"\"12 parsecs\"", 0}, BytesCase{"-5", 0}, BytesCase{"1.5", 0},
                      BytesCase{"\"MB\"", 0}, BytesCase{"\"2000PiB\"", 0}));

// ---- stages and the graph --------------------------------------------------------------------

TEST_F(LoaderTest, StageProblemsAreAllReported) {
    EXPECT_EQ(
        load_errors(R"(
[[stages]]
function = "test.source"

[[stages]]
id = ""
function = "test.source"

[[stages]]
id = "load"
function = "test.sourse"

[[stages]]
id = "load"
function = "test.source"
inputs = ["nothing"]

[[stages]]
id = "shape"
inputs = ["lod"]

[[stages]]
id = "mapped"
function = "test.map"
inputs = ["mapped"]
[stages.config]
field = "f"

[[stages]]
id = "orphan"
function = "test.map"
[stages.config]
field = "f"

[[stages]]
id = "save"
function = "test.sink"
inputs = []
[stages.config]
path = "p"

[[stages]]
id = "both"
function = "test.join"
inputs = ["load"]

[[stages]]
id = "two"
function = "test.map"
inputs = ["load", "load"]
[stages.config]
field = "f"
)"),
        (std::vector<std::string>{
            "pipe.toml:1:1: error: the first [[stages]] entry has no 'id' (every stage needs a "
            "unique id)",
            "pipe.toml:5:6: error: stage id must not be empty",
            "pipe.toml:10:12: error: stage 'load': unknown function 'test.sourse' (did you mean "
            "'test.source'?)",
            "pipe.toml:13:6: error: stage 'load': duplicate stage id 'load' (first defined at "
            "pipe.toml:8:1)",
            "pipe.toml:15:10: error: stage 'load': 'test.source' is a source and reads no "
            "inputs, but 'inputs' lists 1 stage (write inputs = [] or leave it out)",
            "pipe.toml:15:11: error: stage 'load': input 'nothing' is not the id of any stage "
            "(stages: load, shape, mapped, orphan, save, both, two)",
            "pipe.toml:17:1: error: stage 'shape': missing 'function' (the function the stage "
            "runs, e.g. \"csv.read\")",
            "pipe.toml:19:11: error: stage 'shape': input 'lod' is not the id of any stage (did "
            "you mean 'load'?)",
            "pipe.toml:24:11: error: stage 'mapped': stage lists itself in 'inputs'",
            "pipe.toml:28:1: error: stage 'orphan': 'test.map' is a transform and needs an input: "
            "list the stages it reads in 'inputs', e.g. inputs = [\"load\"]",
            "pipe.toml:37:10: error: stage 'save': 'test.sink' is a sink and needs an input: list "
            "the stages it reads in 'inputs', e.g. inputs = [\"load\"]",
            "pipe.toml:44:10: error: stage 'both': 'test.join' needs at least 2 inputs, but "
            "'inputs' lists 1",
            "pipe.toml:49:10: error: stage 'two': 'test.map' takes at most 1 input, but 'inputs' "
            "lists 2",
            "pipe.toml:49:19: error: stage 'two': input 'load' is listed more than once in "
            "'inputs' (first at pipe.toml:49:11); each listed stage's records would arrive once "
            "per listing"}));
}

TEST_F(LoaderTest, UnknownFunctionWithoutCloseMatchPointsToList) {
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "mongodb.find"
)"),
              std::vector<std::string>{"pipe.toml:3:12: error: stage 'load': unknown function "
                                       "'mongodb.find' (`conveyor list` shows every function)"});
}

TEST_F(LoaderTest, CyclesArePrintedAsPaths) {
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "join"
function = "test.join"
inputs = ["load", "c"]

[[stages]]
id = "b"
function = "extra.fn"
inputs = ["join"]

[[stages]]
id = "c"
function = "extra.fn"
inputs = ["b"]

[[stages]]
id = "x"
function = "extra.fn"
inputs = ["y"]

[[stages]]
id = "y"
function = "extra.fn"
inputs = ["x"]

[[stages]]
id = "save"
function = "test.sink"
inputs = ["c", "y"]
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:5:1: error: stage 'join': stages form a cycle: join -> b -> c -> join",
                  "pipe.toml:20:1: error: stage 'x': stages form a cycle: x -> y -> x"}));
}

TEST_F(LoaderTest, OptionalPluginMustBeListedWhenPluginsAreGiven) {
    constexpr std::string_view kText = R"(
[global]
plugins = [%s]

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "more"
function = "extra.fn"
inputs = ["load"]

[[stages]]
id = "save"
function = "test.sink"
inputs = ["more"]
[stages.config]
path = "p"
)";
    auto with = [&](std::string_view plugins) {
        std::string text(kText);
        text.replace(text.find("%s"), 2, plugins);
        return text;
    };
    EXPECT_EQ(load_errors(with("\"test\"")),
              std::vector<std::string>{
                  "pipe.toml:10:12: error: stage 'more': function 'extra.fn' belongs to plugin "
                  "'extra', which is not enabled: add \"extra\" to [global] plugins"});
    LoadResult enabled = load(with("\"extra\""));
    EXPECT_TRUE(enabled.pipeline.has_value()) << enabled.diagnostics.to_string();

    // Without a plugins list every plugin is on.
    std::string all(kText);
    all.erase(0, all.find("[[stages]]"));
    LoadResult r = load(all);
    EXPECT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
}

TEST_F(LoaderTest, UnknownPluginsAreErrorsWithoutKnockOnErrors) {
    EXPECT_EQ(load_errors(R"(
[global]
plugins = ["extr", "mongodb", 3]

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "more"
function = "extra.fn"
inputs = ["load"]

[[stages]]
id = "save"
function = "test.sink"
inputs = ["more"]
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:12: error: unknown plugin 'extr' in [global] plugins (did you "
                  "mean 'extra'?)",
                  "pipe.toml:2:20: error: unknown plugin 'mongodb' in [global] plugins "
                  "(available plugins: test, extra)",
                  "pipe.toml:2:31: error: each entry of [global] plugins must be a string, not "
                  "integer 3"}));
}

TEST_F(LoaderTest, StreamingModeRefusesStagesThatNeedTheWholeInput) {
    constexpr std::string_view kText = R"(
[global]
execution_mode = "%s"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "sorted"
function = "test.sort"
inputs = ["load"]

[[stages]]
id = "save"
function = "test.sink"
inputs = ["sorted"]
[stages.config]
path = "p"
)";
    auto with = [&](std::string_view mode) {
        std::string text(kText);
        text.replace(text.find("%s"), 2, mode);
        return text;
    };
    EXPECT_EQ(load_errors(with("streaming")),
              std::vector<std::string>{
                  "pipe.toml:10:12: error: stage 'sorted': function 'test.sort' needs its whole "
                  "input before it emits anything, so it cannot run with execution_mode = "
                  "\"streaming\" (use \"batch\" or remove the stage) unless a window.apply "
                  "comes before it: then it runs once per window"});
    LoadResult batch = load(with("batch"));
    EXPECT_TRUE(batch.pipeline.has_value()) << batch.diagnostics.to_string();
}

TEST_F(LoaderTest, ExecutorOverrideReplacesTheFileSetting) {
    constexpr std::string_view kText = R"(
[global]
executor = "async"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "p"
)";
    LoadResult plain = load(kText);
    ASSERT_TRUE(plain.pipeline.has_value()) << plain.diagnostics.to_string();
    EXPECT_EQ(plain.pipeline->global.executor, ExecutorKind::Async);

    LoadOptions opts;
    opts.executor_override = ExecutorKind::Channel;
    LoadResult overridden = load(kText, opts);
    ASSERT_TRUE(overridden.pipeline.has_value()) << overridden.diagnostics.to_string();
    EXPECT_EQ(overridden.pipeline->global.executor, ExecutorKind::Channel);
}

TEST_F(LoaderTest, UnusedOutputIsAWarning) {
    LoadResult r = load(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
config = { field = "f" }

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
config = { path = "p" }
)");
    ASSERT_TRUE(r.pipeline.has_value()) << r.diagnostics.to_string();
    EXPECT_EQ(warnings(r), std::vector<std::string>{
                               "pipe.toml:5:1: warning: stage 'shape': output of stage 'shape' is "
                               "not used: no stage lists it in 'inputs'"});
}

TEST_F(LoaderTest, NoStagesIsAnError) {
    EXPECT_EQ(load_errors(""),
              std::vector<std::string>{
                  "pipe.toml: error: the pipeline has no stages: add at least one [[stages]] "
                  "table"});
    EXPECT_EQ(load_errors("stages = []\n"),
              std::vector<std::string>{
                  "pipe.toml:1:10: error: the pipeline has no stages: add at least one "
                  "[[stages]] table"});
    EXPECT_EQ(load_errors("[stages]\nid = \"x\"\n"),
              std::vector<std::string>{"pipe.toml:1:1: error: stages are written as [[stages]] "
                                       "(an array of tables), not [stages]"});
}

// ---- stage options ---------------------------------------------------------------------------

TEST_F(LoaderTest, OptionProblemsAreAllReported) {
    EXPECT_EQ(
        load_errors(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
[stages.config]
flag = "yes"
limit = 500
ratio = "0.5"
mode = "fsat"
columns = ["a", 2]
headers = { A = 1 }
value = { x = 1 }
extra = 5
has_header = true
has_headers = false

[[stages]]
id = "save"
function = "test.sink"
inputs = ["shape"]
)"),
        (std::vector<std::string>{
            "pipe.toml:9:1: error: stage 'shape': missing required key 'field' in [stages.config]",
            "pipe.toml:10:8: error: stage 'shape': key 'flag' must be a boolean (true or false), "
            "not string \"yes\"",
            "pipe.toml:11:9: error: stage 'shape': key 'limit' must be between 1 and 100, got 500",
            "pipe.toml:12:9: error: stage 'shape': key 'ratio' must be a number, not string "
            "\"0.5\" (remove the quotes)",
            "pipe.toml:13:8: error: stage 'shape': key 'mode' must be one of \"fast\", \"safe\", "
            "\"exact\", not \"fsat\" (did you mean 'fast'?)",
            "pipe.toml:14:17: error: stage 'shape': element 2 of key 'columns' must be a string, "
            "not integer 2",
            "pipe.toml:15:17: error: stage 'shape': key 'headers' must be a table of strings, but "
            "'A' is integer 1 (quote it)",
            "pipe.toml:16:9: error: stage 'shape': key 'value' must be a value or an array of "
            "values, not a table",
            "pipe.toml:17:9: error: stage 'shape': key 'extra' must be a table, not integer 5",
            "pipe.toml:19:1: error: stage 'shape': keys 'has_header' and 'has_headers' set the "
            "same option ('has_headers' is an older spelling of 'has_header'): keep only "
            "'has_header'",
            "pipe.toml:21:1: error: stage 'save': missing required key 'path' in "
            "[stages.config]"}));
}

TEST_F(LoaderTest, MoreOptionTypeChecks) {
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "test.source"
config = { count = 2.0 }

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
config = 7

[[stages]]
id = "shaped"
function = "test.map"
inputs = ["shape"]
[stages.config]
field = 1
ratio = 1.5
limit = 0
columns = ["ok", "ok"]
value = 1979-05-27
extra = { when = 07:32:00 }

[[stages]]
id = "save"
function = "test.sink"
inputs = ["shaped"]
config = { path = "p" }
)"),
              (std::vector<std::string>{
                  "pipe.toml:4:20: error: stage 'load': key 'count' must be an integer, not "
                  "float 2 (a whole number without a decimal point)",
                  "pipe.toml:10:10: error: stage 'shape': 'config' must be a table (write the "
                  "options under [stages.config]), not integer 7",
                  "pipe.toml:17:9: error: stage 'shaped': key 'field' must be a string, not "
                  "integer 1",
                  "pipe.toml:18:9: error: stage 'shaped': key 'ratio' must be between 0 and 1, "
                  "got 1.5",
                  "pipe.toml:19:9: error: stage 'shaped': key 'limit' must be between 1 and 100, "
                  "got 0",
                  "pipe.toml:21:9: error: stage 'shaped': key 'value' holds a date; dates and "
                  "times are not supported, quote the value as a string",
                  "pipe.toml:22:18: error: stage 'shaped': key 'extra' holds a time; dates and "
                  "times are not supported, quote the value as a string"}));
}

TEST_F(LoaderTest, FunctionWithoutOptionsRejectsAnyKey) {
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "more"
function = "extra.fn"
inputs = ["load"]
config = { speed = 3 }

[[stages]]
id = "save"
function = "test.sink"
inputs = ["more"]
config = { path = "p" }
)"),
              std::vector<std::string>{"pipe.toml:9:12: error: stage 'more': unknown key 'speed' "
                                       "in [stages.config]: function 'extra.fn' takes no options"});
}

TEST_F(LoaderTest, FactoryErrorsAreReportedWhereTheKeyWasWritten) {
    EXPECT_EQ(load_errors(R"(
[global]
executor = "dga"

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "shape"
function = "test.map"
inputs = ["load"]
[stages.config]
mode = "fast"
field = "forbidden"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["shape"]
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:2:12: error: [global] executor must be one of \"dag\", \"channel\", "
                  "\"async\", not \"dga\" (did you mean 'dag'?)",
                  "pipe.toml:14:9: error: stage 'shape': field 'forbidden' cannot be mapped"}));
}

TEST_F(LoaderTest, ErrorsAreOrderedByPositionWhateverFoundThem) {
    // [global] is read before the stages, but written after them: the report follows the file.
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "test.source"
config = { count = "3" }

[[stages]]
id = "save"
function = "test.sink"
inputs = ["lod"]

[global]
workers = -1
)"),
              (std::vector<std::string>{
                  "pipe.toml:4:20: error: stage 'load': key 'count' must be an integer, not "
                  "string \"3\" (remove the quotes)",
                  "pipe.toml:6:1: error: stage 'save': missing required key 'path' in "
                  "[stages.config]",
                  "pipe.toml:9:11: error: stage 'save': input 'lod' is not the id of any stage "
                  "(did you mean 'load'?)",
                  "pipe.toml:12:11: error: [global] workers must be between 0 and 4096, got -1"}));
}

TEST_F(LoaderTest, FactoryThatFailsSilentlyStillFailsTheLoad) {
    FunctionDescriptor broken = test::function("test.broken", StageRole::Transform, 1, 1);
    broken.factory = [](BuildContext&) -> std::unique_ptr<Stage> { return nullptr; };
    registry_.add(std::move(broken));
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "bad"
function = "test.broken"
inputs = ["load"]

[[stages]]
id = "save"
function = "test.sink"
inputs = ["bad"]
config = { path = "p" }
)"),
              std::vector<std::string>{"pipe.toml:5:1: error: stage 'bad': function "
                                       "'test.broken' could not build the stage (no reason "
                                       "given)"});
}

} // namespace
} // namespace conveyor

namespace conveyor {
namespace {

TEST_F(LoaderTest, AStageListedTwiceInInputsIsAnErrorNotDoubledRecords) {
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load", "load"]
[stages.config]
path = "p"
)"),
              (std::vector<std::string>{
                  "pipe.toml:8:19: error: stage 'save': input 'load' is listed more than once in "
                  "'inputs' (first at pipe.toml:8:11); each listed stage's records would arrive "
                  "once per listing"}));
}

TEST_F(LoaderTest, PerStageErrorHandlingValuesNameTheStage) {
    const std::vector<std::string> errs = load_errors(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "save"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "p"
[stages.error_handling]
retry_delay_seconds = nan
max_retries = 1e3
)");
    ASSERT_EQ(errs.size(), 2u);
    EXPECT_EQ(errs[0], "pipe.toml:12:23: error: stage 'save': [stages.error_handling] "
                       "retry_delay_seconds must be a number of seconds from 0 up to 31536000, "
                       "got nan");
    EXPECT_NE(errs[1].find("stage 'save': [stages.error_handling] max_retries must be"),
              std::string::npos)
        << errs[1];
}

} // namespace
} // namespace conveyor
