// Glob paths of csv.read and json.read: the matched files read in path order as one stream,
// each with its own header and its own file:line in messages; partition = "files" deals them
// to the shards by size, and the finalized parts are a single run's records.

#include "support/shard_pipelines.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <set>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;
using ::testing::Not;

/// csv.read of `path` (with `source` lines) -> json.write of `out`, `global` in [global].
std::string read_write_toml(const std::string& function, const std::string& path,
                            const std::string& out, const std::string& global = "",
                            const std::string& source = "") {
    return "[global]\n" + global + "\n" +
           test::stage_toml("read", function, "", "path = \"" + path + "\"\n" + source) +
           test::stage_toml("write", "json.write", "\"read\"", "path = \"" + out + "\"");
}

/// A CSV file "file,n,amount" with `rows` records naming `name`.
std::string csv_rows(const std::string& name, int rows, int from = 0) {
    std::string text = "file,n,amount\n";
    for (int i = from; i < from + rows; ++i)
        text += name + "," + std::to_string(i) + "," + std::to_string((i * 7919) % 1000) + "\n";
    return text;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

class Glob : public ::testing::Test {
protected:
    test::TempDir dir_;
};

TEST_F(Glob, MatchedFilesAreReadInBytewisePathOrderAsOneStream) {
    dir_.write("data/2026-02/part-a.csv", csv_rows("feb-a", 2));
    dir_.write("data/2026-01/part-b.csv", csv_rows("jan-b", 2));
    dir_.write("data/2026-01/part-B.csv", csv_rows("jan-B", 1));
    dir_.write("data/2026-01/part-a.csv", csv_rows("jan-a", 3));
    dir_.write("data/2026-01/notes.csv", csv_rows("notes", 1));
    const std::string file =
        dir_.write("p.toml", read_write_toml("csv.read", dir_.file("data/2026-*/part-*.csv"),
                                             dir_.file("out.ndjson")));
    const test::ProcessResult r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> order;
    for (const std::string& line : lines_of(test::read_file(dir_.file("out.ndjson"))))
        order.push_back(line.substr(9, line.find('"', 9) - 9));
    EXPECT_EQ(order, (std::vector<std::string>{"jan-B", "jan-a", "jan-a", "jan-a", "jan-b", "jan-b",
                                               "feb-a", "feb-a"}));

    // json.read the same way (no header).
    dir_.write("j/b.jsonl", "{\"f\":\"b\",\"n\":1}\n");
    dir_.write("j/a.jsonl", "{\"f\":\"a\",\"n\":1}\n{\"f\":\"a\",\"n\":2}\n");
    const std::string j = dir_.write(
        "j.toml", read_write_toml("json.read", dir_.file("j/*.jsonl"), dir_.file("j.ndjson")));
    const test::ProcessResult rj = run_conveyor({"run", j, "-q"});
    ASSERT_EQ(rj.exit_code, 0) << rj.err;
    EXPECT_EQ(test::read_file(dir_.file("j.ndjson")),
              "{\"f\":\"a\",\"n\":1}\n{\"f\":\"a\",\"n\":2}\n{\"f\":\"b\",\"n\":1}\n");
}

TEST_F(Glob, AHeaderWithOtherColumnsIsADataErrorNamingTheFile) {
    dir_.write("in/a.csv", csv_rows("a", 2));
    const std::string b = dir_.write("in/b.csv", "file,amt,n\nb,1,2\n");
    const std::string file = dir_.write(
        "p.toml", read_write_toml("csv.read", dir_.file("in/*.csv"), dir_.file("out.ndjson")));
    const test::ProcessResult r = run_conveyor({"run", file});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr(b + ": the header does not give the columns"));
    EXPECT_THAT(r.err, HasSubstr("column 2 is 'amt', in " + dir_.file("in/a.csv") + " it is 'n'"));
    EXPECT_FALSE(test::file_exists(dir_.file("out.ndjson")));

    dir_.write("in/b.csv", "file,n\nb,1\n");
    const test::ProcessResult narrow = run_conveyor({"run", file});
    EXPECT_EQ(narrow.exit_code, 65) << narrow.err;
    EXPECT_THAT(narrow.err, HasSubstr("it has 2 columns, " + dir_.file("in/a.csv") + " has 3"));
}

