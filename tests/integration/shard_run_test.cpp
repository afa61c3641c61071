// conveyor run --shard I/N and conveyor finalize (issue 21): the shards' parts put together are
// a single run's output, with partition = "rows" (byte for byte) and "hash" (the same records);
// blocking stages run sharded only where the result stays a single run's; the local backend
// runs the shards as processes and finalizes.

#include "support/shard_pipelines.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

class ShardRun : public ::testing::Test {
protected:
    void SetUp() override { in_ = dir_.write("in.csv", test::orders_csv(3000)); }
    /// A single run of `toml` (with out.* as its output path): what the shards must match.
    std::string single(const std::string& toml, const std::string& out) {
        const std::string file = dir_.write("single.toml", toml);
        const test::ProcessResult r = run_conveyor({"run", file, "-q"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return test::read_file(out);
    }

    test::TempDir dir_;
    std::string in_;
};

TEST_F(ShardRun, RowShardsThenFinalizeGiveTheSingleRunsFileByteForByte) {
    const std::string expected =
        single(test::w1_toml(in_, dir_.file("one.ndjson")), dir_.file("one.ndjson"));
    ASSERT_GT(expected.size(), 1000U);
    for (std::uint32_t n : {1U, 3U, 4U}) {
        SCOPED_TRACE(std::to_string(n) + " shards");
        const std::string file = dir_.write("p.toml", test::w1_toml(in_, dir_.file("out.ndjson")));
        const test::ProcessResult r = test::run_shards(file, n);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_FALSE(test::file_exists(dir_.file("out.ndjson"))); // shards never write it
        EXPECT_TRUE(test::file_exists(
            dir_.file("out.part-00000-of-0000" + std::to_string(n) + ".ndjson.manifest")));
        const test::ProcessResult f = run_conveyor({"finalize", file});
        ASSERT_EQ(f.exit_code, 0) << f.err;
        EXPECT_EQ(test::read_file(dir_.file("out.ndjson")), expected);
        // The parts are gone: the next run starts clean.
        for (const std::string& name : test::list_dir(dir_.path()))
            EXPECT_EQ(name.find(".part-"), std::string::npos) << name;
        std::remove(dir_.file("out.ndjson").c_str());
    }
}

TEST_F(ShardRun, RowShardsOfJsonLinesGiveEachRecordOnceInOrder) {
    // JSON lines with blank lines and records of very different lengths, so that cuts fall
    // inside records, on line breaks and on blank lines.
    std::string jsonl;
    for (int i = 0; i < 2000; ++i) {
        jsonl += "{\"id\":" + std::to_string(i) + ",\"amount\":" + std::to_string(i % 2000) +
                 ",\"pad\":\"" + std::string(static_cast<std::size_t>(i % 97), 'x') + "\"}\n";
        if (i % 13 == 0) jsonl += "\n";
    }
    const std::string in = dir_.write("in.jsonl", jsonl);
    auto toml = [&](const std::string& out) {
        return "[global]\n" + test::stage_toml("read", "json.read", "", "path = \"" + in + "\"") +
               test::stage_toml("write", "json.write", "\"read\"", "path = \"" + out + "\"");
    };
    const std::string expected = single(toml(dir_.file("one.ndjson")), dir_.file("one.ndjson"));
    ASSERT_EQ(std::count(expected.begin(), expected.end(), '\n'), 2000);
    for (std::uint32_t n : {2U, 7U, 40U}) {
        SCOPED_TRACE(std::to_string(n) + " shards");
        const std::string file = dir_.write("p.toml", toml(dir_.file("out.ndjson")));
        const test::ProcessResult r = test::run_shards(file, n);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const test::ProcessResult f = run_conveyor({"finalize", file});
        ASSERT_EQ(f.exit_code, 0) << f.err;
        EXPECT_EQ(test::read_file(dir_.file("out.ndjson")), expected);
        std::remove(dir_.file("out.ndjson").c_str());
    }
}

TEST_F(ShardRun, RowShardsOfAJsonArrayAreRefusedWithTheFix) {
    const std::string in = dir_.write("in.json", "[{\"id\":1}]");
    const std::string file = dir_.write(
        "p.toml", "[global]\n" +
                      test::stage_toml("read", "json.read", "", "path = \"" + in + "\"") +
                      test::stage_toml("write", "json.write", "\"read\"",
                                       "path = \"" + dir_.file("o.ndjson") + "\""));
    const test::ProcessResult r = run_conveyor({"run", file, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("partition = \"hash\""));
}

TEST_F(ShardRun, CsvPartsAreJoinedWithOneHeader) {
    auto toml = [&](const std::string& out) {
        return "[global]\n" + test::stage_toml("read", "csv.read", "", "path = \"" + in_ + "\"") +
               test::stage_toml("write", "csv.write", "\"read\"", "path = \"" + out + "\"");
    };
    const std::string expected = single(toml(dir_.file("one.csv")), dir_.file("one.csv"));
    const std::string file = dir_.write("p.toml", toml(dir_.file("out.csv")));
    ASSERT_EQ(test::run_shards(file, 4).exit_code, 0);
    const test::ProcessResult f = run_conveyor({"finalize", file});
    ASSERT_EQ(f.exit_code, 0) << f.err;
    EXPECT_EQ(test::read_file(dir_.file("out.csv")), expected);
}

TEST_F(ShardRun, HashShardsGiveTheSingleRunsRecords) {
    const std::string hashed = "partition = \"hash\"\npartition_key = \"customer\"\n";
    const std::string expected =
        single(test::w1_toml(in_, dir_.file("one.ndjson")), dir_.file("one.ndjson"));
    const std::string file =
        dir_.write("p.toml", test::w1_toml(in_, dir_.file("out.ndjson"), hashed));
    ASSERT_EQ(test::run_shards(file, 4).exit_code, 0);
    // Each shard has whole customers: no customer in two parts.
    for (int i = 0; i < 4; ++i) {
        const std::string part =
            test::read_file(dir_.file("out.part-0000" + std::to_string(i) + "-of-00004.ndjson"));
        for (int j = i + 1; j < 4; ++j) {
            const std::string other = test::read_file(
                dir_.file("out.part-0000" + std::to_string(j) + "-of-00004.ndjson"));
            for (const std::string& line : test::sorted_lines(part)) {
                const std::string customer = line.substr(line.find("\"customer\""), 16);
                EXPECT_EQ(other.find(customer + ","), std::string::npos) << customer;
            }
        }
    }
    ASSERT_EQ(run_conveyor({"finalize", file}).exit_code, 0);
    EXPECT_EQ(test::sorted_lines(test::read_file(dir_.file("out.ndjson"))),
              test::sorted_lines(expected));
}

TEST_F(ShardRun, GroupByHashedOnItsKeyGivesTheSingleRunsGroups) {
    auto toml = [&](const std::string& out, const std::string& global) {
        return "[global]\n" + global +
               test::stage_toml("read", "csv.read", "", "path = \"" + in_ + "\"") +
               test::stage_toml("g", "groupby.apply", "\"read\"",
                                "by = [\"customer\"]\naggregations = [{ operation = \"count\" }, "
                                "{ column = \"amount\", operation = \"sum\" }, { column = "
                                "\"amount\", operation = \"avg\" }, { column = \"amount\", "
                                "operation = \"max\" }]") +
               test::stage_toml("write", "csv.write", "\"g\"", "path = \"" + out + "\"");
    };
    const std::string expected = single(toml(dir_.file("one.csv"), ""), dir_.file("one.csv"));
    const std::string file =
        dir_.write("p.toml", toml(dir_.file("out.csv"),
                                  "partition = \"hash\"\npartition_key = \"customer\"\n"));
    const test::ProcessResult r = test::run_shards(file, 4);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(run_conveyor({"finalize", file}).exit_code, 0);
    EXPECT_EQ(test::sorted_lines(test::read_file(dir_.file("out.csv"))),
              test::sorted_lines(expected));
}

/// csv.read -> groupby.apply (every combinable operation) -> `sink` writing `out`.
std::string groupby_toml(const std::string& in, const std::string& sink, const std::string& out,
                         const std::string& global = "") {
    return "[global]\n" + global +
           test::stage_toml("read", "csv.read", "", "path = \"" + in + "\"") +
           test::stage_toml("g", "groupby.apply", "\"read\"",
                            "by = [\"customer\"]\naggregations = [{ operation = \"count\" }, "
                            "{ column = \"amount\", operation = \"sum\" }, { column = "
                            "\"amount\", operation = \"avg\" }, { column = \"amount\", "
                            "operation = \"max\" }, { column = \"note\", operation = \"min\", "
                            "output_column = \"least\" }]") +
           test::stage_toml("write", sink, "\"g\"", "path = \"" + out + "\"");
}

TEST_F(ShardRun, GroupByOverRowShardsIsCombinedByFinalizeIntoTheSingleRunsFile) {
    for (const auto& [sink, ext] : {std::pair{"csv.write", ".csv"}, {"json.write", ".ndjson"}}) {
        SCOPED_TRACE(sink);
        const std::string expected =
            single(groupby_toml(in_, sink, dir_.file("one" + std::string(ext))),
                   dir_.file("one" + std::string(ext)));
        const std::string out = dir_.file("out" + std::string(ext));
        const std::string file = dir_.write("p.toml", groupby_toml(in_, sink, out));
        const test::ProcessResult r = test::run_shards(file, 4);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const test::ProcessResult f = run_conveyor({"finalize", file});
        ASSERT_EQ(f.exit_code, 0) << f.err;
        // Same groups, in the same order (first appearance), with the same averages.
        EXPECT_EQ(test::read_file(out), expected);
        for (const std::string& name : test::list_dir(dir_.path()))
            EXPECT_EQ(name.find("partials"), std::string::npos) << name;
    }
    // The local backend finalizes the same way.
    const std::string expected = test::read_file(dir_.file("one.ndjson"));
    const std::string file =
        dir_.write("l.toml", groupby_toml(in_, "json.write", dir_.file("local.ndjson"),
                                          "backend = \"local\"\nprocesses = 2\n"));
    const test::ProcessResult r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir_.file("local.ndjson")), expected);
}

TEST_F(ShardRun, SortedGroupByHashedOnItsKeyIsMergedByFinalizeIntoTheSingleRunsFile) {
    // Each hash shard's groups are whole but sorted on their own; put together in shard order
    // they were out of key order (exit 0). Keys include a null (empty) customer.
    const std::string in =
        dir_.write("nulls.csv", test::orders_csv(3000) + "3000,,5,plain\n3001,,7,plain\n");
    auto toml = [&](const std::string& sink, const std::string& out, const std::string& global,
                    const std::string& between = "") {
        const std::string into = between.empty() ? "\"g\"" : "\"m\"";
        return "[global]\n" + global +
               test::stage_toml("read", "csv.read", "", "path = \"" + in + "\"") +
               test::stage_toml("g", "groupby.apply", "\"read\"",
                                "by = [\"customer\"]\nsorted = true\naggregations = [{ operation "
                                "= \"count\", output_column = \"n\" }, { column = \"amount\", "
                                "operation = \"median\", output_column = \"med\" }, { column = "
                                "\"note\", operation = \"count_distinct\", output_column = "
                                "\"notes\" }]") +
               between + test::stage_toml("write", sink, into, "path = \"" + out + "\"");
    };
    const std::string hashed = "partition = \"hash\"\npartition_key = \"customer\"\n";
    for (const auto& [sink, ext] : {std::pair{"csv.write", ".csv"}, {"json.write", ".ndjson"}}) {
        SCOPED_TRACE(sink);
        const std::string one = dir_.file("one" + std::string(ext));
        const std::string expected = single(toml(sink, one, ""), one);
        const std::string out = dir_.file("sorted" + std::string(ext));
        const std::string file = dir_.write("p.toml", toml(sink, out, hashed));
        const test::ProcessResult r = test::run_shards(file, 4);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const test::ProcessResult f = run_conveyor({"finalize", file});
        ASSERT_EQ(f.exit_code, 0) << f.err;
        EXPECT_EQ(test::read_file(out), expected) << "byte for byte, in key order";
    }
    // The local backend finalizes the same way.
    const std::string file =
        dir_.write("l.toml", toml("json.write", dir_.file("local.ndjson"),
                                  hashed + "backend = \"local\"\nprocesses = 3\n"));
    const test::ProcessResult r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir_.file("local.ndjson")), test::read_file(dir_.file("one.ndjson")));
    // Only the file the group-by writes is merged: a stage between them is refused at load.
    const std::string between = dir_.write(
        "b.toml", toml("json.write", dir_.file("b.ndjson"), hashed,
                       test::stage_toml("m", "map.apply", "\"g\"", "columns = { k = \"n * 2\" }")));
    const test::ProcessResult b = run_conveyor({"run", between, "--shard", "0/2"});
    EXPECT_EQ(b.exit_code, 78) << b.err;
    EXPECT_THAT(b.err, HasSubstr("groups sorted per shard that finalize merges"));
}

