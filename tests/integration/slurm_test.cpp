// docs/scale-out.md's Slurm recipe on a real (one-node) Slurm cluster: a job array of
// `conveyor run --shard auto` (sbatch --array=0-3 --wait) and a finalize job depending on it
// (--dependency=afterok:) give the single run's output.

#include "support/paths.hpp"
#include "support/shard_pipelines.hpp"
#include "support/slurm_cluster.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::run_process;

TEST(SlurmRecipe, AJobArrayOfShardsThenAFinalizeJobGiveTheSingleRunsOutput) {
    test::SlurmCluster cluster;
    ASSERT_EQ(cluster.error(), "");
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::orders_csv(2000));
    const std::string one = dir.write("one.toml", test::w1_toml(in, dir.file("one.ndjson")));
    ASSERT_EQ(run_conveyor({"run", one, "-q"}).exit_code, 0);
    const std::string file = dir.write("p.toml", test::w1_toml(in, dir.file("out.ndjson")));
    const std::string bin = test::conveyor_binary();
    const std::string shards = dir.write("shards.sh", "#!/bin/sh\nexec '" + bin + "' run '" + file +
                                                          "' -q --shard auto --shards 4\n");

    test::ProcessOptions o;
    o.env = cluster.env();
    o.cwd = dir.path();
    test::ProcessResult r = run_process({"/usr/bin/sbatch", "--parsable", "--wait", "--array=0-3",
                                         "-o", dir.file("shard-%a.out"), shards},
                                        o);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << test::read_file(dir.file("shard-0.out"));
    const std::string job = r.out.substr(0, r.out.find_first_of(";\n"));
    for (int i = 0; i < 4; ++i)
        EXPECT_TRUE(test::file_exists(
            dir.file("out.part-0000" + std::to_string(i) + "-of-00004.ndjson.manifest")));

    r = run_process({"/usr/bin/sbatch", "--wait", "--dependency=afterok:" + job, "-o",
                     dir.file("finalize.out"), "--wrap", "'" + bin + "' finalize '" + file + "'"},
                    o);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << test::read_file(dir.file("finalize.out"));
    EXPECT_EQ(test::read_file(dir.file("out.ndjson")), test::read_file(dir.file("one.ndjson")));
}

} // namespace
} // namespace conveyor
