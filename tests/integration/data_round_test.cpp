// Everyday data jobs of a new user (the fourth round): what they found wrong, end to end.
// Group-by results beyond a double's range were written as empty fields with exit 0.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

TEST(GroupByOverflow, ASumBeyondADoublesRangeIsADataErrorInMemoryAndSpilled) {
    // `mlr stats1 -a sum,mean` says +Inf; conveyor wrote an empty v_sum and v_avg, exit 0.
    std::string csv = "g,v\n";
    for (int i = 0; i < 300; ++i)
        csv += "k" + std::to_string(i) + ",1.5\n";
    csv += "big,1e308\nbig,1e308\n";
    for (const std::string limit : {"", "memory_limit = \"16KiB\"\n"}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", csv);
        const std::string file =
            dir.write("p.toml", test::csv_through(in, "groupby.apply",
                                                  "by = \"g\"\naggregations = [{ column = \"v\", "
                                                  "operation = \"sum\" }]",
                                                  dir.file("out.csv"), limit));
        auto r = run_conveyor({"run", file, "-q"});
        EXPECT_EQ(r.exit_code, 65) << limit << r.err;
        EXPECT_THAT(r.err, HasSubstr("stage 'step': 'v_sum' of the group (\"big\") overflows a "
                                     "double"))
            << limit;
        EXPECT_FALSE(test::file_exists(dir.file("out.csv"))) << limit;
    }
}

} // namespace
} // namespace conveyor
