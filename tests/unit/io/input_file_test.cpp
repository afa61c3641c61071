// InputFile positions for checkpoints: seek(), read_at() and checksum_before() on regular
// files; pipes refuse them.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/input_file.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <string>
#include <sys/ioctl.h>
#include <thread>
#include <unistd.h>

namespace conveyor {
namespace {

std::string read_all(InputFile& in) {
    std::string out;
    char buf[7];
    for (;;) {
        Result<std::size_t> n = in.read(buf);
        EXPECT_TRUE(n.ok());
        if (!n.ok() || *n == 0) return out;
        out.append(buf, *n);
    }
}

std::string text_of(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
        s.push_back(static_cast<char>('a' + i % 26));
    return s;
}

TEST(InputFilePosition, SeekThenReadGoesOnFromThere) {
    test::TempDir dir;
    const std::string text = text_of(300);
    auto in = InputFile::open(dir.write("f.txt", text), nullptr);
    ASSERT_TRUE(in.ok());
    EXPECT_TRUE(in->seekable());
    ASSERT_TRUE(in->seek(123).ok());
    EXPECT_EQ(read_all(*in), text.substr(123));
    ASSERT_TRUE(in->seek(300).ok()); // the end is a position too
    EXPECT_EQ(read_all(*in), "");
    const Status past = in->seek(301);
    ASSERT_FALSE(past.ok());
    EXPECT_NE(past.error().message.find("only 300 bytes"), std::string::npos);
}

TEST(InputFilePosition, ReadAtDoesNotMoveTheReadPosition) {
    test::TempDir dir;
    const std::string text = text_of(100);
    auto in = InputFile::open(dir.write("f.txt", text), nullptr);
    ASSERT_TRUE(in.ok());
    char buf[10];
    Result<std::size_t> n = in->read_at(95, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf, *n), text.substr(95));
    EXPECT_EQ(read_all(*in), text);
}

TEST(InputFilePosition, AFileCutShortWhileBeingReadIsADataError) {
    // Truncated at a line break while a run reads it, a file would otherwise give its first
    // records and a clean end, exit 0. Both the reader and a positioned one (a chunk's) say so.
    test::TempDir dir;
    const std::string path = dir.write("f.csv", "a\n" + text_of(200) + "\n" + text_of(200) + "\n");
    auto in = InputFile::open(path, nullptr);
    ASSERT_TRUE(in.ok());
    auto chunk = in->reader_at(150);
    ASSERT_TRUE(chunk.ok());
    char buf[100];
    ASSERT_TRUE(in->read(buf).ok());
    ASSERT_EQ(::truncate(path.c_str(), 203), 0); // just after the second line
    for (InputFile* f : {&*in, &*chunk}) {
        Result<std::size_t> n = 1;
        while (n.ok() && *n > 0)
            n = f->read(buf);
        ASSERT_FALSE(n.ok());
        EXPECT_EQ(n.error().kind, ErrorKind::Data);
        EXPECT_NE(n.error().message.find("the file was cut short while being read: it had 404 "
                                         "bytes when opened and now ends at byte 203"),
                  std::string::npos)
            << n.error().message;
    }
    // A file that grew is read to its new end.
    const std::string grown = dir.write("g.csv", "a\n");
    auto g = InputFile::open(grown, nullptr);
    ASSERT_TRUE(g.ok());
    dir.write("g.csv", "a\nb\n");
    EXPECT_EQ(read_all(*g), "a\nb\n");
}

TEST(InputFilePosition, ChecksumSeesTheStartOfTheFileAndTheBytesBeforeTheOffset) {
    test::TempDir dir;
    const std::string text = text_of(1000);
    auto sum = [&](const std::string& content, std::uint64_t offset) {
        auto in = InputFile::open(dir.write("c.txt", content), nullptr);
        EXPECT_TRUE(in.ok());
        Result<std::uint64_t> h = in->checksum_before(offset);
        EXPECT_TRUE(h.ok());
        return h.ok() ? *h : 0;
    };
    const std::uint64_t base = sum(text, 500);
    EXPECT_EQ(sum(text, 500), base);
    EXPECT_NE(sum(text, 501), base);
    std::string changed = text;
    changed[10] = '#'; // among the first bytes
    EXPECT_NE(sum(changed, 500), base);
    changed = text;
    changed[480] = '#'; // just before the offset
    EXPECT_NE(sum(changed, 500), base);
    changed = text;
    changed[700] = '#'; // after it: not part of what was read
    EXPECT_EQ(sum(changed, 500), base);
    EXPECT_EQ(sum(text, 0), sum("other", 0));

    auto in = InputFile::open(dir.write("short.txt", "abc"), nullptr);
    ASSERT_TRUE(in.ok());
    EXPECT_FALSE(in->checksum_before(4).ok());
}

TEST(InputFilePosition, PipesCannotSeek) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    RunContext run;
    run.stdin_fd = fds[0];
    auto in = InputFile::open("-", &run);
    ASSERT_TRUE(in.ok());
    EXPECT_FALSE(in->seekable());
    EXPECT_FALSE(in->seek(0).ok());
    char buf[4];
    EXPECT_FALSE(in->read_at(0, buf).ok());
    EXPECT_FALSE(in->checksum_before(2).ok());
    ::close(fds[0]);
    ::close(fds[1]);
}

