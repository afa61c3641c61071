// Values from the command line and the environment: `conveyor run --set KEY=VALUE` (and
// --workers, --concurrency, --batch-size) checked like the file's own, and a value that is
// exactly one ${...} taking the type of its option.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;

std::string pipeline(const test::TempDir& dir) {
    const std::string in = dir.write("in.csv", test::items_csv(10));
    return dir.write(
        "p.toml",
        "[global]\nworkers = \"${W:-2}\"\n" +
            stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
            stage_toml("top", "limit.apply", "\"in\"", "count = \"${N:-3}\"") +
            stage_toml("out", "csv.write", "\"top\"", "path = \"" + dir.file("out.csv") + "\""));
}

TEST(Overrides, SetReplacesStageAndGlobalValuesAndDryRunShowsThem) {
    test::TempDir dir;
    const std::string file = pipeline(dir);
    auto r =
        test::run_conveyor({"run", "-q", "--set", "stages.top.count=2", "--set",
                            "stages.out.path=" + dir.file("other.csv"), "--workers", "1", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("other.csv")), "id,name\n1,n1\n2,n2\n");
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
    r = test::run_conveyor({"run", "--dry-run", "--set", "stages.top.count=2", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("set on the command line: stages.top.count=2"));
}

TEST(Overrides, BadSetsAreConfigErrorsNamingTheArgument) {
    test::TempDir dir;
    const std::string file = pipeline(dir);
    auto r = test::run_conveyor({"run", "--set", "global.workerz=2", "--set", "stages.tpo.count=1",
                                 "--set", "stages.top.count=-1", "--set", "novalue", "--batch-size",
                                 "lots", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("--set global.workerz=2: error: unknown key 'workerz' in "
                                 "[global] (did you mean 'workers'?)"));
    EXPECT_THAT(r.err, HasSubstr("--set stages.tpo.count=1: error: --set: no stage has id 'tpo' "
                                 "(did you mean 'top'?)"));
    EXPECT_THAT(r.err, HasSubstr("--set stages.top.count=-1: error: stage 'top': key 'count' "
                                 "must be at least 0, got -1"));
    EXPECT_THAT(r.err, HasSubstr("--set novalue: error: --set takes KEY=VALUE"));
    EXPECT_THAT(r.err, HasSubstr("--set global.batch_size=lots: error: [global] batch_size must "
                                 "be a positive integer, not string \"lots\""));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(Overrides, AnEnvironmentValueFillsANumericOption) {
    test::TempDir dir;
    const std::string file = pipeline(dir);
    test::ProcessOptions opts;
    opts.env = {{"N", "4"}, {"W", "1"}};
    auto r = test::run_conveyor({"run", "-q", file}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,name\n1,n1\n2,n2\n3,n3\n4,n4\n");
    opts.env = {{"N", "four"}};
    r = test::run_conveyor({"run", "-q", file}, opts);
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'top': key 'count' must be an integer, not string "
                                 "\"four\" (the value of ${N:-3})"));
}

} // namespace
} // namespace conveyor
