// Outputs split over files: `{{ field }}` in a sink's path writes one file per distinct value
// (values made safe for a file name), max_records_per_file / max_bytes_per_file roll to
// numbered files, max_open_files keeps 100k distinct values within a small descriptor limit,
// and a failed run leaves none of the files.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;

std::string read_then_write(const std::string& in, const std::string& function,
                            const std::string& config) {
    return stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
           stage_toml("out", function, "\"in\"", config);
}

TEST(SplitOutputs, OneFilePerValueEachWithItsHeaderAndValuesMadeSafe) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,country\n1,FR\n2,DE\n3,FR\n4,\n5,a/../b\n"
                                               "6,.hidden\n7,DE\n8,\"\"\n");
    const std::string file = dir.write(
        "p.toml",
        read_then_write(in, "csv.write", "path = \"" + dir.file("out/{{ country }}.csv") + "\""));
    auto r = test::run_conveyor({"run", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out/FR.csv")), "id,country\n1,FR\n3,FR\n");
    EXPECT_EQ(test::read_file(dir.file("out/DE.csv")), "id,country\n2,DE\n7,DE\n");
    EXPECT_EQ(test::read_file(dir.file("out/__null__.csv")), "id,country\n4,\n");
    EXPECT_EQ(test::read_file(dir.file("out/a%2F..%2Fb.csv")), "id,country\n5,a/../b\n");
    EXPECT_EQ(test::read_file(dir.file("out/%2Ehidden.csv")), "id,country\n6,.hidden\n");
    EXPECT_EQ(test::read_file(dir.file("out/__empty__.csv")), "id,country\n8,\"\"\n");
    EXPECT_EQ(test::list_dir(dir.file("out")).size(), 6u); // nothing else, no temporary files
    EXPECT_THAT(r.err, HasSubstr("stage 'out': 6 files written for 6 distinct values"));
}

TEST(SplitOutputs, RollingFilesAreNumberedPerValue) {
    test::TempDir dir;
    std::string csv = "id,k\n";
    for (int i = 1; i <= 7; ++i)
        csv += std::to_string(i) + "," + (i % 2 ? "odd" : "even") + "\n";
    const std::string in = dir.write("in.csv", csv);
    // Batches of 2 records: a file rolls by size at the end of a batch.
    const std::string file =
        dir.write("p.toml", "[global]\nbatch_size = 2\n" +
                                read_then_write(in, "json.write",
                                                "path = \"" + dir.file("out/{{k}}/part.jsonl.gz") +
                                                    "\"\nmax_records_per_file = 2") +
                                stage_toml("bytes", "csv.write", "\"in\"",
                                           "path = \"" + dir.file("bytes/all.csv") +
                                               "\"\nmax_bytes_per_file = 10"));
    auto r = test::run_conveyor({"run", "-q", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto gunzip = [](const std::string& p) {
        return test::run_process({"/bin/sh", "-c", "gzip -dc '" + p + "'"}).out;
    };
    EXPECT_EQ(test::list_dir(dir.file("out/odd")),
              (std::vector<std::string>{"part-00001.jsonl.gz", "part-00002.jsonl.gz"}));
    EXPECT_EQ(gunzip(dir.file("out/odd/part-00001.jsonl.gz")),
              "{\"id\":1,\"k\":\"odd\"}\n{\"id\":3,\"k\":\"odd\"}\n");
    EXPECT_EQ(gunzip(dir.file("out/odd/part-00002.jsonl.gz")),
              "{\"id\":5,\"k\":\"odd\"}\n{\"id\":7,\"k\":\"odd\"}\n");
    EXPECT_EQ(test::list_dir(dir.file("out/even")),
              (std::vector<std::string>{"part-00001.jsonl.gz", "part-00002.jsonl.gz"}));
    EXPECT_EQ(gunzip(dir.file("out/even/part-00002.jsonl.gz")), "{\"id\":6,\"k\":\"even\"}\n");
    // By size: a file ends once it holds 10 bytes, each with its header.
    const auto parts = test::list_dir(dir.file("bytes"));
    ASSERT_GE(parts.size(), 2u);
    EXPECT_EQ(parts.front(), "all-00001.csv");
    std::string rows;
    for (const std::string& p : parts) {
        const std::string text = test::read_file(dir.file("bytes/" + p));
        ASSERT_EQ(text.rfind("id,k\n", 0), 0u) << p;
        rows += text.substr(5);
    }
    EXPECT_EQ(rows, csv.substr(5)); // every record once, in order
}

TEST(SplitOutputs, ThousandsOfValuesWithinASmallDescriptorLimit) {
    test::TempDir dir;
    std::string csv = "id,v\n";
    // 80 times the descriptor limit below; files are created at about 5,000 a second here, so
    // more would only make the test slow.
    constexpr int kValues = 5'000;
    for (int i = 0; i < kValues; ++i)
        csv += std::to_string(i) + ",x\n";
    csv += "5,again\n"; // a value whose file was closed long ago gets its second record
    const std::string in = dir.write("in.csv", csv);
    const std::string file =
        dir.write("p.toml", read_then_write(in, "csv.write",
                                            "path = \"" + dir.file("out/{{ id }}.csv") +
                                                "\"\nmax_open_files = 8"));
    // 64 descriptors: without the cap the run could not hold 5,000 files open.
    auto r = test::run_process(
        {"/bin/sh", "-c", "ulimit -n 64 && exec '" CONVEYOR_BINARY "' run -q '" + file + "'"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::list_dir(dir.file("out")).size(), static_cast<std::size_t>(kValues));
    EXPECT_EQ(test::read_file(dir.file("out/4999.csv")), "id,v\n4999,x\n");
    EXPECT_EQ(test::read_file(dir.file("out/5.csv")), "id,v\n5,x\n5,again\n");
}

TEST(SplitOutputs, AFailedRunLeavesNoneOfTheFiles) {
    test::TempDir dir;
    // The third record has no 'country' field: the sink fails the run.
    const std::string in = dir.write("in.jsonl", "{\"id\":1,\"country\":\"FR\"}\n"
                                                 "{\"id\":2,\"country\":\"DE\"}\n{\"id\":3}\n");
    const std::string file = dir.write(
        "p.toml", stage_toml("in", "json.read", "", "path = \"" + in + "\"") +
                      stage_toml("out", "json.write", "\"in\"",
                                 "path = \"" + dir.file("out/{{ country }}.jsonl") + "\""));
    auto r = test::run_conveyor({"run", "-q", file});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("field 'country' is missing from the record"));
    EXPECT_FALSE(std::filesystem::exists(dir.file("out"))) << "the run created it";
}

TEST(SplitOutputs, AFullDiskLeavesNoneOfTheDirectoriesTheRunCreated) {
    test::TempDir dir;
    std::string jsonl;
    for (int i = 0; i < 200; ++i)
        jsonl += "{\"id\":" + std::to_string(i) + ",\"k\":\"" + (i % 2 ? "odd" : "even") +
                 "\",\"pad\":\"" + std::string(100, 'x') + "\"}\n";
    const std::string in = dir.write("in.jsonl", jsonl);
    // `full` exists (with a file of its own) before the run; `full/b` and the value
    // directories do not.
    dir.write("full/keep.txt", "mine\n");
    const std::string file = dir.write(
        "p.toml", stage_toml("in", "json.read", "", "path = \"" + in + "\"") +
                      stage_toml("out", "json.write", "\"in\"",
                                 "path = \"" + dir.file("full/b/{{ k }}/{{ id }}.json") + "\"") +
                      stage_toml("one", "json.write", "\"in\"",
                                 "path = \"" + dir.file("full/c/all.jsonl") + "\""));
    test::ProcessOptions opts;
    opts.file_size_limit = 4096; // all.jsonl passes it: EFBIG, as a full disk gives ENOSPC
    auto r = test::run_conveyor({"run", "-q", file}, opts);
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("File too large"));
    EXPECT_EQ(test::list_dir(dir.file("full")), std::vector<std::string>{"keep.txt"});
    EXPECT_EQ(test::read_file(dir.file("full/keep.txt")), "mine\n");
}

TEST(SplitOutputs, APlaceholderNotInTheCsvHeaderIsAConfigErrorBeforeAnyRowIsRead) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,country\n1,FR\n");
    const std::string file =
        dir.write("p.toml", read_then_write(in, "csv.write",
                                            "path = \"" + dir.file("out/{{ countr }}.csv") + "\""));
    auto r = test::run_conveyor({"run", "-q", file});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'out': path: {{ countr }}: field 'countr' is not in the "
                                 "input (columns: id, country) (did you mean 'country'?)"));
    EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(SplitOutputs, OptionsAreChecked) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id\n1\n");
    const std::string file = dir.write(
        "p.toml", read_then_write(in, "csv.write", "path = \"-\"\nmax_records_per_file = 10") +
                      stage_toml("b", "json.write", "\"in\"", "path = \"out/{{ id.csv\"") +
                      stage_toml("c", "json.write", "\"in\"",
                                 "path = \"out/x.jsonl\"\nmax_records_per_file = 0"));
    auto r = test::run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("standard output cannot be split into files"));
    EXPECT_THAT(r.err, HasSubstr("stage 'b'"));
    EXPECT_THAT(r.err, HasSubstr("max_records_per_file"));
}

} // namespace
} // namespace conveyor
