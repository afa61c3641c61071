// The loader: ${VAR} references, defaults and escapes, [global.variables] and the types
// of values that are exactly one variable.

#include "unit/config/loader_test_support.hpp"

namespace conveyor {
namespace {

using test::errors;
using test::LoaderTest;
using test::toml_text;
using test::TrivialStage;
using test::warnings;

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

} // namespace
} // namespace conveyor
