// OutputFile on what an output path may name besides a regular file: character devices and
// FIFOs are written directly and stay what they are, symbolic links are written through,
// other special files are refused.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/output_file.hpp"
#include "support/process.hpp"

#include <cstring>
#include <fcntl.h>
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

/// A character device node `name` in `dir` for the device major:minor (a copy of /dev/null
/// is 1:3, of /dev/full 1:7), so that a broken build replaces the copy, not the system's.
/// Without the right to make one (not root), the system's node `fallback`: a build that
/// replaced it could not, lacking the right to write /dev.
std::string char_device(const test::TempDir& dir, const std::string& name, unsigned major,
                        unsigned minor, const std::string& fallback) {
    const std::string path = dir.file(name);
    if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(major, minor)) == 0) return path;
    return fallback;
}

bool is_char_device(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

TEST(OutputFileTargetsTest, ACharacterDeviceIsWrittenDirectlyAndStaysADevice) {
    test::TempDir dir;
    const std::string null = char_device(dir, "null", 1, 3, "/dev/null");
    RunContext run;
    {
        auto f = OutputFile::create(null, &run);
        ASSERT_TRUE(f.ok()) << f.error().to_string();
        EXPECT_TRUE(f->is_special());
        EXPECT_FALSE(f->is_append());
        ASSERT_TRUE(f->write("a,b\n1,2\n"));
        ASSERT_TRUE(f->commit());
    }
    EXPECT_TRUE(is_char_device(null)) << "the device was replaced by a regular file";
    const std::filesystem::path parent = std::filesystem::path(null).parent_path();
    if (parent.string() == dir.path()) {
        EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"null"})
            << "no temporary file beside the device";
    }
}

TEST(OutputFileTargetsTest, AFullDeviceFailsTheWriteNamingThePath) {
    test::TempDir dir;
    const std::string full = char_device(dir, "full", 1, 7, "/dev/full");
    RunContext run;
    auto f = OutputFile::create(full, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->write("a,b\n1,2\n"));
    const Status s = f->commit();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind, ErrorKind::CantCreate); // exit 73
    EXPECT_EQ(s.error().where, full);
    EXPECT_THAT(s.error().message, HasSubstr("No space left on device"));
    f->abort();
    EXPECT_TRUE(is_char_device(full));
}

TEST(OutputFileTargetsTest, AppendingToACharacterDeviceWritesIt) {
    test::TempDir dir;
    const std::string full = char_device(dir, "full", 1, 7, "/dev/full");
    RunContext run;
    auto f = OutputFile::open_append(full, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_TRUE(f->is_special());
    EXPECT_EQ(f->initial_size(), 0u);
    ASSERT_TRUE(f->write("x\n"));
    EXPECT_FALSE(f->flush()) << "the write reached the device, which is full";
    EXPECT_TRUE(is_char_device(full));
}

TEST(OutputFileTargetsTest, ASpecialFileHasNoCheckpoint) {
    test::TempDir dir;
    const std::string null = char_device(dir, "null", 1, 3, "/dev/null");
    RunContext run;
    auto f = OutputFile::create(null, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->write("x\n"));
    auto at = f->checkpoint(false);
    ASSERT_FALSE(at.ok()) << "a resumed run could not continue a device";
    EXPECT_THAT(at.error().message, HasSubstr("cannot continue it"));
    EXPECT_EQ(at.error().where, null);
}

TEST(OutputFileTargetsTest, AFifoGetsTheOutputAndStaysAFifo) {
    test::TempDir dir;
    const std::string fifo = dir.file("pipe");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    test::FifoReader reader(fifo);
    RunContext run;
    {
        auto f = OutputFile::create(fifo, &run);
        ASSERT_TRUE(f.ok()) << f.error().to_string();
        EXPECT_TRUE(f->is_special());
        ASSERT_TRUE(f->write("{\"a\":1}\n"));
        ASSERT_TRUE(f->write("{\"a\":2}\n"));
        ASSERT_TRUE(f->commit());
    }
    EXPECT_EQ(reader.text(), "{\"a\":1}\n{\"a\":2}\n");
    struct stat st {};
    ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
    EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"pipe"});
}

TEST(OutputFileTargetsTest, AppendingToAFifoWritesToItsReaderAndStaysAFifo) {
    test::TempDir dir;
    const std::string fifo = dir.file("pipe");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    test::FifoReader reader(fifo);
    RunContext run;
    {
        auto f = OutputFile::open_append(fifo, &run);
        ASSERT_TRUE(f.ok()) << f.error().to_string();
        EXPECT_TRUE(f->is_special());
        ASSERT_TRUE(f->write("line\n"));
        ASSERT_TRUE(f->commit());
    }
    EXPECT_EQ(reader.text(), "line\n");
    struct stat st {};
    ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(OutputFileTargetsTest, ASocketIsRefusedAndLeftAlone) {
    test::TempDir dir;
    const std::string path = dir.file("sock");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    path.copy(addr.sun_path, path.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    RunContext run;
    for (const bool append : {false, true}) {
        auto f = append ? OutputFile::open_append(path, &run) : OutputFile::create(path, &run);
        ASSERT_FALSE(f.ok());
        EXPECT_EQ(f.error().kind, ErrorKind::CantCreate);
        EXPECT_EQ(f.error().where, path);
        EXPECT_THAT(f.error().message, HasSubstr("is a socket"));
    }
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    ::close(fd);
}

TEST(OutputFileTargetsTest, ABlockDeviceIsRefused) {
    test::TempDir dir;
    const std::string path = dir.file("disk");
    // The suite runs as root (README): making a device node needs CAP_MKNOD.
    ASSERT_EQ(::mknod(path.c_str(), S_IFBLK | 0600, makedev(7, 0)), 0)
        << "cannot make a block device node: " << std::strerror(errno)
        << " (run the tests as root, as README says)";
    RunContext run;
    auto f = OutputFile::create(path, &run);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::CantCreate);
    EXPECT_THAT(f.error().message, HasSubstr("is a block device"));
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISBLK(st.st_mode));
}

