// Outputs under hostile conditions, through the binary: a sink's path naming a character
// device, a FIFO, a socket or a symbolic link; a disk that fills up (a file-size limit on the
// child: writes past it fail with EFBIG, as ENOSPC would), in append mode and not; and the
// sink's counts after such a failure (records in = out + failed).

#include "conveyor/core/arena.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/format/json_parser.hpp"
#include "support/process.hpp"

#include <cstring>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

/// csv.read of in.csv into `function` writing `path`, with `sink_extra` lines in its config.
std::string pipeline(const std::string& function, const std::string& path,
                     const std::string& sink_extra = "", const std::string& global = "") {
    return "[global]\n" + global + R"(
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "in.csv"

[[stages]]
id = "save"
function = ")" +
           function + R"("
inputs = ["load"]
[stages.config]
path = ")" +
           path + "\"\n" + sink_extra;
}

/// "id,name" and `rows` rows.
std::string rows_csv(int rows) {
    std::string csv = "id,name\n";
    for (int i = 0; i < rows; ++i)
        csv += std::to_string(i) + ",name" + std::to_string(i) + "\n";
    return csv;
}

/// What json.write (jsonl) writes for rows_csv(rows).
std::string rows_jsonl(int rows) {
    std::string out;
    for (int i = 0; i < rows; ++i)
        out += "{\"id\":" + std::to_string(i) + ",\"name\":\"name" + std::to_string(i) + "\"}\n";
    return out;
}

/// Runs `toml` (written to dir/p.toml) in `dir`, with a file-size limit when given.
test::ProcessResult run_in(const test::TempDir& dir, const std::string& toml,
                           std::optional<std::uint64_t> file_size_limit = std::nullopt,
                           std::vector<std::string> extra_args = {}) {
    dir.write("p.toml", toml);
    test::ProcessOptions opts;
    opts.cwd = dir.path();
    opts.file_size_limit = file_size_limit;
    std::vector<std::string> args{"run", "-q"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    args.emplace_back("p.toml");
    return test::run_conveyor(args, opts);
}

/// A character device node `name` in `dir` (major:minor; /dev/null is 1:3, /dev/full 1:7),
/// so that a broken build replaces the copy, not the system's; the system's `fallback`
/// without the right to make one (a build that replaced it could not write /dev either).
std::string char_device(const test::TempDir& dir, const std::string& name, unsigned major,
                        unsigned minor, const std::string& fallback) {
    const std::string path = dir.file(name);
    if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(major, minor)) == 0) return path;
    return fallback;
}

mode_t file_type(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & S_IFMT : 0;
}

bool has_temporary_file(const std::string& dir) {
    for (const std::string& name : test::list_dir(dir))
        if (name.ends_with(".tmp")) return true;
    return false;
}

TEST(HardeningOutputsTest, CsvWriteToACharacterDeviceWritesItAndLeavesTheDevice) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    const std::string null = char_device(dir, "null", 1, 3, "/dev/null");
    const test::ProcessResult r = run_in(dir, pipeline("csv.write", null));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(file_type(null), S_IFCHR) << "the device was replaced by a regular file";
    EXPECT_FALSE(has_temporary_file(dir.path()));
}

TEST(HardeningOutputsTest, JsonWriteToAFullDeviceExits73NamingItAndLeavesTheDevice) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    const std::string full = char_device(dir, "full", 1, 7, "/dev/full");
    for (const std::string& extra :
         {std::string(), std::string("append = true\nformat = \"jsonl\"\n")}) {
        const test::ProcessResult r = run_in(dir, pipeline("json.write", full, extra));
        EXPECT_EQ(r.exit_code, 73) << extra << r.err;
        EXPECT_THAT(r.err, HasSubstr(full + ": write failed: No space left on device")) << extra;
        EXPECT_EQ(file_type(full), S_IFCHR) << extra;
    }
}