TEST_F(Glob, NoMatchIsMissingInputNamingThePattern) {
    for (const char* function : {"csv.read", "json.read"}) {
        SCOPED_TRACE(function);
        const std::string pattern = dir_.file("nowhere/*.csv");
        const std::string file =
            dir_.write("p.toml", read_write_toml(function, pattern, dir_.file("out.ndjson")));
        const test::ProcessResult r = run_conveyor({"run", file});
        EXPECT_EQ(r.exit_code, 66) << r.err;
        EXPECT_THAT(r.err, HasSubstr(pattern + ": no file matches"));
    }
    // A path without glob characters: a missing file as ever.
    const std::string missing = dir_.file("missing.csv");
    const std::string file =
        dir_.write("m.toml", read_write_toml("csv.read", missing, dir_.file("out.ndjson")));
    const test::ProcessResult r = run_conveyor({"run", file});
    EXPECT_EQ(r.exit_code, 66) << r.err;
    EXPECT_THAT(r.err, HasSubstr(missing));
    EXPECT_THAT(r.err, Not(HasSubstr("no file matches")));
}

TEST_F(Glob, ErrorsAndDeadLettersNameTheRealFileAndItsLine) {
    dir_.write("in/a.csv", csv_rows("a", 3));
    const std::string b = dir_.write("in/b.csv", "file,n,amount\nb,1,2\nb,2\nb,3,4\n");
    const std::string file = dir_.write(
        "p.toml", read_write_toml("csv.read", dir_.file("in/*.csv"), dir_.file("out.ndjson")));
    const test::ProcessResult r = run_conveyor({"run", file});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr(b + ":3"));

    // Under continue the row is a dead letter located in its own file.
    const std::string cont = dir_.write(
        "c.toml", "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = { enabled = "
                  "true, path = \"" +
                      dir_.file("dlq.jsonl") + "\" }\n" +
                      read_write_toml("csv.read", dir_.file("in/*.csv"), dir_.file("c.ndjson")));
    const test::ProcessResult c = run_conveyor({"run", cont, "-q"});
    EXPECT_EQ(c.exit_code, 3) << c.err;
    EXPECT_THAT(test::read_file(dir_.file("dlq.jsonl")), HasSubstr(b + ":3"));
    EXPECT_EQ(lines_of(test::read_file(dir_.file("c.ndjson"))).size(), 5U);

    // json.read: line 2 of the second file.
    dir_.write("j/a.jsonl", "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    const std::string jb = dir_.write("j/b.jsonl", "{\"n\":4}\n{\"n\":\n");
    const std::string j = dir_.write(
        "j.toml", read_write_toml("json.read", dir_.file("j/*.jsonl"), dir_.file("j.ndjson")));
    const test::ProcessResult rj = run_conveyor({"run", j});
    EXPECT_EQ(rj.exit_code, 65) << rj.err;
    EXPECT_THAT(rj.err, HasSubstr(jb + ":2"));
}

TEST_F(Glob, CompressedFilesAreUndoneEachOnItsOwn) {
    dir_.write("in/a.csv", csv_rows("a", 3));
    // c.csv.gz, written by conveyor itself.
    const std::string plain = dir_.write("c-plain.csv", csv_rows("c", 4));
    const std::string gz = dir_.write(
        "gz.toml", "[global]\n" +
                       test::stage_toml("r", "csv.read", "", "path = \"" + plain + "\"") +
                       test::stage_toml("w", "csv.write", "\"r\"",
                                        "path = \"" + dir_.file("in/c.csv.gz") + "\""));
    ASSERT_EQ(run_conveyor({"run", gz, "-q"}).exit_code, 0);
    dir_.write("in/b.csv", csv_rows("b", 2));
    const std::string file = dir_.write(
        "p.toml", read_write_toml("csv.read", dir_.file("in/*.csv*"), dir_.file("out.ndjson")));
    const test::ProcessResult r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> lines = lines_of(test::read_file(dir_.file("out.ndjson")));
    ASSERT_EQ(lines.size(), 9U);
    EXPECT_THAT(lines[5], HasSubstr("\"file\":\"c\""));
}

