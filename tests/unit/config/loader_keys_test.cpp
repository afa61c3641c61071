// The loader: unknown keys (with did-you-mean), wrong types, [error_handling] values and
// stage options, each reported where it was written.

#include "unit/config/loader_test_support.hpp"

namespace conveyor {
namespace {

using test::errors;
using test::LoaderTest;
using test::toml_text;
using test::TrivialStage;
using test::warnings;

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

TEST_F(LoaderTest, AnUnknownStageKeyWithNothingCloseListsTheFunctionsKeys) {
    EXPECT_EQ(load_errors(R"(
[[stages]]
id = "load"
function = "test.source"
[stages.config]
rows = 5
)"),
              std::vector<std::string>{
                  "pipe.toml:5:1: error: stage 'load': unknown key 'rows' in [stages.config]: "
                  "test.source takes count (conveyor describe test.source)"});
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
