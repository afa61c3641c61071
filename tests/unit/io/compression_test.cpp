// gzip and zstd: the codecs round-trip through small buffers and several archives in a row;
// what they write is what zlib and libzstd (and the gzip command) read; InputFile recognises a
// compressed file or pipe by its first bytes, and a cut or damaged archive is a data error
// naming the byte; OutputFile ends an archive at every checkpoint, append flush and commit.

#include "conveyor/core/run_context.hpp"
#include "conveyor/io/compression.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/io/output_file.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

/// Text that compresses like data does: repeated words, some noise.
std::string sample_text(std::size_t bytes, unsigned seed = 1) {
    std::mt19937 rng(seed);
    static const char* kWords[] = {"alpha", "beta", "gamma", "delta", "42", "3.14", "\n", ","};
    std::string s;
    while (s.size() < bytes) {
        s += kWords[rng() % 8];
        if (rng() % 5 == 0) s.push_back(static_cast<char>('a' + rng() % 26));
    }
    s.resize(bytes);
    return s;
}

std::string compress_all(Compression c, const std::string& text, std::size_t frames = 1) {
    auto enc = Compressor::make(c, compression_levels(c).fallback);
    EXPECT_TRUE(enc.ok());
    std::string out;
    const std::size_t piece = text.size() / frames + 1;
    for (std::size_t at = 0; at < text.size(); at += piece) {
        EXPECT_TRUE((*enc)->compress(std::string_view(text).substr(at, piece), out).ok());
        EXPECT_TRUE((*enc)->end_frame(out).ok());
    }
    EXPECT_TRUE((*enc)->end_frame(out, out.empty()).ok());
    return out;
}

/// Decodes `data` handing the decoder `in_step` bytes and `out_step` bytes of room at a time.
std::string decode_all(Compression c, const std::string& data, std::size_t in_step,
                       std::size_t out_step, bool* complete = nullptr) {
    auto dec = Decompressor::make(c);
    std::string out;
    std::string buf(out_step, '\0');
    std::size_t at = 0;
    for (int guard = 0; guard < 10'000'000; ++guard) {
        const std::size_t give = std::min(in_step, data.size() - at);
        Decompressor::Step step;
        const Status s = dec->decode(std::span<const char>(data.data() + at, give), buf, step);
        EXPECT_TRUE(s.ok()) << s.error().message;
        at += step.consumed;
        out.append(buf.data(), step.produced);
        if (at == data.size() && step.produced == 0) break;
    }
    if (complete) *complete = dec->complete();
    return out;
}

class Codec : public ::testing::TestWithParam<Compression> {};