TEST_F(ShardRun, SortOverRowShardsIsSortedAgainByFinalizeIntoTheSingleRunsFile) {
    // Many equal amounts: the stable order of equal keys must survive the shards.
    auto toml = [&](const std::string& sink, const std::string& out) {
        return "[global]\n" + test::stage_toml("read", "csv.read", "", "path = \"" + in_ + "\"") +
               test::stage_toml("s", "sort.apply", "\"read\"",
                                "by = [\"customer\", \"amount\"]\ndescending = [false, true]") +
               test::stage_toml("write", sink, "\"s\"", "path = \"" + out + "\"");
    };
    for (const auto& [sink, ext] : {std::pair{"json.write", ".ndjson"}, {"csv.write", ".csv"}}) {
        SCOPED_TRACE(sink);
        const std::string expected = single(toml(sink, dir_.file("one" + std::string(ext))),
                                            dir_.file("one" + std::string(ext)));
        for (std::uint32_t n : {3U, 4U}) {
            SCOPED_TRACE(std::to_string(n) + " shards");
            const std::string out = dir_.file("out" + std::string(ext));
            const std::string file = dir_.write("p.toml", toml(sink, out));
            const test::ProcessResult r = test::run_shards(file, n);
            ASSERT_EQ(r.exit_code, 0) << r.err;
            const test::ProcessResult f = run_conveyor({"finalize", file});
            ASSERT_EQ(f.exit_code, 0) << f.err;
            EXPECT_EQ(test::read_file(out), expected);
            std::remove(out.c_str());
        }
    }
}

