// Compressed files through the binary: every format written as gzip or zstd (by extension or
// `compression`) and read back (recognised by its bytes), standard input and output
// compressed, a cut or damaged archive (exit 65 naming file and byte), append onto a file of
// another compression, and the options' checks.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;
using ::testing::HasSubstr;

/// The shell's `gzip -dc FILE` (the reference reader).
std::string gunzip(const std::string& path) {
    auto r = test::run_process({"/bin/sh", "-c", "gzip -dc '" + path + "'"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
}

TEST(Compression, EveryFormatRoundTripsThroughGzipAndZstd) {
    test::TempDir dir;
    const std::string csv = test::items_csv(5000);
    const std::string in = dir.write("in.csv", csv);
    // Written compressed: by extension, and by the option whatever the name.
    const std::string write = dir.write(
        "write.toml",
        stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
            stage_toml("c", "csv.write", "\"in\"", "path = \"" + dir.file("o.csv.gz") + "\"") +
            stage_toml("a", "json.write", "\"in\"", "path = \"" + dir.file("o.json.zst") + "\"") +
            stage_toml("l", "json.write", "\"in\"",
                       "path = \"" + dir.file("o.jsonl.data") +
                           "\"\nformat = \"jsonl\"\ncompression = \"gzip\"\n"
                           "compression_level = 1") +
            stage_toml("p", "json.write", "\"in\"",
                       "path = \"" + dir.file("plain.jsonl") + "\"\nformat = \"jsonl\""));
    auto r = test::run_conveyor({"run", "-q", write});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(gunzip(dir.file("o.csv.gz")), csv);
    const std::string jsonl = test::read_file(dir.file("plain.jsonl"));
    EXPECT_EQ(gunzip(dir.file("o.jsonl.data")), jsonl);
    EXPECT_LT(test::read_file(dir.file("o.csv.gz")).size(), csv.size() / 2);

    // Read back, recognised by their bytes (o.jsonl.data has no telling name).
    const std::string read = dir.write(
        "read.toml",
        stage_toml("c", "csv.read", "", "path = \"" + dir.file("o.csv.gz") + "\"") +
            stage_toml("a", "json.read", "", "path = \"" + dir.file("o.json.zst") + "\"") +
            stage_toml("l", "json.read", "",
                       "path = \"" + dir.file("o.jsonl.data") + "\"\nformat = \"jsonl\"") +
            stage_toml("co", "csv.write", "\"c\"", "path = \"" + dir.file("c.csv") + "\"") +
            stage_toml("ao", "json.write", "\"a\"",
                       "path = \"" + dir.file("a.jsonl") + "\"\nformat = \"jsonl\"") +
            stage_toml("lo", "json.write", "\"l\"",
                       "path = \"" + dir.file("l.jsonl") + "\"\nformat = \"jsonl\""));
    r = test::run_conveyor({"run", "-q", read});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("c.csv")), csv);
    EXPECT_EQ(test::read_file(dir.file("a.jsonl")), jsonl);
    EXPECT_EQ(test::read_file(dir.file("l.jsonl")), jsonl);
}

TEST(Compression, StandardInputAndOutputCarryCompressedData) {
    test::TempDir dir;
    const std::string csv = test::items_csv(300);
    const std::string in = dir.write("in.csv", csv);
    auto gz = test::run_process({"/bin/sh", "-c", "gzip -c '" + in + "'"});
    ASSERT_EQ(gz.exit_code, 0);
    const std::string file =
        dir.write("p.toml", stage_toml("in", "csv.read", "", "path = \"-\"") +
                                stage_toml("out", "csv.write", "\"in\"",
                                           "path = \"-\"\ncompression = \"gzip\""));
    test::ProcessOptions opts;
    opts.stdin_data = gz.out;
    auto r = test::run_conveyor({"run", "-q", file}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, 2), "\x1f\x8b");
    EXPECT_EQ(gunzip(dir.write("back.gz", r.out)), csv);
}

TEST(Compression, ACutOrDamagedArchiveIsADataErrorNamingFileAndByte) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(20000));
    auto gz = test::run_process({"/bin/sh", "-c", "gzip -c '" + in + "'"});
    ASSERT_EQ(gz.exit_code, 0);
    const std::string cut = dir.write("cut.csv.gz", gz.out.substr(0, gz.out.size() / 2));
    const std::string file =
        dir.write("p.toml", stage_toml("in", "csv.read", "", "path = \"" + cut + "\"") +
                                stage_toml("out", "csv.write", "\"in\"",
                                           "path = \"" + dir.file("out.csv") + "\""));
    auto r = test::run_conveyor({"run", "-q", file});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cut.csv.gz: truncated gzip archive: the compressed data ends "
                                 "at byte " +
                                 std::to_string(gz.out.size() / 2)));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv"))); // no partial output

    std::string damaged = gz.out;
    for (std::size_t i = 100; i < 140; ++i)
        damaged[i] = static_cast<char>(~damaged[i]);
    dir.write("cut.csv.gz", damaged);
    r = test::run_conveyor({"run", "-q", file});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cut.csv.gz: corrupt gzip data ("));
    EXPECT_THAT(r.err, HasSubstr(" at byte "));
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(Compression, AppendingOntoAFileOfAnotherCompressionIsRefused) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(3));
    const std::string target = dir.write("log.csv.gz", "id,name\n0,n0\n"); // plain text
    const std::string file =
        dir.write("p.toml", stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                                stage_toml("out", "csv.write", "\"in\"",
                                           "path = \"" + target + "\"\nappend = true"));
    auto r = test::run_conveyor({"run", "-q", file});
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("append = true with compression = \"gzip\", but the file holds "
                                 "data that is not compressed"));
    EXPECT_EQ(test::read_file(target), "id,name\n0,n0\n");

    // Onto a gzip file, appended runs add members and the header once.
    dir.write("log.csv.gz", "");
    ASSERT_EQ(::unlink(target.c_str()), 0);
    for (int run = 0; run < 2; ++run) {
        r = test::run_conveyor({"run", "-q", file});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    EXPECT_EQ(gunzip(target), "id,name\n1,n1\n2,n2\n3,n3\n1,n1\n2,n2\n3,n3\n");
}

TEST(Compression, OptionsAreChecked) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", test::items_csv(3));
    const std::string file = dir.write(
        "p.toml",
        stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
            stage_toml("a", "csv.write", "\"in\"",
                       "path = \"" + dir.file("a.csv.gz") + "\"\ncompression_level = 12") +
            stage_toml("b", "csv.write", "\"in\"",
                       "path = \"" + dir.file("b.csv.gz") + "\"\ncompression = \"zstd\"") +
            stage_toml("c", "csv.write", "\"in\"",
                       "path = \"" + dir.file("c.csv") + "\"\ncompression = \"bzip2\""));
    auto r = test::run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    const std::string all = r.out + r.err;
    EXPECT_THAT(all, HasSubstr("gzip compression levels go from 1 to 9, not 12"));
    EXPECT_THAT(all, HasSubstr("the path ends like a gzip file, but compression = \"zstd\" "
                               "writes zstd data"));
    EXPECT_THAT(all, HasSubstr("bzip2"));
}

} // namespace
} // namespace conveyor
