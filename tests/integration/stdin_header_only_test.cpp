// A CSV header with no rows read from standard input (stdin.read, csv.read of "-" in
// streaming mode): the schema is learned after the stages open, so the source shows it with a
// batch of no records (Batch::shows_schema). Every CSV sink then writes the header as it does
// for csv.read of a file, also through transforms that change the fields.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;

const std::string kStdinCsv = "format = \"csv\"";

test::ProcessResult run_with_stdin(const test::TempDir& dir, const std::string& input) {
    test::ProcessOptions o;
    o.cwd = dir.path();
    o.stdin_data = input;
    return test::run_conveyor({"run", "-q", "p.toml"}, o);
}

class StdinHeaderOnly : public ::testing::TestWithParam<std::string> {
protected:
    std::string global(const std::string& extra = "") const {
        return "[global]\nexecutor = \"" + GetParam() + "\"\n" + extra + "\n";
    }
    test::TempDir dir_;
};

TEST_P(StdinHeaderOnly, CsvWriteAndStdoutCsvWriteTheHeaderAsForACsvFile) {
    dir_.write("in.csv", "id,name\n");
    for (const std::string source : {"stdin.read", "csv.read"}) {
        const std::string config = source == "stdin.read" ? kStdinCsv : "path = \"in.csv\"";
        for (const std::string sink_config :
             {"format = \"csv\"", "format = \"csv\"\nlimit = 5", "format = \"csv\"\nlimit = 0"}) {
            dir_.write("p.toml",
                       global() + stage_toml("in", source, "", config) +
                           stage_toml("out", "stdout.write", "\"in\"", sink_config) +
                           stage_toml("file", "csv.write", "\"in\"", "path = \"out.csv\""));
            auto r = run_with_stdin(dir_, "id,name\n");
            ASSERT_EQ(r.exit_code, 0) << r.err;
            EXPECT_EQ(r.out, "id,name\n") << source << ": " << sink_config;
            EXPECT_EQ(test::read_file(dir_.file("out.csv")), "id,name\n") << source;
        }
    }
}

TEST_P(StdinHeaderOnly, TransformsPassTheFieldsTheyMakeOn) {
    dir_.write("p.toml",
               global() + stage_toml("in", "stdin.read", "", kStdinCsv) +
                   stage_toml("f", "filter.apply", "\"in\"", "expression = \"id > 3\"") +
                   stage_toml("s", "select.apply", "\"f\"", "columns = [\"name\"]") +
                   stage_toml("m", "map.apply", "\"s\"", "columns = { up = \"upper(name)\" }") +
                   stage_toml("out", "csv.write", "\"m\"", "path = \"out.csv\"") +
                   stage_toml("j", "json.write", "\"in\"", "path = \"out.json\""));
    auto r = run_with_stdin(dir_, "id,name\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir_.file("out.csv")), "name,up\n");
    EXPECT_EQ(test::read_file(dir_.file("out.json")), "[]\n") << "no records: still none";

    // With rows the header is written once, before them.
    auto rows = run_with_stdin(dir_, "id,name\n5,x\n1,y\n");
    ASSERT_EQ(rows.exit_code, 0) << rows.err;
    EXPECT_EQ(test::read_file(dir_.file("out.csv")), "name,up\nx,X\n");
}

TEST_P(StdinHeaderOnly, EmptyInputHasNoHeaderToShow) {
    dir_.write("p.toml", global() + stage_toml("in", "stdin.read", "", kStdinCsv) +
                             stage_toml("out", "stdout.write", "\"in\"", "format = \"csv\""));
    auto r = run_with_stdin(dir_, "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(Executors, StdinHeaderOnly, ::testing::Values("dag", "channel", "async"));

TEST(StdinHeaderOnlyStreaming, CsvReadOfStdinInStreamingModeWritesTheHeader) {
    test::TempDir dir;
    for (const std::string executor : {"channel", "async"}) {
        dir.write("p.toml", "[global]\nexecution_mode = \"streaming\"\nexecutor = \"" + executor +
                                "\"\n" + stage_toml("in", "csv.read", "", "path = \"-\"") +
                                stage_toml("out", "stdout.write", "\"in\"", "format = \"csv\""));
        auto r = run_with_stdin(dir, "id,name\n");
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, "id,name\n") << executor;
    }
}

} // namespace
} // namespace conveyor