TEST(OutputFileTargetsTest, AnExistingDirectoryIsRefused) {
    test::TempDir dir;
    RunContext run;
    auto f = OutputFile::create(dir.path(), &run);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::CantCreate);
    EXPECT_THAT(f.error().message, HasSubstr("is an existing directory"));
}

TEST(OutputFileTargetsTest, ASymlinkIsWrittenThroughAndStaysALink) {
    test::TempDir dir;
    const std::string target = dir.write("data/out.csv", "old\n");
    const std::string link = dir.file("out.csv");
    std::filesystem::create_symlink("data/out.csv", link);
    RunContext run;
    {
        auto f = OutputFile::create(link, &run);
        ASSERT_TRUE(f.ok()) << f.error().to_string();
        EXPECT_EQ(f->path(), link) << "messages name the path as given";
        ASSERT_TRUE(f->write("new\n"));
        ASSERT_TRUE(f->commit());
    }
    ASSERT_TRUE(std::filesystem::is_symlink(link)) << "the link was replaced by a file";
    EXPECT_EQ(std::filesystem::read_symlink(link), "data/out.csv");
    EXPECT_EQ(test::read_file(target), "new\n");
    EXPECT_EQ(test::list_dir(dir.file("data")), std::vector<std::string>{"out.csv"});
    EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"data", "out.csv"}));
}

TEST(OutputFileTargetsTest, AFailedRunThroughASymlinkLeavesLinkAndTarget) {
    test::TempDir dir;
    const std::string target = dir.write("data/out.csv", "old\n");
    const std::string link = dir.file("out.csv");
    std::filesystem::create_symlink(target, link); // absolute
    RunContext run;
    {
        auto f = OutputFile::create(link, &run);
        ASSERT_TRUE(f.ok()) << f.error().to_string();
        ASSERT_TRUE(f->write("half"));
        ASSERT_TRUE(f->flush());
        f->abort();
    }
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(test::read_file(target), "old\n");
    EXPECT_EQ(test::list_dir(dir.file("data")), std::vector<std::string>{"out.csv"});
}

TEST(OutputFileTargetsTest, ADanglingSymlinkCreatesItsTarget) {
    test::TempDir dir;
    const std::string link = dir.file("out.jsonl");
    std::filesystem::create_symlink("later/made.jsonl", link);
    RunContext run;
    auto f = OutputFile::create(link, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->write("{}\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(test::read_file(dir.file("later/made.jsonl")), "{}\n");
}

TEST(OutputFileTargetsTest, AChainOfLinksIsFollowedToTheEnd) {
    test::TempDir dir;
    const std::string target = dir.write("real.csv", "old\n");
    std::filesystem::create_symlink("real.csv", dir.file("one"));
    std::filesystem::create_symlink("one", dir.file("two"));
    RunContext run;
    auto f = OutputFile::create(dir.file("two"), &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->write("new\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_TRUE(std::filesystem::is_symlink(dir.file("one")));
    EXPECT_TRUE(std::filesystem::is_symlink(dir.file("two")));
    EXPECT_EQ(test::read_file(target), "new\n");
}

TEST(OutputFileTargetsTest, ALinkLoopIsRefused) {
    test::TempDir dir;
    std::filesystem::create_symlink("b", dir.file("a"));
    std::filesystem::create_symlink("a", dir.file("b"));
    RunContext run;
    auto f = OutputFile::create(dir.file("a"), &run);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::CantCreate);
    EXPECT_THAT(f.error().message, HasSubstr("symbolic links"));
    EXPECT_TRUE(std::filesystem::is_symlink(dir.file("a")));
}

TEST(OutputFileTargetsTest, AppendingFollowsASymlink) {
    test::TempDir dir;
    const std::string target = dir.write("data/log.jsonl", "{\"a\":1}\n");
    const std::string link = dir.file("log.jsonl");
    std::filesystem::create_symlink("data/log.jsonl", link);
    RunContext run;
    auto f = OutputFile::open_append(link, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_EQ(f->initial_size(), 8u);
    ASSERT_TRUE(f->write("{\"a\":2}\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(test::read_file(target), "{\"a\":1}\n{\"a\":2}\n");
}

} // namespace
} // namespace conveyor
