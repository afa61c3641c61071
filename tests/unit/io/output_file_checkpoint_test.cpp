// OutputFile checkpoints: checkpoint() reports the file and its length; adopt() takes the file
// of a killed process up again, cut back to that length. "Killed" is real: the writing happens
// in a child process that ends with SIGKILL, so no destructor or abort() runs and the
// temporary file carries a pid that no longer exists.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/flush_schedule.hpp"
#include "conveyor/io/output_file.hpp"
#include "support/killed_process.hpp"
#include "support/process.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace conveyor {
namespace {

using test::in_killed_process;

/// In a killed child: create `target`, write `before`, checkpoint, write `after` (flushed to
/// the file, so it is there to be cut off). Returns "<file>\n<length>".
std::string write_then_die(const std::string& target, const std::string& before,
                           const std::string& after, bool append = false) {
    return in_killed_process([&](const auto& die) {
        RunContext run;
        auto f = append ? OutputFile::open_append(target, &run) : OutputFile::create(target, &run);
        if (!f) die("ERROR " + f.error().to_string());
        if (!f->write(before)) die("ERROR write");
        auto at = f->checkpoint(true);
        if (!at) die("ERROR " + at.error().to_string());
        if (!f->write(after) || !f->flush()) die("ERROR write");
        die(at->file + "\n" + std::to_string(at->length));
    });
}

struct Checkpointed {
    std::string file;
    std::uint64_t length = 0;
};

Checkpointed parse(const std::string& text) {
    const std::size_t nl = text.find('\n');
    EXPECT_NE(nl, std::string::npos) << text;
    if (nl == std::string::npos) return {};
    return {text.substr(0, nl), std::stoull(text.substr(nl + 1))};
}

TEST(OutputFileCheckpointTest, ReportsTheTemporaryFileAndHandsItEverything) {
    test::TempDir dir;
    RunContext run;
    auto f = OutputFile::create(dir.file("out.txt"), &run);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->write("abc\n"));
    EXPECT_EQ(f->buffered(), 4u);
    auto at = f->checkpoint(false);
    ASSERT_TRUE(at.ok()) << at.error().to_string();
    EXPECT_EQ(f->buffered(), 0u);
    EXPECT_EQ(at->length, 4u);
    EXPECT_EQ(std::filesystem::path(at->file).parent_path(), std::filesystem::path(dir.path()));
    EXPECT_TRUE(std::filesystem::path(at->file).filename().string().starts_with(
        ".out.txt.conveyor-" + std::to_string(::getpid()) + "-"));
    EXPECT_EQ(test::read_file(at->file), "abc\n");
    ASSERT_TRUE(f->write("de\n"));
    auto durable = f->checkpoint(true);
    ASSERT_TRUE(durable.ok());
    EXPECT_EQ(durable->file, at->file);
    EXPECT_EQ(durable->length, 7u);
    ASSERT_TRUE(f->commit());
    EXPECT_EQ(test::read_file(dir.file("out.txt")), "abc\nde\n");
}

TEST(OutputFileCheckpointTest, AppendModeReportsTheTargetAndItsWholeLength) {
    test::TempDir dir;
    const std::string path = dir.write("log.jsonl", "old\npartial");
    RunContext run;
    auto f = OutputFile::open_append(path, &run);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->write("new\n"));
    auto at = f->checkpoint(false);
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at->file, path);
    EXPECT_EQ(at->length, std::string("old\npartial\nnew\n").size())
        << "the line break ending the cut line counts";
}

TEST(OutputFileCheckpointTest, StandardOutputHasNoCheckpoint) {
    RunContext run;
    auto f = OutputFile::create("-", &run);
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(f->checkpoint(false).ok());
}

TEST(OutputFileCheckpointTest, AdoptCarriesOnAfterTheKilledProcessAndCommits) {
    test::TempDir dir;
    const std::string target = dir.file("out/data.txt");
    const std::string text = write_then_die(target, "one\ntwo\n", "lost\n");
    ASSERT_FALSE(text.starts_with("ERROR")) << text;
    const Checkpointed cp = parse(text);
    EXPECT_EQ(cp.length, 8u);
    ASSERT_EQ(test::read_file(cp.file), "one\ntwo\nlost\n") << "the dead process's file is left";

    // A leftover of another dead run of the same target is cleaned up, the adopted one not.
    const std::string other = dir.write("out/.data.txt.conveyor-999999999-zzzzzzzz.tmp", "x");
    RunContext run;
    auto f = OutputFile::adopt(target, cp.file, cp.length, false, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_EQ(f->initial_size(), 8u);
    EXPECT_FALSE(test::file_exists(other));
    EXPECT_EQ(test::read_file(cp.file), "one\ntwo\n") << "cut back to the checkpoint";
    ASSERT_TRUE(f->write("three\n"));
    auto at = f->checkpoint(false);
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at->file, cp.file) << "the file keeps its name, so older checkpoints still find it";
    EXPECT_EQ(at->length, 14u);
    ASSERT_TRUE(f->commit());
    EXPECT_EQ(test::read_file(target), "one\ntwo\nthree\n");
    EXPECT_EQ(test::list_dir(dir.file("out")), std::vector<std::string>{"data.txt"});
}

