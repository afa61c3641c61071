// OutputFile append mode: in place, no temporary file, nothing rolled back.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/output_file.hpp"
#include "support/process.hpp"

#include <csignal>
#include <gtest/gtest.h>
#include <sys/resource.h>

namespace conveyor {
namespace {

/// Lowers this process's file-size limit to `bytes` until destroyed: a write that would take a
/// file past it fails with EFBIG, as on a full disk. SIGXFSZ is ignored meanwhile (it would
/// kill the test), as conveyor's main() ignores it.
class FileSizeLimit {
public:
    explicit FileSizeLimit(std::uint64_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &old_);
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        const rlimit lowered{static_cast<rlim_t>(bytes), old_.rlim_max};
        ok_ = ::setrlimit(RLIMIT_FSIZE, &lowered) == 0;
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    [[nodiscard]] bool ok() const noexcept { return ok_; }

private:
    rlimit old_{};
    void (*old_handler_)(int) = SIG_DFL;
    bool ok_ = false;
};

TEST(OutputFileAppendTest, CreatesTheFileAndItsDirectories) {
    test::TempDir dir;
    RunContext run;
    auto f = OutputFile::open_append(dir.file("a/b/out.jsonl"), &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_TRUE(f->is_append());
    EXPECT_EQ(f->initial_size(), 0u);
    ASSERT_TRUE(f->write("{\"x\":1}\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_EQ(test::read_file(dir.file("a/b/out.jsonl")), "{\"x\":1}\n");
}

TEST(OutputFileAppendTest, AppendsToWhatIsThereWithoutATemporaryFile) {
    test::TempDir dir;
    const std::string path = dir.write("out.jsonl", "old\n");
    RunContext run;
    auto f = OutputFile::open_append(path, &run);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->initial_size(), 4u);
    ASSERT_TRUE(f->write("new\n"));
    ASSERT_TRUE(f->flush());
    EXPECT_EQ(test::read_file(path), "old\nnew\n") << "flushed records are visible at once";
    EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"out.jsonl"});
    ASSERT_TRUE(f->sync());
    ASSERT_TRUE(f->commit());
}

TEST(OutputFileAppendTest, ALastLineCutShortIsEndedBeforeNewRecords) {
    test::TempDir dir;
    const std::string path = dir.write("out.jsonl", "{\"a\":1}\n{\"a\":");
    RunContext run;
    auto f = OutputFile::open_append(path, &run);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->write("{\"a\":3}\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_EQ(test::read_file(path), "{\"a\":1}\n{\"a\":\n{\"a\":3}\n")
        << "the new record starts on a line of its own; nothing is deleted";
}

TEST(OutputFileAppendTest, AbortKeepsWhatWasWrittenAndDropsWhatWasNot) {
    test::TempDir dir;
    const std::string path = dir.write("out.jsonl", "");
    RunContext run;
    {
        auto f = OutputFile::open_append(path, &run);
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE(f->write("written\n"));
        ASSERT_TRUE(f->flush());
        ASSERT_TRUE(f->write("buffered\n"));
        f->abort();
    }
    EXPECT_EQ(test::read_file(path), "written\n");
}

TEST(OutputFileAppendTest, ADirectoryIsRefused) {
    test::TempDir dir;
    RunContext run;
    auto f = OutputFile::open_append(dir.path(), &run);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::CantCreate);
}

TEST(OutputFileAppendTest, AWriteOnAFullDiskCutsTheFileBackToItsLastCompleteRecord) {
    test::TempDir dir;
    const std::string path = dir.write("out.jsonl", "{\"a\":0}\n");
    RunContext run;
    auto f = OutputFile::open_append(path, &run);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->write("{\"a\":1}\n"));
    ASSERT_TRUE(f->flush());
    Status s;
    {
        // Room for 8 more bytes: the next write of two records stops inside the first.
        FileSizeLimit limit(16 + 8);
        ASSERT_TRUE(limit.ok());
        ASSERT_TRUE(f->write("{\"a\":2}\n{\"a\":3}\n"));
        s = f->flush();
    }
    ASSERT_FALSE(s) << "the write went past the limit";
    EXPECT_EQ(s.error().kind, ErrorKind::CantCreate); // exit 73
    EXPECT_EQ(s.error().where, path);
    EXPECT_NE(s.error().message.find("File too large"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find("cut back"), std::string::npos) << s.error().message;
    EXPECT_EQ(test::read_file(path), "{\"a\":0}\n{\"a\":1}\n")
        << "no torn record at the end: the file ends with the last complete one";
    EXPECT_EQ(f->bytes_written(), 8u);
    f->abort();
    EXPECT_EQ(test::read_file(path), "{\"a\":0}\n{\"a\":1}\n");
}

TEST(OutputFileAppendTest, AFailedWriteOfNothingLeavesTheFileAsItWas) {
    test::TempDir dir;
    const std::string path = dir.write("out.jsonl", "{\"a\":0}\n");
    RunContext run;
    auto f = OutputFile::open_append(path, &run);
    ASSERT_TRUE(f.ok());
    Status s;
    {
        FileSizeLimit limit(8); // already full
        ASSERT_TRUE(limit.ok());
        ASSERT_TRUE(f->write("{\"a\":1}\n"));
        s = f->flush();
    }
    ASSERT_FALSE(s);
    EXPECT_EQ(test::read_file(path), "{\"a\":0}\n");
}

TEST(OutputFileAppendTest, ACreateThatFailsOnAFullDiskLeavesTheOldTargetAndNoTemporaryFile) {
    test::TempDir dir;
    const std::string path = dir.write("out.csv", "old\n");
    RunContext run;
    Status s;
    {
        auto f = OutputFile::create(path, &run);
        ASSERT_TRUE(f.ok());
        FileSizeLimit limit(10);
        ASSERT_TRUE(limit.ok());
        ASSERT_TRUE(f->write(std::string(100, 'x') + "\n"));
        s = f->commit();
    }
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind, ErrorKind::CantCreate);
    EXPECT_EQ(test::read_file(path), "old\n");
    EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"out.csv"});
}

} // namespace
} // namespace conveyor
