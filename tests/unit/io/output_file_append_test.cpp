// OutputFile append mode: in place, no temporary file, nothing rolled back.

#include "conveyor/exec/run_context.hpp"
#include "conveyor/io/output_file.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

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

} // namespace
} // namespace conveyor
