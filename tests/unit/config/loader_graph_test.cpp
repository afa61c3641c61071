// The loader: the stages and the graph they form (ids, functions, inputs, cycles, plugins,
// streaming, named outputs), every problem reported at once.

#include "unit/config/loader_test_support.hpp"

namespace conveyor {
namespace {

using test::errors;
using test::LoaderTest;
using test::toml_text;
using test::TrivialStage;
using test::warnings;

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
                  // At the input that closes each cycle: join's "c", x's "y".
                  "pipe.toml:8:19: error: stage 'join': stages form a cycle: join -> b -> c -> "
                  "join",
                  "pipe.toml:23:11: error: stage 'x': stages form a cycle: x -> y -> x"}));
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
                  "pipe.toml:2:20: error: unknown plugin 'mongodb' in [global] plugins: "
                  "conveyor has no MongoDB plugin yet, see README's Roadmap (available plugins: "
                  "test, extra)",
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

} // namespace
} // namespace conveyor