TEST_P(Codec, RoundTripsThroughTinyAndLargeBuffers) {
    const std::string text = sample_text(300'000);
    for (std::size_t frames : {1u, 7u}) {
        const std::string packed = compress_all(GetParam(), text, frames);
        EXPECT_LT(packed.size(), text.size() / 2);
        EXPECT_EQ(detect_compression(packed), GetParam());
        bool complete = false;
        EXPECT_EQ(decode_all(GetParam(), packed, 3, 5, &complete), text);
        EXPECT_TRUE(complete);
        EXPECT_EQ(decode_all(GetParam(), packed, packed.size(), 1 << 20), text);
    }
}

TEST_P(Codec, AnEmptyOutputIsAValidEmptyArchive) {
    const std::string packed = compress_all(GetParam(), "");
    ASSERT_FALSE(packed.empty());
    bool complete = false;
    EXPECT_EQ(decode_all(GetParam(), packed, 1, 1, &complete), "");
    EXPECT_TRUE(complete);
}

TEST_P(Codec, ACutArchiveIsNotComplete) {
    const std::string packed = compress_all(GetParam(), sample_text(10'000));
    bool complete = true;
    decode_all(GetParam(), packed.substr(0, packed.size() - 3), 64, 64, &complete);
    EXPECT_FALSE(complete);
}

INSTANTIATE_TEST_SUITE_P(Formats, Codec, ::testing::Values(Compression::Gzip, Compression::Zstd),
                         [](const auto& param_info) {
                             return std::string(to_string(param_info.param));
                         });

TEST(CompressionFormats, WhatWeWriteIsWhatTheReferenceLibrariesRead) {
    const std::string text = sample_text(100'000, 7);
    const std::string gz = compress_all(Compression::Gzip, text, 3);
    // zlib's own gzip reader, with automatic header detection and several members.
    z_stream z{};
    ASSERT_EQ(inflateInit2(&z, 15 + 32), Z_OK);
    std::string out(text.size() + 16, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    std::size_t made = 0;
    for (;;) {
        const int rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && z.avail_in > 0) {
            made = out.size() - z.avail_out;
            inflateReset(&z);
            continue;
        }
        ASSERT_TRUE(rc == Z_STREAM_END || rc == Z_OK) << rc;
        if (rc == Z_STREAM_END) break;
    }
    made = out.size() - z.avail_out;
    inflateEnd(&z);
    EXPECT_EQ(out.substr(0, made), text);

    const std::string zst = compress_all(Compression::Zstd, text, 3);
    std::string back(text.size(), '\0');
    const std::size_t n = ZSTD_decompress(back.data(), back.size(), zst.data(), zst.size());
    ASSERT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
    EXPECT_EQ(back.substr(0, n), text);
}

TEST(CompressionFormats, NamesAndMagicNumbers) {
    EXPECT_EQ(compression_for_path("a.csv.gz"), Compression::Gzip);
    EXPECT_EQ(compression_for_path("a.jsonl.zst"), Compression::Zstd);
    EXPECT_EQ(compression_for_path("a.csv"), Compression::None);
    EXPECT_EQ(compression_for_path(".gz"), Compression::None);
    EXPECT_EQ(compression_for_path("-"), Compression::None);
    EXPECT_EQ(detect_compression("id,name\n"), Compression::None);
    EXPECT_EQ(detect_compression(""), Compression::None);
    EXPECT_THAT(unsupported_compression(std::string("\xfd"
                                                    "7zXZ\0\0",
                                                    7))
                    .value_or(""),
                HasSubstr("xz-compressed"));
    EXPECT_THAT(unsupported_compression("BZh91AY&SY....").value_or(""),
                HasSubstr("bzip2-compressed"));
    EXPECT_FALSE(unsupported_compression("BZh9,name,other\n").has_value()); // a CSV header
    EXPECT_FALSE(unsupported_compression("id,name\n").has_value());
}

std::string read_all(InputFile& in, std::size_t step = 4096) {
    std::string out;
    std::string buf(step, '\0');
    for (;;) {
        Result<std::size_t> n = in.read(buf);
        EXPECT_TRUE(n.ok()) << n.error().to_string();
        if (!n.ok() || *n == 0) return out;
        out.append(buf.data(), *n);
    }
}

TEST(CompressedInput, AFileIsRecognisedByItsBytesWhateverItsName) {
    test::TempDir dir;
    const std::string text = sample_text(500'000, 3);
    for (Compression c : {Compression::Gzip, Compression::Zstd}) {
        auto in = InputFile::open(dir.write("data.csv", compress_all(c, text, 2)), nullptr);
        ASSERT_TRUE(in.ok());
        EXPECT_EQ(in->compression(), c);
        EXPECT_FALSE(in->seekable()); // no checkpoints in a compressed file
        EXPECT_FALSE(in->progress_size().has_value());
        EXPECT_EQ(read_all(*in, 1000), text);
    }
    // A plain file named .gz is read as it is.
    auto plain = InputFile::open(dir.write("plain.csv.gz", "id\n1\n"), nullptr);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->compression(), Compression::None);
    EXPECT_TRUE(plain->seekable());
    EXPECT_EQ(read_all(*plain), "id\n1\n");
}

TEST(CompressedInput, APipeIsRecognisedEvenWhenItsBytesComeOneByOne) {
    const std::string text = sample_text(50'000, 4);
    for (Compression c : {Compression::None, Compression::Gzip, Compression::Zstd}) {
        const std::string data = c == Compression::None ? text : compress_all(c, text);
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        RunContext run;
        run.stdin_fd = fds[0];
        std::thread writer([&] {
            for (std::size_t i = 0; i < data.size(); i += i < 16 ? 1 : 4096)
                if (::write(fds[1], data.data() + i,
                            std::min<std::size_t>(i < 16 ? 1 : 4096, data.size() - i)) < 0)
                    break;
            ::close(fds[1]);
        });
        auto in = InputFile::open("-", &run);
        ASSERT_TRUE(in.ok());
        EXPECT_EQ(read_all(*in, 777), text);
        EXPECT_EQ(in->compression(), c);
        writer.join();
        ::close(fds[0]);
    }
}

TEST(CompressedInput, ACutOrDamagedArchiveIsADataErrorNamingFileAndByte) {
    test::TempDir dir;
    const std::string packed = compress_all(Compression::Gzip, sample_text(200'000, 5));
    auto cut = InputFile::open(dir.write("cut.csv.gz", packed.substr(0, 5000)), nullptr);
    ASSERT_TRUE(cut.ok());
    std::string buf(1 << 16, '\0');
    Result<std::size_t> n = std::size_t{1};
    while (n.ok() && *n > 0)
        n = cut->read(buf);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().kind, ErrorKind::Data);
    EXPECT_THAT(n.error().to_string(), HasSubstr("cut.csv.gz"));
    EXPECT_THAT(n.error().to_string(),
                HasSubstr("truncated gzip archive: the compressed data ends at byte 5000"));

    std::string damaged = compress_all(Compression::Zstd, sample_text(200'000, 5));
    for (std::size_t i = 2000; i < 2100; ++i)
        damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    auto bad = InputFile::open(dir.write("bad.zst", damaged), nullptr);
    ASSERT_TRUE(bad.ok());
    n = std::size_t{1};
    while (n.ok() && *n > 0)
        n = bad->read(buf);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.error().kind, ErrorKind::Data);
    EXPECT_THAT(n.error().to_string(), HasSubstr("bad.zst"));
    EXPECT_THAT(n.error().to_string(), HasSubstr("corrupt zstd data"));
    EXPECT_THAT(n.error().to_string(), HasSubstr(" at byte "));

    auto xz = InputFile::open(dir.write("a.csv", std::string("\xfd"
                                                             "7zXZ\0\0\0\0\0\0",
                                                             12)),
                              nullptr);
    ASSERT_FALSE(xz.ok());
    EXPECT_EQ(xz.error().kind, ErrorKind::Data);
    EXPECT_THAT(xz.error().to_string(), HasSubstr("xz -dc"));
}

/// Everything in `path` decompressed (InputFile, as a source reads it).
std::string decompressed(const std::string& path) {
    auto in = InputFile::open(path, nullptr);
    EXPECT_TRUE(in.ok());
    return in.ok() ? read_all(*in) : std::string();
}

TEST(CompressedOutput, CheckpointsAndAppendFlushesEndAnArchive) {
    test::TempDir dir;
    for (Compression c : {Compression::Gzip, Compression::Zstd}) {
        const std::string target = dir.file(std::string("out.") + std::string(to_string(c)));
        RunContext run;
        auto out = OutputFile::create(target, &run);
        ASSERT_TRUE(out.ok());
        ASSERT_TRUE(out->compress(c, compression_levels(c).fallback).ok());
        ASSERT_TRUE(out->write("a,b\n1,2\n").ok());
        auto at = out->checkpoint(false);
        ASSERT_TRUE(at.ok());
        // What the checkpoint names is a whole archive already.
        EXPECT_EQ(decompressed(at->file).substr(0, 8), "a,b\n1,2\n");
        EXPECT_EQ(test::read_file(at->file).size(), at->length);
        ASSERT_TRUE(out->write("3,4\n").ok());
        ASSERT_TRUE(out->commit().ok());
        EXPECT_EQ(decompressed(target), "a,b\n1,2\n3,4\n");

        const std::string log = dir.file(std::string("log.") + std::string(to_string(c)));
        std::string expected;
        for (const char* line : {"x\n", "y\n"}) {
            auto app = OutputFile::open_append(log, &run);
            ASSERT_TRUE(app.ok());
            ASSERT_TRUE(app->compress(c, 1).ok());
            ASSERT_TRUE(app->write(line).ok());
            ASSERT_TRUE(app->flush().ok());
            expected += line;
            // Readable as soon as it is flushed, before the sink ends.
            EXPECT_EQ(decompressed(log), expected);
            ASSERT_TRUE(app->commit().ok());
        }
        EXPECT_EQ(decompressed(log), "x\ny\n");
    }
}

TEST(CompressedOutput, TheGzipCommandReadsWhatIsWritten) {
    test::TempDir dir;
    const std::string target = dir.file("t.csv.gz");
    auto out = OutputFile::create(target, nullptr);
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE(out->compress(Compression::Gzip, 9).ok());
    const std::string text = sample_text(3'000'000, 9);
    ASSERT_TRUE(out->write(text).ok());
    ASSERT_TRUE(out->commit().ok());
    auto r = test::run_process({"/bin/sh", "-c", "gzip -dc '" + target + "'"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, text);
}

} // namespace
} // namespace conveyor
