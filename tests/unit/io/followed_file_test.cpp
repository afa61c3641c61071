// FollowedFile: tail -F semantics. Waiting reads run on a helper thread and are collected with
// a deadline (future::wait_for), never synchronised by sleeping.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/followed_file.hpp"
#include "support/process.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace conveyor {
namespace {

using namespace std::chrono_literals;

void append(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << text;
}

/// One read of up to 4 KiB.
std::string read_some(InputFile& in) {
    char buf[4096];
    Result<std::size_t> n = in.read(buf);
    EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().to_string());
    return n.ok() ? std::string(buf, *n) : std::string();
}

std::unique_ptr<FollowedFile> open_followed(const std::string& path, RunContext& run,
                                            FollowFrom from = FollowFrom::Beginning) {
    FollowedFile::Options o;
    o.from = from;
    o.poll_interval = 50ms; // a lost notification only costs this much
    auto f = FollowedFile::open(path, &run, o);
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().to_string());
    return f.ok() ? std::move(f).value() : nullptr;
}

InputFile first_segment(FollowedFile& f) {
    auto seg = f.next_segment();
    EXPECT_TRUE(seg.ok() && seg->has_value());
    return std::move(**seg);
}

TEST(FollowedFileTest, ReadsWhatIsThereThenWhatIsAppended) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "a\n");
    RunContext run;
    auto f = open_followed(path, run);
    ASSERT_TRUE(f);
    InputFile in = first_segment(*f);
    EXPECT_FALSE(in.size().has_value()) << "a followed file has no known size";
    EXPECT_EQ(read_some(in), "a\n");
    append(path, "b\n");
    EXPECT_EQ(read_some(in), "b\n");
}

TEST(FollowedFileTest, AReadAtTheEndWaitsForAppendedData) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "");
    RunContext run;
    auto f = open_followed(path, run);
    ASSERT_TRUE(f);
    InputFile in = first_segment(*f);
    auto got = std::async(std::launch::async, [&in] {
        std::string all;
        while (all.size() < 4)
            all += read_some(in);
        return all;
    });
    append(path, "x\n");
    append(path, "y\n");
    ASSERT_EQ(got.wait_for(10s), std::future_status::ready) << "the read never woke up";
    EXPECT_EQ(got.get(), "x\ny\n");
    EXPECT_EQ(f->last_end(), FollowedFile::End::None);
}

TEST(FollowedFileTest, RotationByRenameReadsTheOldFileToItsEndThenTheNewOne) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "1\n2\n");
    RunContext run;
    auto f = open_followed(path, run);
    ASSERT_TRUE(f);
    InputFile in = first_segment(*f);
    EXPECT_EQ(read_some(in), "1\n2\n");
    ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
    append(path + ".1", "3\n"); // the writer had not switched yet
    append(path, "4\n");        // the new file
    EXPECT_EQ(read_some(in), "3\n");
    EXPECT_EQ(read_some(in), "") << "the old file ends once the new one exists";
    EXPECT_EQ(f->last_end(), FollowedFile::End::Rotated);
    EXPECT_FALSE(in.interrupted());
    InputFile next = first_segment(*f);
    EXPECT_EQ(read_some(next), "4\n");
    EXPECT_EQ(f->segments(), 2u);
}

TEST(FollowedFileTest, RotationWaitsWhileTheNewFileDoesNotExistYet) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "1\n");
    RunContext run;
    auto f = open_followed(path, run);
    ASSERT_TRUE(f);
    InputFile in = first_segment(*f);
    EXPECT_EQ(read_some(in), "1\n");
    ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
    auto ended = std::async(std::launch::async, [&in] { return read_some(in); });
    append(path + ".1", "2\n"); // still read from the old file
    append(path, "new\n");
    ASSERT_EQ(ended.wait_for(10s), std::future_status::ready);
    std::string old_tail = ended.get();
    if (old_tail == "2\n") old_tail = read_some(in); // the wait may have woken twice
    EXPECT_EQ(old_tail, "");
    EXPECT_EQ(f->last_end(), FollowedFile::End::Rotated);
    InputFile next = first_segment(*f);
    EXPECT_EQ(read_some(next), "new\n");
}