/// The error of the first read of `content` from a file, or "" when it reads.
std::string first_read_error(const std::string& content) {
    test::TempDir dir;
    auto in = InputFile::open(dir.write("wide.csv", content), nullptr);
    EXPECT_TRUE(in.ok());
    char buf[64];
    Result<std::size_t> n = in->read(buf);
    if (n.ok()) return "";
    EXPECT_EQ(n.error().kind, ErrorKind::Data);
    return n.error().to_string();
}

TEST(InputFileEncoding, Utf16AndUtf32ByteOrderMarksAreADataErrorNamingTheFix) {
    using namespace std::string_literals;
    EXPECT_NE(first_read_error("\xFF\xFE"
                               "a\0,\0b\0"s)
                  .find("wide.csv: not UTF-8 (UTF-16 LE byte-order mark); convert it with "
                        "iconv -f UTF-16 -t UTF-8"),
              std::string::npos);
    EXPECT_NE(first_read_error("\xFE\xFF\0a"s)
                  .find("(UTF-16 BE byte-order mark); convert it "
                        "with iconv -f UTF-16 -t UTF-8"),
              std::string::npos);
    EXPECT_NE(first_read_error("\xFF\xFE\0\0a\0\0\0"s)
                  .find("(UTF-32 LE byte-order mark); convert it with iconv -f UTF-32 -t UTF-8"),
              std::string::npos);
    EXPECT_NE(first_read_error("\0\0\xFE\xFF\0\0\0a"s).find("(UTF-32 BE byte-order mark)"),
              std::string::npos);
    // UTF-8, with or without its mark (the readers skip it), and other text read as before.
    EXPECT_EQ(first_read_error("\xEF\xBB\xBF"
                               "a,b\n"),
              "");
    EXPECT_EQ(first_read_error("a,b\n"), "");
    EXPECT_EQ(first_read_error(""), "");
}

TEST(InputFileEncoding, AMarkArrivingInPiecesThroughAPipeIsStillSeen) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    RunContext run;
    run.stdin_fd = fds[0];
    auto in = InputFile::open("-", &run);
    ASSERT_TRUE(in.ok());
    // The first byte alone could begin UTF-16 or UTF-32 LE: the reader must wait for the
    // rest, which the writer sends only once that byte has been taken out of the pipe.
    ASSERT_EQ(::write(fds[1], "\xFF", 1), 1);
    std::thread writer([fd_in = fds[0], fd_out = fds[1]] {
        int pending = 1;
        while (pending > 0 && ::ioctl(fd_in, FIONREAD, &pending) == 0)
            std::this_thread::yield();
        EXPECT_EQ(::write(fd_out, "\xFE\0\0", 3), 3);
        ::close(fd_out);
    });
    char buf[64];
    Result<std::size_t> n = in->read(buf);
    writer.join();
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.error().to_string().find("<stdin>: not UTF-8 (UTF-32 LE byte-order mark)"),
              std::string::npos)
        << n.error().to_string();
    ::close(fds[0]);
}

TEST(InputFileEncoding, ReadingOnFromACheckpointDoesNotLookForAMark) {
    test::TempDir dir;
    // Bytes 4.. happen to look like a UTF-16 mark; only the start of a file can hold one.
    auto in = InputFile::open(dir.write("f.txt", "abcd\xFF\xFExyz"), nullptr);
    ASSERT_TRUE(in.ok());
    ASSERT_TRUE(in->seek(4).ok());
    EXPECT_EQ(read_all(*in), "\xFF\xFExyz");
}

} // namespace
} // namespace conveyor
