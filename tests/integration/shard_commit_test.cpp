// A shard's commit and conveyor finalize's checks (issue 21): a shard committed by one attempt
// is never replaced by another; --shard auto takes the shard from the batch engine's
// variables or refuses (64); finalize refuses a missing or corrupt part (66, 65) and leaves
// the output as it was; the GNU parallel and xargs recipes of docs/scale-out.md work.

#include "support/shard_pipelines.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

class ShardCommit : public ::testing::Test {
protected:
    void SetUp() override {
        in_ = dir_.write("in.csv", test::orders_csv(500));
        file_ = dir_.write("p.toml", test::w1_toml(in_, dir_.file("out.ndjson")));
    }
    std::string part(int i, int n, const std::string& suffix = "") const {
        return dir_.file("out.part-0000" + std::to_string(i) + "-of-0000" + std::to_string(n) +
                         ".ndjson" + suffix);
    }

    test::TempDir dir_;
    std::string in_;
    std::string file_;
};

TEST_F(ShardCommit, ASecondAttemptLeavesTheCommittedShardAsItIs) {
    test::ProcessResult r =
        run_conveyor({"run", file_, "-q", "--shard", "1/2", "--attempt", "first"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string manifest = test::read_file(part(1, 2, ".manifest"));
    EXPECT_THAT(manifest, HasSubstr("attempt first\n"));
    EXPECT_THAT(manifest, HasSubstr("shard 1/2\n"));
    r = run_conveyor({"run", file_, "--shard", "1/2", "--attempt", "second"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("already committed by another attempt"));
    EXPECT_EQ(test::read_file(part(1, 2, ".manifest")), manifest);
    // Nothing of either attempt is left under its own name.
    for (const std::string& f : test::list_dir(dir_.path()))
        EXPECT_EQ(f.find(".attempt-"), std::string::npos) << f;
}

TEST_F(ShardCommit, ShardAutoTakesTheShardFromTheEnginesVariables) {
    test::ProcessOptions slurm;
    slurm.env = {
        {"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "3"}, {"SLURM_ARRAY_TASK_MAX", "6"}};
    test::ProcessResult r = run_conveyor({"run", file_, "-q", "--shard", "auto"}, slurm);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::file_exists(part(2, 4, ".manifest")));

    test::ProcessOptions k8s;
    k8s.env = {{"JOB_COMPLETION_INDEX", "1"}};
    r = run_conveyor({"run", file_, "-q", "--shard", "auto"}, k8s);
    EXPECT_EQ(r.exit_code, 64);
    EXPECT_THAT(r.err, HasSubstr("give --shards N"));
    r = run_conveyor({"run", file_, "-q", "--shard", "auto", "--shards", "3"}, k8s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::file_exists(part(1, 3, ".manifest")));

    // backend = "auto" takes CONVEYOR_SHARD without being told --shard.
    const std::string automatic = dir_.write(
        "auto.toml", test::w1_toml(in_, dir_.file("out.ndjson"), "backend = \"auto\"\n"));
    test::ProcessOptions plain;
    plain.env = {{"CONVEYOR_SHARD", "0/2"}};
    r = run_conveyor({"run", automatic, "-q"}, plain);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::file_exists(part(0, 2, ".manifest")));
    EXPECT_FALSE(test::file_exists(dir_.file("out.ndjson")));
}

TEST_F(ShardCommit, MissingOrInconsistentShardsAreUsageErrors) {
    const std::vector<std::pair<std::vector<std::string>, std::map<std::string, std::string>>>
        cases = {
            {{"--shard", "auto"}, {}},
            {{"--shard", "4/4"}, {}},
            {{"--shard", "1/0"}, {}},
            {{"--shard", "x"}, {}},
            {{"--shard", "1/4", "--shards", "4"}, {}},
            {{"--shard", "auto"}, {{"CONVEYOR_SHARD", "5/4"}}},
            {{"--shard", "auto", "--shards", "3"}, {{"CONVEYOR_SHARD", "1/4"}}},
            {{"--shard", "auto"}, {{"SLURM_ARRAY_TASK_ID", "2"}}},
            {{"--shard", "auto"}, {{"SLURM_ARRAY_TASK_ID", "two"}}},
        };
    for (const auto& [args, env] : cases) {
        std::vector<std::string> argv = {"run", file_, "-q"};
        argv.insert(argv.end(), args.begin(), args.end());
        test::ProcessOptions o;
        o.env = env;
        o.unset_env = {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "CONVEYOR_SHARD"};
        for (const auto& [k, v] : env)
            std::erase(o.unset_env, k);
        const test::ProcessResult r = run_conveyor(argv, o);
        EXPECT_EQ(r.exit_code, 64) << ::testing::PrintToString(args) << r.err;
    }
    EXPECT_TRUE(test::list_dir(dir_.path()).size() <= 3U); // nothing run, nothing written
}

TEST_F(ShardCommit, FinalizeRefusesAMissingPartAndLeavesTheOutputAlone) {
    dir_.write("out.ndjson", "earlier\n");
    ASSERT_EQ(run_conveyor({"run", file_, "-q", "--shard", "0/3"}).exit_code, 0);
    ASSERT_EQ(run_conveyor({"run", file_, "-q", "--shard", "2/3"}).exit_code, 0);
    const test::ProcessResult r = run_conveyor({"finalize", file_});
    EXPECT_EQ(r.exit_code, 66);
    EXPECT_THAT(r.err, HasSubstr("part 1 of 3 of"));
    EXPECT_THAT(r.err, HasSubstr("--shard 1/3"));
    EXPECT_EQ(test::read_file(dir_.file("out.ndjson")), "earlier\n");
    EXPECT_TRUE(test::file_exists(part(0, 3))); // kept for when the missing one comes
}

TEST_F(ShardCommit, FinalizeRefusesACorruptPartAndLeavesTheOutputAlone) {
    dir_.write("out.ndjson", "earlier\n");
    ASSERT_EQ(test::run_shards(file_, 2).exit_code, 0);
    std::string text = test::read_file(part(1, 2));
    ASSERT_FALSE(text.empty());
    text[text.size() / 2] ^= 1;
    dir_.write("out.part-00001-of-00002.ndjson", text);
    test::ProcessResult r = run_conveyor({"finalize", file_});
    EXPECT_EQ(r.exit_code, 65);
    EXPECT_THAT(r.err, HasSubstr("out.part-00001-of-00002.ndjson"));
    EXPECT_THAT(r.err, HasSubstr("does not match its manifest"));
    EXPECT_EQ(test::read_file(dir_.file("out.ndjson")), "earlier\n");
    // A shard count the parts do not have is a missing part too.
    r = run_conveyor({"finalize", file_, "--shards", "3"});
    EXPECT_EQ(r.exit_code, 66);
}

TEST_F(ShardCommit, FinalizeKeepsThePartsWithSuccessOnRequest) {
    ASSERT_EQ(test::run_shards(file_, 2).exit_code, 0);
    const test::ProcessResult r = run_conveyor({"finalize", file_, "--keep-parts"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir_.file("_SUCCESS")),
              "out.part-00000-of-00002.ndjson\nout.part-00001-of-00002.ndjson\n");
    EXPECT_TRUE(test::file_exists(part(1, 2)));
    EXPECT_FALSE(test::file_exists(dir_.file("out.ndjson")));
}

TEST_F(ShardCommit, GnuParallelAndXargsRecipesGiveTheSingleRunsOutput) {
    const std::string one = dir_.write("one.toml", test::w1_toml(in_, dir_.file("one.ndjson")));
    ASSERT_EQ(run_conveyor({"run", one, "-q"}).exit_code, 0);
    const std::string expected = test::read_file(dir_.file("one.ndjson"));
    const std::string bin = test::conveyor_binary();
    // docs/scale-out.md, "GNU parallel" and "xargs".
    const std::vector<std::string> recipes = {
        "parallel --halt now,fail=1 '" + bin + "' run '" + file_ + "' -q --shard {}/4 ::: 0 1 2 3",
        "seq 0 3 | xargs -P 4 -I{} '" + bin + "' run '" + file_ + "' -q --shard {}/4"};
    for (const std::string& recipe : recipes) {
        SCOPED_TRACE(recipe);
        const test::ProcessResult r = test::run_process({"/bin/sh", "-c", recipe});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        ASSERT_EQ(run_conveyor({"finalize", file_}).exit_code, 0);
        EXPECT_EQ(test::read_file(dir_.file("out.ndjson")), expected);
        std::remove(dir_.file("out.ndjson").c_str());
    }
}

} // namespace
} // namespace conveyor