TEST(FollowedFileTest, TruncationStartsAgainFromTheBeginning) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "abcdef\n");
    RunContext run;
    auto f = open_followed(path, run);
    ASSERT_TRUE(f);
    InputFile in = first_segment(*f);
    EXPECT_EQ(read_some(in), "abcdef\n");
    ASSERT_EQ(::truncate(path.c_str(), 0), 0);
    append(path, "g\n");
    EXPECT_EQ(read_some(in), "");
    EXPECT_EQ(f->last_end(), FollowedFile::End::Truncated);
    InputFile again = first_segment(*f);
    EXPECT_EQ(read_some(again), "g\n");
}

TEST(FollowedFileTest, ATruncationAlreadyWrittenPastTheOldEndIsStillNoticed) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "abcdef\n");
    RunContext run;
    auto f = open_followed(path, run);
    ASSERT_TRUE(f);
    InputFile in = first_segment(*f);
    EXPECT_EQ(read_some(in), "abcdef\n");
    // copytruncate, and the writer goes on before conveyor looks: the file is longer again.
    ASSERT_EQ(::truncate(path.c_str(), 0), 0);
    append(path, "0123456789\n");
    EXPECT_EQ(read_some(in), "") << "not \"789\\n\": the bytes before the position changed";
    EXPECT_EQ(f->last_end(), FollowedFile::End::Truncated);
    InputFile again = first_segment(*f);
    EXPECT_EQ(read_some(again), "0123456789\n");
}

TEST(FollowedFileTest, FromEndSkipsWhatTheFileHeldAtTheStart) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "old\n");
    RunContext run;
    auto f = open_followed(path, run, FollowFrom::End);
    ASSERT_TRUE(f);
    append(path, "new\n");
    InputFile in = first_segment(*f);
    EXPECT_EQ(read_some(in), "new\n");
}

TEST(FollowedFileTest, AMissingFileIsWaitedFor) {
    test::TempDir dir;
    const std::string path = dir.file("later.log");
    RunContext run;
    auto f = open_followed(path, run, FollowFrom::End);
    ASSERT_TRUE(f);
    auto seg = std::async(std::launch::async, [&f] { return f->next_segment(); });
    append(path, "hello\n");
    ASSERT_EQ(seg.wait_for(10s), std::future_status::ready);
    auto got = seg.get();
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(read_some(**got), "hello\n") << "a file created later is read from its start";
}

TEST(FollowedFileTest, AStopWakesAWaitingRead) {
    test::TempDir dir;
    const std::string path = dir.write("app.log", "");
    RunContext run;
    auto f = open_followed(path, run);
    ASSERT_TRUE(f);
    InputFile in = first_segment(*f);
    auto got = std::async(std::launch::async, [&in] { return read_some(in); });
    run.request_stop();
    ASSERT_EQ(got.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(got.get(), "");
    EXPECT_TRUE(in.interrupted());
    auto next = f->next_segment();
    ASSERT_TRUE(next.ok());
    EXPECT_FALSE(next->has_value()) << "no more segments after a stop";
}

TEST(FollowedFileTest, AStopWakesTheWaitForAMissingFile) {
    test::TempDir dir;
    RunContext run;
    auto f = open_followed(dir.file("never.log"), run);
    ASSERT_TRUE(f);
    auto seg = std::async(std::launch::async, [&f] { return f->next_segment(); });
    run.request_stop();
    ASSERT_EQ(seg.wait_for(10s), std::future_status::ready);
    auto got = seg.get();
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
}

TEST(FollowedFileTest, AMissingDirectoryIsAnInputError) {
    test::TempDir dir;
    RunContext run;
    auto f = FollowedFile::open(dir.file("nope/app.log"), &run, {});
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::NoInput);
    EXPECT_NE(f.error().where.find("nope/app.log"), std::string::npos);
}

TEST(FollowedFileTest, ANonRegularFileIsRefused) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
    RunContext run;
    auto f = FollowedFile::open(dir.file("fifo"), &run, {});
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::NoInput);
    EXPECT_NE(f.error().message.find("not a regular file"), std::string::npos);
}

} // namespace
} // namespace conveyor