TEST_F(Glob, WorkersParseEachFileInChunksWithTheSerialReadersRecords) {
    // Quoted line breaks, so that some chunks guess their start wrong.
    for (int f = 0; f < 4; ++f)
        dir_.write("in/part-" + std::to_string(f) + ".csv",
                   test::orders_csv(400 + 150 * f, static_cast<std::uint32_t>(f + 1)));
    const std::string glob = dir_.file("in/part-*.csv");
    const std::string serial = dir_.write(
        "s.toml", read_write_toml("csv.read", glob, dir_.file("s.ndjson"), "workers = 1\n"));
    const std::string chunked =
        dir_.write("c.toml", read_write_toml("csv.read", glob, dir_.file("c.ndjson"),
                                             "workers = 3\n", "chunk_size = 2000\n"));
    ASSERT_EQ(run_conveyor({"run", serial, "-q"}).exit_code, 0);
    const test::ProcessResult r = run_conveyor({"run", chunked, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string expected = test::read_file(dir_.file("s.ndjson"));
    EXPECT_GT(lines_of(expected).size(), 2000U);
    EXPECT_EQ(test::read_file(dir_.file("c.ndjson")), expected);
}

/// Seven files of different sizes; each record names its file.
class GlobShards : public ::testing::Test {
protected:
    void SetUp() override {
        const int rows[] = {700, 40, 310, 5, 120, 260, 90};
        for (int f = 0; f < 7; ++f) {
            const std::string name = "f" + std::to_string(f);
            dir_.write("in/" + name + ".csv", csv_rows(name, rows[f], f * 1000));
        }
        glob_ = dir_.file("in/f*.csv");
    }

    /// Runs `toml` unsharded, then as shards 0..3 of 4 and finalize: both outputs' text.
    std::pair<std::string, std::string>
    single_and_sharded(const std::function<std::string(const std::string& out)>& toml,
                       const std::string& ext) {
        const std::string one = dir_.file("one" + ext);
        const std::string out = dir_.file("out" + ext);
        const std::string single = dir_.write("single.toml", toml(one));
        const test::ProcessResult s = run_conveyor({"run", single, "-q"});
        EXPECT_EQ(s.exit_code, 0) << s.err;
        const std::string file = dir_.write("p.toml", toml(out));
        const test::ProcessResult r = test::run_shards(file, 4);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        shard_files_.clear();
        for (int i = 0; i < 4; ++i) {
            std::set<std::string> files;
            const std::string part =
                test::read_file(dir_.file("out.part-0000" + std::to_string(i) + "-of-00004" + ext));
            for (const std::string& line : lines_of(part))
                if (line.starts_with("{\"file\":\""))
                    files.insert(line.substr(9, line.find('"', 9) - 9));
            shard_files_.push_back(std::move(files));
        }
        const test::ProcessResult f = run_conveyor({"finalize", file});
        EXPECT_EQ(f.exit_code, 0) << f.err;
        return {test::read_file(one), test::read_file(out)};
    }

    test::TempDir dir_;
    std::string glob_;
    std::vector<std::set<std::string>> shard_files_; ///< the files each part's records came from
};

TEST_F(GlobShards, FourShardsReadDisjointFilesAndFinalizeGivesTheSingleRunsRecords) {
    for (const std::string& where : {std::string("source"), std::string("global")}) {
        SCOPED_TRACE(where);
        const auto [single, sharded] = single_and_sharded(
            [&](const std::string& out) {
                return where == "source"
                           ? read_write_toml("csv.read", glob_, out, "", "partition = \"files\"")
                           : read_write_toml("csv.read", glob_, out, "partition = \"files\"\n");
            },
            ".ndjson");
        EXPECT_EQ(lines_of(single).size(), 1525U);
        EXPECT_EQ(test::sorted_lines(sharded), test::sorted_lines(single));
        // Each file whole in exactly one shard; by size: f0 (700) alone, f2 (310) + f1 (40)
        // ... every shard has some.
        std::multiset<std::string> all;
        for (const std::set<std::string>& files : shard_files_) {
            EXPECT_FALSE(files.empty());
            all.insert(files.begin(), files.end());
        }
        EXPECT_EQ(all, (std::multiset<std::string>{"f0", "f1", "f2", "f3", "f4", "f5", "f6"}));
        EXPECT_EQ(shard_files_[0], std::set<std::string>{"f0"});
    }
}

TEST_F(GlobShards, HashShardsOfAGlobGiveTheSingleRunsRecords) {
    const auto [single, sharded] = single_and_sharded(
        [&](const std::string& out) {
            return read_write_toml("csv.read", glob_, out,
                                   "partition = \"hash\"\npartition_key = \"amount\"\n");
        },
        ".ndjson");
    EXPECT_EQ(lines_of(single).size(), 1525U);
    EXPECT_EQ(test::sorted_lines(sharded), test::sorted_lines(single));
}

TEST_F(GlobShards, AGroupByOverFileShardsGivesTheSingleRunsGroups) {
    const auto [single, sharded] = single_and_sharded(
        [&](const std::string& out) {
            return "[global]\npartition = \"files\"\n" +
                   test::stage_toml("read", "csv.read", "", "path = \"" + glob_ + "\"") +
                   test::stage_toml("g", "groupby.apply", "\"read\"",
                                    "by = [\"amount\"]\nsorted = true\naggregations = [{ "
                                    "operation = \"count\" }, { column = \"n\", operation = "
                                    "\"sum\" }, { column = \"n\", operation = \"avg\" }, { "
                                    "column = \"file\", operation = \"max\" }]") +
                   test::stage_toml("write", "csv.write", "\"g\"", "path = \"" + out + "\"");
        },
        ".csv");
    EXPECT_GT(lines_of(single).size(), 500U);
    EXPECT_EQ(sharded, single);
}

TEST_F(GlobShards, WhatCannotBeShardedByFilesIsRefusedWithTheFix) {
    const std::string rows =
        dir_.write("r.toml", read_write_toml("csv.read", glob_, dir_.file("r.ndjson"), "", ""));
    test::ProcessResult r = run_conveyor({"run", rows, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("use partition = \"files\""));

    const std::string sorted = dir_.write(
        "s.toml", "[global]\npartition = \"files\"\n" +
                      test::stage_toml("read", "csv.read", "", "path = \"" + glob_ + "\"") +
                      test::stage_toml("s", "sort.apply", "\"read\"", "by = \"amount\"") +
                      test::stage_toml("w", "json.write", "\"s\"",
                                       "path = \"" + dir_.file("s.ndjson") + "\""));
    r = run_conveyor({"run", sorted, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("sort.apply over partition = \"files\" shards"));

    const std::string stdin_files = dir_.write(
        "i.toml", read_write_toml("csv.read", "-", dir_.file("i.ndjson"), "partition = \"files\""));
    r = run_conveyor({"run", stdin_files, "--shard", "0/2"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
}

TEST_F(GlobShards, FilesOfOnePlainPathIsThatFileReadByShardZero) {
    const std::string one = dir_.file("in/f2.csv");
    const std::string file =
        dir_.write("p.toml", read_write_toml("csv.read", one, dir_.file("out.ndjson"),
                                             "partition = \"files\"\n"));
    const test::ProcessResult r0 = run_conveyor({"run", file, "--shard", "0/2"});
    ASSERT_EQ(r0.exit_code, 0) << r0.err;
    EXPECT_THAT(r0.err, HasSubstr("not a glob"));
    ASSERT_EQ(run_conveyor({"run", file, "-q", "--shard", "1/2"}).exit_code, 0);
    EXPECT_EQ(lines_of(test::read_file(dir_.file("out.part-00000-of-00002.ndjson"))).size(), 310U);
    EXPECT_EQ(test::read_file(dir_.file("out.part-00001-of-00002.ndjson")), "");
    ASSERT_EQ(run_conveyor({"finalize", file}).exit_code, 0);
}

} // namespace
} // namespace conveyor
