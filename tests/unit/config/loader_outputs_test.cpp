// The loader: two file sinks, or a file sink and the dead-letter queue, never write one file
// (each renames its temporary file into place at commit, so one output replaced the other
// and the run exited 0).

#include "unit/config/loader_test_support.hpp"

namespace conveyor {
namespace {

using test::LoaderTest;

TEST_F(LoaderTest, TwoFileSinksWritingOneFileAreAnError) {
    EXPECT_EQ(load_errors(R"(
[error_handling]
strategy = "continue"
dead_letter_queue = { enabled = true, path = "out/../bad.jsonl" }

[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "all"
function = "test.file_sink"
inputs = ["load"]
[stages.config]
path = "out/all.csv"

[[stages]]
id = "some"
function = "test.file_sink"
inputs = ["load"]
[stages.config]
path = "./out//all.csv"

[[stages]]
id = "bad"
function = "test.file_sink"
inputs = ["load"]
[stages.config]
path = "bad.jsonl"
)"),
              (std::vector<std::string>{
                  "pipe.toml:21:8: error: stage 'some': path './out//all.csv' is also written by "
                  "stage 'all' (pipe.toml:14:8): one output would replace the other; give each "
                  "sink its own file",
                  "pipe.toml:28:8: error: stage 'bad': path 'bad.jsonl' is the dead-letter "
                  "queue's file (pipe.toml:3:46): one would replace the other; give each its "
                  "own file"}));
}

TEST_F(LoaderTest, FileSinksMayShareStandardOutputAndDevices) {
    LoadResult r = load(R"(
[[stages]]
id = "load"
function = "test.source"

[[stages]]
id = "a"
function = "test.file_sink"
inputs = ["load"]
[stages.config]
path = "/dev/null"

[[stages]]
id = "b"
function = "test.file_sink"
inputs = ["load"]
[stages.config]
path = "/dev/null"

[[stages]]
id = "c"
function = "test.file_sink"
inputs = ["load"]
[stages.config]
path = "-"

[[stages]]
id = "d"
function = "test.file_sink"
inputs = ["load"]
[stages.config]
path = "-"

[[stages]]
id = "e"
function = "test.sink"
inputs = ["load"]
[stages.config]
path = "-"
)");
    EXPECT_TRUE(r.pipeline.has_value()) << test::errors(r).front();
}

} // namespace
} // namespace conveyor