TEST(HardeningOutputsTest, CsvWriteToAFifoStreamsToItsReaderAndLeavesTheFifo) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    const std::string fifo = dir.file("pipe.csv");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    test::FifoReader reader(fifo);
    const test::ProcessResult r =
        run_in(dir, pipeline("csv.write", "pipe.csv"), std::nullopt, {"--log-level", "debug"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(reader.text(), rows_csv(3));
    EXPECT_EQ(file_type(fifo), S_IFIFO) << "the FIFO was replaced by a regular file";
    EXPECT_THAT(r.err, HasSubstr("pipe.csv: a FIFO is written directly"));
    EXPECT_THAT(r.err, HasSubstr("no checkpoints this run: stage 'save' (csv.write)"))
        << "a resumed run could not continue the FIFO, so the run takes no checkpoints";
    EXPECT_FALSE(has_temporary_file(dir.path()));
}

TEST(HardeningOutputsTest, ASocketOrBlockDeviceOutputIsRefusedWith73) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    const std::string sock = dir.file("out.sock");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(sock.size(), sizeof addr.sun_path);
    sock.copy(addr.sun_path, sock.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    test::ProcessResult r = run_in(dir, pipeline("csv.write", "out.sock"));
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("out.sock: output path is a socket"));
    EXPECT_EQ(file_type(sock), S_IFSOCK);
    ::close(fd);

    const std::string disk = dir.file("disk");
    // The suite runs as root (README): making a device node needs CAP_MKNOD.
    ASSERT_EQ(::mknod(disk.c_str(), S_IFBLK | 0600, makedev(7, 0)), 0)
        << "cannot make a block device node: " << std::strerror(errno)
        << " (run the tests as root, as README says)";
    r = run_in(dir, pipeline("json.write", "disk", "append = true\nformat = \"jsonl\"\n"));
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("disk: output path is a block device"));
    EXPECT_EQ(file_type(disk), S_IFBLK);
}

TEST(HardeningOutputsTest, ASymlinkedOutputIsReplacedThroughTheLinkWhichStays) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    const std::string target = dir.write("store/out.jsonl", "old\n");
    std::filesystem::create_symlink("store/out.jsonl", dir.file("out.jsonl"));
    std::filesystem::create_symlink("nowhere/new.jsonl", dir.file("dangling.jsonl"));

    test::ProcessResult r = run_in(dir, pipeline("json.write", "out.jsonl"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ASSERT_TRUE(std::filesystem::is_symlink(dir.file("out.jsonl")))
        << "the link was replaced by a regular file";
    EXPECT_EQ(std::filesystem::read_symlink(dir.file("out.jsonl")), "store/out.jsonl");
    EXPECT_EQ(test::read_file(target), rows_jsonl(3));
    EXPECT_FALSE(has_temporary_file(dir.file("store")));

    r = run_in(dir, pipeline("json.write", "out.jsonl", "append = true\n"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::is_symlink(dir.file("out.jsonl")));
    EXPECT_EQ(test::read_file(target), rows_jsonl(3) + rows_jsonl(3));

    r = run_in(dir, pipeline("json.write", "dangling.jsonl"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::is_symlink(dir.file("dangling.jsonl")));
    EXPECT_EQ(test::read_file(dir.file("nowhere/new.jsonl")), rows_jsonl(3));
}

TEST(HardeningOutputsTest, AppendOnAFullDiskExits73AndKeepsOnlyCompleteRecords) {
    constexpr int kRows = 2000;
    test::TempDir dir;
    dir.write("in.csv", rows_csv(kRows));
    const std::string before = "{\"id\":-1}\n";
    const std::string path = dir.write("out.jsonl", before);
    const std::string all = before + rows_jsonl(kRows);
    // Room for about half the records: batches of 100 are appended one write each until one
    // stops part way.
    const std::uint64_t limit = all.size() / 2;
    const test::ProcessResult r = run_in(
        dir, pipeline("json.write", "out.jsonl", "append = true\n", "batch_size = 100\n"), limit);
    EXPECT_EQ(r.exit_code, 73) << "a file-size limit is an output error, not a crash\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr("out.jsonl: write failed: File too large"));
    EXPECT_THAT(r.err, HasSubstr("cut back to its last complete record"));
    const std::string got = test::read_file(path);
    EXPECT_GT(got.size(), before.size()) << "the batches that fitted were appended";
    EXPECT_LE(got.size(), limit);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.back(), '\n') << "the last record is torn";
    EXPECT_THAT(all, StartsWith(got)) << "the file holds whole records, in order";
}

TEST(HardeningOutputsTest, ARunPastTheDiskLimitLeavesTheOldOutputAndNoTemporaryFile) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(2000));
    const std::string path = dir.write("out.csv", "old\n");
    const test::ProcessResult r = run_in(dir, pipeline("csv.write", "out.csv"), 4096);
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("out.csv: write failed: File too large"));
    EXPECT_EQ(test::read_file(path), "old\n");
    EXPECT_FALSE(has_temporary_file(dir.path())) << "the temporary file was left behind";
}

