// The directories OutputFile creates for an output inside a run: a run that rolls back removes
// them again (deepest first, only when empty, never one that existed before); a run that
// commits, or that keeps its files for `--resume`, keeps them.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/output_file.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

namespace fs = std::filesystem;

/// Writes `text` to `path` inside `run` (deferring, as run_pipeline does): the finished file
/// waits in run.finished_outputs() for the run to commit or roll back.
void write_deferred(RunContext& run, const std::string& path, const std::string& text) {
    run.finished_outputs().set_deferring(true);
    auto f = OutputFile::create(path, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->write(text));
    ASSERT_TRUE(f->commit());
}

TEST(OutputFileDirectoriesTest, ARollBackRemovesTheDirectoriesTheRunCreatedNotTheOthers) {
    test::TempDir dir;
    fs::create_directories(dir.file("before"));
    RunContext run;
    write_deferred(run, dir.file("before/a/b/1.json"), "{}\n");
    write_deferred(run, dir.file("before/a/c/2.json"), "{}\n");
    ASSERT_TRUE(fs::is_directory(dir.file("before/a/b")));
    run.finished_outputs().roll_back(run.temp_files(), false);
    EXPECT_FALSE(fs::exists(dir.file("before/a")));
    EXPECT_TRUE(fs::is_directory(dir.file("before"))) << "it existed before the run";
    EXPECT_TRUE(test::list_dir(dir.file("before")).empty());
}

TEST(OutputFileDirectoriesTest, ADirectoryThatIsNotEmptyStaysWithItsParents) {
    test::TempDir dir;
    RunContext run;
    write_deferred(run, dir.file("out/a/b/1.json"), "{}\n");
    write_deferred(run, dir.file("out/c/2.json"), "{}\n");
    // Someone else's file, put in a directory the run created.
    dir.write("out/a/theirs.txt", "x");
    run.finished_outputs().roll_back(run.temp_files(), false);
    EXPECT_FALSE(fs::exists(dir.file("out/a/b")));
    EXPECT_FALSE(fs::exists(dir.file("out/c")));
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"a"});
    EXPECT_EQ(test::list_dir(dir.file("out/a")), std::vector<std::string>{"theirs.txt"});
}

TEST(OutputFileDirectoriesTest, AnAbortedFileLeavesNoDirectoryAfterTheRollBack) {
    test::TempDir dir;
    RunContext run;
    run.finished_outputs().set_deferring(true);
    {
        auto f = OutputFile::create(dir.file("out/x/1.json"), &run);
        ASSERT_TRUE(f.ok()) << f.error().to_string();
        ASSERT_TRUE(f->write("{}\n"));
        f->abort();
    }
    run.finished_outputs().roll_back(run.temp_files(), false);
    EXPECT_FALSE(fs::exists(dir.file("out")));
}

TEST(OutputFileDirectoriesTest, ACommittedRunKeepsTheDirectoriesItCreated) {
    test::TempDir dir;
    RunContext run;
    write_deferred(run, dir.file("out/a/1.json"), "{\"id\":1}\n");
    ASSERT_TRUE(run.finished_outputs().commit_all(run.temp_files()));
    EXPECT_EQ(test::read_file(dir.file("out/a/1.json")), "{\"id\":1}\n");
    // Forgotten once committed: emptied later, they are still not the run's to remove.
    fs::remove(dir.file("out/a/1.json"));
    run.temp_files().remove_all();
    EXPECT_TRUE(fs::is_directory(dir.file("out/a")));
}

TEST(OutputFileDirectoriesTest, ARollBackThatKeepsTheFilesForResumeKeepsTheirDirectories) {
    test::TempDir dir;
    RunContext run;
    write_deferred(run, dir.file("out/a/1.json"), "{}\n");
    run.finished_outputs().roll_back(run.temp_files(), true);
    ASSERT_TRUE(fs::is_directory(dir.file("out/a")));
    EXPECT_EQ(test::list_dir(dir.file("out/a")).size(), 1u) << "the temporary file is kept";
    run.temp_files().remove_directories();
    EXPECT_TRUE(fs::is_directory(dir.file("out/a"))) << "forgotten by the roll back";
}

TEST(OutputFileDirectoriesTest, AnAbortRemovesTheTemporaryFilesAndThenTheirDirectories) {
    test::TempDir dir;
    RunContext run;
    write_deferred(run, dir.file("out/a/1.json"), "{}\n");
    run.temp_files().remove_all(); // a second signal
    EXPECT_FALSE(fs::exists(dir.file("out")));
}

} // namespace
} // namespace conveyor