/// `n` bytes of lines numbered from `first`, different at every offset.
std::string numbered_lines(std::size_t n, std::size_t first) {
    std::string s;
    for (std::size_t i = first; s.size() < n; ++i)
        s += "line " + std::to_string(i) + "\n";
    s.resize(n);
    return s;
}

// Outputs past the 8 MiB stretches whose write-back OutputFile starts as it goes, before and
// after an adopt() (which writes on from the checkpoint's length): every byte where it belongs.
TEST(OutputFileCheckpointTest, LargeOutputsKeepEveryByteAcrossWritebackAndAdopt) {
    test::TempDir dir;
    const std::string target = dir.file("big.txt");
    const std::string before = numbered_lines(19u << 20, 0);
    const std::string text = write_then_die(target, before, numbered_lines(3u << 20, 7));
    ASSERT_FALSE(text.starts_with("ERROR")) << text.substr(0, 200);
    const Checkpointed cp = parse(text);
    ASSERT_EQ(cp.length, before.size());

    RunContext run;
    auto f = OutputFile::adopt(target, cp.file, cp.length, false, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    const std::string after = numbered_lines(17u << 20, 1000000);
    for (std::size_t at = 0; at < after.size(); at += 1u << 20)
        ASSERT_TRUE(f->write(std::string_view(after).substr(at, 1u << 20)));
    ASSERT_TRUE(f->commit());
    const std::string written = test::read_file(target);
    ASSERT_EQ(written.size(), before.size() + after.size());
    EXPECT_TRUE(written == before + after) << "the bytes differ";
}

TEST(OutputFileCheckpointTest, AnAdoptedFileIsRolledBackLikeACreatedOne) {
    test::TempDir dir;
    const std::string target = dir.file("data.txt");
    const Checkpointed cp = parse(write_then_die(target, "one\n", ""));
    {
        RunContext run;
        auto f = OutputFile::adopt(target, cp.file, cp.length, false, &run);
        ASSERT_TRUE(f.ok());
        ASSERT_TRUE(f->write("two\n"));
    }
    EXPECT_FALSE(test::file_exists(cp.file));
    EXPECT_FALSE(test::file_exists(target));
}

TEST(OutputFileCheckpointTest, AdoptInAppendModeCutsTheTargetBack) {
    test::TempDir dir;
    const std::string target = dir.write("log.txt", "old\n");
    const Checkpointed cp = parse(write_then_die(target, "a\n", "lost\n", true));
    EXPECT_EQ(cp.file, target);
    EXPECT_EQ(cp.length, 6u);
    RunContext run;
    auto f = OutputFile::adopt(target, cp.file, cp.length, true, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_TRUE(f->is_append());
    EXPECT_EQ(test::read_file(target), "old\na\n");
    ASSERT_TRUE(f->write("b\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_EQ(test::read_file(target), "old\na\nb\n");
    EXPECT_EQ(test::list_dir(dir.path()), std::vector<std::string>{"log.txt"});
}

TEST(OutputFileCheckpointTest, AdoptFailsClearlyWhenTheOutputIsGoneOrShorter) {
    test::TempDir dir;
    const std::string target = dir.file("data.txt");
    const Checkpointed cp = parse(write_then_die(target, "one\ntwo\n", ""));
    RunContext run;

    ASSERT_EQ(::truncate(cp.file.c_str(), 5), 0);
    auto shorter = OutputFile::adopt(target, cp.file, cp.length, false, &run);
    ASSERT_FALSE(shorter.ok());
    EXPECT_EQ(shorter.error().kind, ErrorKind::CantCreate);
    EXPECT_NE(shorter.error().message.find("shorter"), std::string::npos)
        << shorter.error().message;
    EXPECT_NE(shorter.error().message.find("conveyor run --fresh"), std::string::npos);
    EXPECT_TRUE(test::file_exists(cp.file)) << "a failed adopt leaves the file alone";

    std::filesystem::remove(cp.file);
    auto gone = OutputFile::adopt(target, cp.file, cp.length, false, &run);
    ASSERT_FALSE(gone.ok());
    EXPECT_EQ(gone.error().kind, ErrorKind::CantCreate);
    EXPECT_NE(gone.error().message.find("gone"), std::string::npos) << gone.error().message;
    EXPECT_NE(gone.error().message.find("conveyor run --fresh"), std::string::npos);

    auto append_gone = OutputFile::adopt(dir.file("none.txt"), dir.file("none.txt"), 3, true, &run);
    ASSERT_FALSE(append_gone.ok());
    EXPECT_EQ(append_gone.error().kind, ErrorKind::CantCreate);
}

TEST(OutputFileCheckpointTest, AdoptTouchesOnlyTheTargetsOwnTemporaryFiles) {
    test::TempDir dir;
    const std::string bystander = dir.write("keep.txt", "precious\n");
    const std::string elsewhere = dir.write("sub/.data.txt.conveyor-1-aaaaaaaa.tmp", "precious\n");
    const std::string other_target = dir.write(".other.txt.conveyor-1-aaaaaaaa.tmp", "precious\n");
    RunContext run;
    for (const std::string& named : {bystander, elsewhere, other_target}) {
        auto f = OutputFile::adopt(dir.file("data.txt"), named, 0, false, &run);
        EXPECT_FALSE(f.ok()) << named;
        EXPECT_EQ(test::read_file(named), "precious\n");
    }
    auto f = OutputFile::adopt(dir.file("data.txt"), bystander, 0, true, &run);
    EXPECT_FALSE(f.ok()) << "append mode adopts only the target itself";
    EXPECT_EQ(test::read_file(bystander), "precious\n");
}

TEST(OutputFileCheckpointTest, AdoptThroughASymlinkWritesOnBesideItsTargetAndKeepsTheLink) {
    test::TempDir dir;
    const std::string target = dir.write("data/out.txt", "old\n");
    const std::string link = dir.file("out.txt");
    std::filesystem::create_symlink("data/out.txt", link);
    const Checkpointed cp = parse(write_then_die(link, "one\n", "lost\n"));
    EXPECT_EQ(std::filesystem::path(cp.file).parent_path(), std::filesystem::path(dir.file("data")))
        << "the temporary file is beside the file the link names";
    RunContext run;
    auto f = OutputFile::adopt(link, cp.file, cp.length, false, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->write("two\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(test::read_file(target), "one\ntwo\n");
    EXPECT_EQ(test::list_dir(dir.file("data")), std::vector<std::string>{"out.txt"});
}

TEST(OutputFileCheckpointTest, AdoptInAppendModeThroughASymlinkCutsItsTargetBack) {
    test::TempDir dir;
    const std::string target = dir.write("data/log.txt", "old\n");
    const std::string link = dir.file("log.txt");
    std::filesystem::create_symlink("data/log.txt", link);
    const Checkpointed cp = parse(write_then_die(link, "one\n", "lost\n", true));
    RunContext run;
    auto f = OutputFile::adopt(link, cp.file, cp.length, true, &run);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->write("two\n"));
    ASSERT_TRUE(f->commit());
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    EXPECT_EQ(test::read_file(target), "old\none\ntwo\n");
}

TEST(OutputFileCheckpointTest, AdoptRefusesADeviceOrFifoInPlaceOfTheOutput) {
    test::TempDir dir;
    const std::string target = dir.file("out.txt");
    ASSERT_EQ(::mkfifo(target.c_str(), 0600), 0);
    RunContext run;
    // Without a reader, opening the FIFO for writing would wait for ever: refused before.
    auto f = OutputFile::adopt(target, target, 0, true, &run);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("FIFO"), std::string::npos) << f.error().message;
}

TEST(OutputFileCheckpointTest, ACheckpointCountsAsAFlushAndADurableOneAsASync) {
    test::TempDir dir;
    RunContext run;
    auto f = OutputFile::open_append(dir.file("log.txt"), &run);
    ASSERT_TRUE(f.ok());
    const auto t0 = FlushSchedule::Clock::now();
    FlushSchedule schedule(std::chrono::milliseconds(100), std::chrono::milliseconds(1000), t0);
    ASSERT_TRUE(f->write("a\n"));
    const auto t1 = t0 + std::chrono::milliseconds(50);
    auto at = checkpoint_out(schedule, *f, false, t1);
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at->length, 2u);
    EXPECT_EQ(schedule.next(false), t0 + std::chrono::milliseconds(1000))
        << "written but not synced: the sync is still due";
    ASSERT_TRUE(f->write("b\n"));
    EXPECT_EQ(schedule.next(true), t1 + std::chrono::milliseconds(100))
        << "the flush interval counts from the checkpoint";
    const auto t2 = t0 + std::chrono::milliseconds(70);
    ASSERT_TRUE(checkpoint_out(schedule, *f, true, t2).ok());
    EXPECT_EQ(schedule.next(false), std::nullopt) << "a durable checkpoint leaves nothing due";
    EXPECT_FALSE(schedule.sync_due(t0 + std::chrono::milliseconds(5000)));
}

} // namespace
} // namespace conveyor
