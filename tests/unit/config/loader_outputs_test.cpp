// The loader: two file sinks, or a file sink and the dead-letter queue, never write one file
// (each renames its temporary file into place at commit, so one output replaced the other
// and the run exited 0).

#include "support/process.hpp"
#include "unit/config/loader_test_support.hpp"

#include <unistd.h>

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

// A symbolic link to another sink's file (or to a directory holding it), or a hard link to it,
// is that file: the run exited 0 with one output replaced by the other.
TEST_F(LoaderTest, SinksWritingOneFileThroughLinksAreAnError) {
    test::TempDir dir;
    const std::string real = dir.write("real.csv", "old\n");
    ASSERT_EQ(::symlink(real.c_str(), dir.file("link.csv").c_str()), 0);
    ASSERT_EQ(::link(real.c_str(), dir.file("hard.csv").c_str()), 0);
    ASSERT_EQ(::symlink(dir.path().c_str(), dir.file("alias").c_str()), 0);
    const auto sink = [](const std::string& id, const std::string& path) {
        return "\n[[stages]]\nid = \"" + id +
               "\"\nfunction = \"test.file_sink\"\ninputs = [\"load\"]\n[stages.config]\npath = "
               "\"" +
               path + "\"\n";
    };
    const std::vector<std::string> errors =
        load_errors("[[stages]]\nid = \"load\"\nfunction = \"test.source\"\n" + sink("a", real) +
                    sink("b", dir.file("link.csv")) + sink("c", dir.file("hard.csv")) +
                    sink("d", dir.file("new.csv")) + sink("e", dir.file("alias/new.csv")));
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_NE(errors[0].find("stage 'b': path '" + dir.file("link.csv") +
                             "' is also written by stage 'a'"),
              std::string::npos)
        << errors[0];
    EXPECT_NE(errors[1].find("stage 'c': path '" + dir.file("hard.csv") +
                             "' is also written by stage 'a'"),
              std::string::npos)
        << errors[1];
    EXPECT_NE(errors[2].find("stage 'e': path '" + dir.file("alias/new.csv") +
                             "' is also written by stage 'd'"),
              std::string::npos)
        << errors[2];
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