/// The sink stage's "records" counts in the --stats-json file `stats`.
struct SinkCounts {
    std::int64_t in = -1, out = -1, failed = -1;
};

SinkCounts sink_counts(const std::string& stats, const std::string& stage) {
    json::Parser parser;
    Arena arena;
    auto root = parser.parse(stats, arena);
    EXPECT_TRUE(root.ok()) << stats;
    SinkCounts c;
    if (!root.ok()) return c;
    for (const Value& st : root->find("stages")->as_array()) {
        if (st.find("id")->as_string() != stage) continue;
        const Value& rec = *st.find("records");
        c.in = rec.find("in")->as_int();
        c.out = rec.find("out")->as_int();
        c.failed = rec.find("failed")->as_int();
    }
    return c;
}

TEST(HardeningOutputsTest, CsvWriteThatFailsCountsRecordsInAsOutPlusFailed) {
    test::TempDir dir;
    dir.write("in.jsonl", "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\",\"extra\":1}\n"
                          "{\"id\":3,\"name\":\"c\"}\n");
    const std::string toml = R"(
[[stages]]
id = "load"
function = "json.read"
inputs = []
[stages.config]
path = "in.jsonl"
format = "jsonl"

[[stages]]
id = "save"
function = "csv.write"
inputs = ["load"]
[stages.config]
path = "out.csv"
)";
    const test::ProcessResult r = run_in(dir, toml, std::nullopt, {"--stats-json", "stats.json"});
    EXPECT_EQ(r.exit_code, 65) << r.err; // the record with a field the header lacks
    const SinkCounts c = sink_counts(test::read_file(dir.file("stats.json")), "save");
    EXPECT_EQ(c.in, 3);
    EXPECT_EQ(c.in, c.out + c.failed) << "out " << c.out << ", failed " << c.failed;
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(HardeningOutputsTest, SinksThatCannotWriteCountRecordsInAsOutPlusFailed) {
    test::TempDir dir;
    dir.write("in.csv", rows_csv(3));
    const std::string full = char_device(dir, "full", 1, 7, "/dev/full");
    for (const std::string function : {"csv.write", "json.write"}) {
        // Appending, each batch is written as it comes: the first one fails.
        const std::string extra =
            function == "json.write" ? "append = true\nformat = \"jsonl\"\n" : "append = true\n";
        const test::ProcessResult r = run_in(dir, pipeline(function, full, extra), std::nullopt,
                                             {"--stats-json", "stats.json"});
        EXPECT_EQ(r.exit_code, 73) << function << r.err;
        const SinkCounts c = sink_counts(test::read_file(dir.file("stats.json")), "save");
        EXPECT_EQ(c.in, 3) << function;
        EXPECT_EQ(c.in, c.out + c.failed)
            << function << ": out " << c.out << ", failed " << c.failed;
    }
}

} // namespace
} // namespace conveyor