TEST_F(ShardRun, StagesWhoseShardedResultWouldDifferAreRefusedWithTheFix) {
    // Partial groups go straight to a file sink, where finalize finds them.
    const std::string through = dir_.write(
        "t.toml", "[global]\n" +
                      test::stage_toml("read", "csv.read", "", "path = \"" + in_ + "\"") +
                      test::stage_toml("g", "groupby.apply", "\"read\"",
                                       "by = [\"customer\"]\naggregations = [{ operation = "
                                       "\"count\" }]") +
                      test::stage_toml("f", "filter.apply", "\"g\"", "expression = \"count > 1\"") +
                      test::stage_toml("w", "json.write", "\"f\"",
                                       "path = \"" + dir_.file("t.ndjson") + "\""));
    test::ProcessResult t = run_conveyor({"run", through, "--shard", "0/2"});
    EXPECT_EQ(t.exit_code, 78);
    EXPECT_THAT(t.err, HasSubstr("must go straight to csv.write or json.write, not to "
                                 "filter.apply"));

    const std::string group = test::stage_toml("g", "groupby.apply", "\"read\"",
                                               "by = [\"customer\"]\naggregations = [{ operation = "
                                               "\"count_distinct\", column = \"id\" }]");
    const std::string file = dir_.write(
        "p.toml", "[global]\n" +
                      test::stage_toml("read", "csv.read", "", "path = \"" + in_ + "\"") + group +
                      test::stage_toml("w", "json.write", "\"g\"",
                                       "path = \"" + dir_.file("o.ndjson") + "\""));
    test::ProcessResult r = run_conveyor({"run", file, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("partition = \"hash\" with key = one of the by fields"));
    EXPECT_THAT(r.err, HasSubstr("p.toml:"));
    EXPECT_EQ(run_conveyor({"run", file, "-q"}).exit_code, 0); // unsharded it is fine

    // Sorted by shard then combined, hash shards would put equal keys out of input order.
    const std::string sorted = dir_.write(
        "s.toml", "[global]\npartition = \"hash\"\npartition_key = \"customer\"\n" +
                      test::stage_toml("read", "csv.read", "", "path = \"" + in_ + "\"") +
                      test::stage_toml("s", "sort.apply", "\"read\"", "by = \"amount\"") +
                      test::stage_toml("w", "json.write", "\"s\"",
                                       "path = \"" + dir_.file("s.ndjson") + "\""));
    r = run_conveyor({"run", sorted, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("sort.apply needs its whole input"));
    // The same when only the source says "hash" ([global] partition stays "rows").
    const std::string source_hashed = dir_.write(
        "h.toml",
        "[global]\n" +
            test::stage_toml("read", "csv.read", "",
                             "path = \"" + in_ + "\"\npartition = \"hash\"\nkey = \"customer\"") +
            test::stage_toml("s", "sort.apply", "\"read\"", "by = \"amount\"") +
            test::stage_toml("w", "json.write", "\"s\"",
                             "path = \"" + dir_.file("h.ndjson") + "\""));
    r = run_conveyor({"run", source_hashed, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("source 'read' is divided by partition = \"hash\""));

    const std::string array = dir_.write(
        "a.toml", "[global]\n" +
                      test::stage_toml("read", "csv.read", "", "path = \"" + in_ + "\"") +
                      test::stage_toml("w", "json.write", "\"read\"",
                                       "path = \"" + dir_.file("a.json") + "\""));
    r = run_conveyor({"run", array, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("use format = \"jsonl\""));
}

TEST_F(ShardRun, LocalBackendRunsTheShardsAsProcessesAndFinalizes) {
    const std::string expected =
        single(test::w1_toml(in_, dir_.file("one.ndjson")), dir_.file("one.ndjson"));
    // Leftover parts of an earlier run that never finalized do not get in.
    dir_.write("out.part-00001-of-00003.ndjson", "{\"stale\":true}\n");
    const std::string file =
        dir_.write("p.toml", test::w1_toml(in_, dir_.file("out.ndjson"),
                                           "backend = \"local\"\nprocesses = 3\n"));
    const test::ProcessResult r = run_conveyor({"run", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("running 3 shards as processes"));
    EXPECT_EQ(test::read_file(dir_.file("out.ndjson")), expected);
    for (const std::string& f : test::list_dir(dir_.path()))
        EXPECT_EQ(f.find(".part-"), std::string::npos) << f;
}

TEST_F(ShardRun, LocalBackendReportsAFailedShardAndDoesNotFinalize) {
    const std::string file =
        dir_.write("p.toml", test::w1_toml(dir_.file("missing.csv"), dir_.file("out.ndjson"),
                                           "backend = \"local\"\nprocesses = 2\n"));
    const test::ProcessResult r = run_conveyor({"run", file});
    EXPECT_EQ(r.exit_code, 66) << r.err;
    EXPECT_THAT(r.err, HasSubstr("not finalized"));
    EXPECT_FALSE(test::file_exists(dir_.file("out.ndjson")));
}

} // namespace
} // namespace conveyor
