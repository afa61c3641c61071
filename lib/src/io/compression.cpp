#include "conveyor/io/compression.hpp"

#include <algorithm>
#include <climits>
#include <zlib.h>
#include <zstd.h>

namespace conveyor {

std::string_view to_string(Compression c) noexcept {
    switch (c) {
    case Compression::Gzip:
        return "gzip";
    case Compression::Zstd:
        return "zstd";
    case Compression::None:
        break;
    }
    return "none";
}

Compression compression_for_path(std::string_view path) noexcept {
    for (const std::string_view ext : {".gz", ".gzip"})
        if (path.size() > ext.size() && path.ends_with(ext)) return Compression::Gzip;
    for (const std::string_view ext : {".zst", ".zstd"})
        if (path.size() > ext.size() && path.ends_with(ext)) return Compression::Zstd;
    return Compression::None;
}

namespace {

/// Every format recognised by its first bytes: the two conveyor reads (command empty) and
/// those it refuses, with the command that undoes them.
struct Magic {
    std::string_view bytes;
    Compression compression;
    std::string_view name;
    std::string_view command;
};
constexpr Magic kMagics[] = {
    {std::string_view("\x1f\x8b\x08", 3), Compression::Gzip, "gzip", ""},
    {std::string_view("\x28\xb5\x2f\xfd", 4), Compression::Zstd, "zstd", ""},
    {std::string_view("\xfd"
                      "7zXZ\x00",
                      6),
     Compression::None, "xz", "xz -dc"},
    {std::string_view("\x04\x22\x4d\x18", 4), Compression::None, "lz4", "lz4 -dc"},
    {std::string_view("PK\x03\x04", 4), Compression::None, "zip", "unzip -p"},
    {std::string_view("7z\xbc\xaf\x27\x1c", 6), Compression::None, "7z", "7z x -so"},
    // "BZh", the block size, then the block magic (pi in BCD): a CSV may start "BZh9".
    {std::string_view("BZh", 3), Compression::None, "bzip2", "bzip2 -dc"},
};

/// bzip2's magic is only 3 letters: the block size and the block magic must follow.
bool bzip2_rest_matches(std::string_view head) {
    return head.size() >= kCompressionMagicBytes && head[3] >= '1' && head[3] <= '9' &&
           head.substr(4, 6) == std::string_view("\x31\x41\x59\x26\x53\x59", 6);
}

} // namespace

Compression detect_compression(std::string_view head) noexcept {
    for (const Magic& m : kMagics)
        if (m.compression != Compression::None && head.starts_with(m.bytes)) return m.compression;
    return Compression::None;
}

bool may_be_compression_magic(std::string_view head) noexcept {
    for (const Magic& m : kMagics) {
        const std::size_t n = std::min(head.size(), m.bytes.size());
        if (head.substr(0, n) == m.bytes.substr(0, n)) return true;
    }
    return false;
}

std::optional<std::string> unsupported_compression(std::string_view head) {
    for (const Magic& m : kMagics) {
        if (m.compression != Compression::None || !head.starts_with(m.bytes)) continue;
        if (m.name == "bzip2" && !bzip2_rest_matches(head)) continue;
        return std::string(m.name) +
               "-compressed data, which conveyor does not read (it reads gzip and zstd); "
               "decompress it first: " +
               std::string(m.command) + " FILE > FILE.plain, or " + std::string(m.command) +
               " FILE | conveyor ... with path = \"-\"";
    }
    return std::nullopt;
}

CompressionLevels compression_levels(Compression c) noexcept {
    switch (c) {
    case Compression::Gzip:
        return {1, 9, 6};
    case Compression::Zstd:
        return {1, ZSTD_maxCLevel(), 3};
    case Compression::None:
        break;
    }
    return {0, 0, 0};
}

namespace {

/// zlib counts in uInt: hand it at most this much at a time.
constexpr std::size_t kZlibChunk = std::size_t{1} << 30;
/// How much `out` grows at a time while compressing.
constexpr std::size_t kOutChunk = std::size_t{1} << 17;

Failure corrupt(std::string_view format, std::string_view why) {
    return fail(ErrorKind::Data,
                "corrupt " + std::string(format) + " data (" + std::string(why) + ")");
}

class GzipDecompressor final : public Decompressor {
public:
    GzipDecompressor() {
        // 15 + 16: a gzip wrapper (not zlib), the largest window.
        ok_ = inflateInit2(&z_, 15 + 16) == Z_OK;
    }
    ~GzipDecompressor() override {
        if (ok_) inflateEnd(&z_);
    }
    GzipDecompressor(const GzipDecompressor&) = delete;
    GzipDecompressor& operator=(const GzipDecompressor&) = delete;

    Status decode(std::span<const char> in, std::span<char> out, Step& s) override {
        s = {};
        if (!ok_) return fail(ErrorKind::Internal, "zlib could not be initialised");
        while (s.produced < out.size()) {
            if (ended_) {
                if (s.consumed == in.size()) break; // a member ended with the input
                CONVEYOR_TRY(after_member(in, s));
                if (s.consumed == in.size()) break; // zeros up to here
                inflateReset(&z_);                  // another member follows
                ended_ = false;
            }
            const std::size_t in_left = std::min(in.size() - s.consumed, kZlibChunk);
            const std::size_t out_left = std::min(out.size() - s.produced, kZlibChunk);
            z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + s.consumed));
            z_.avail_in = static_cast<uInt>(in_left);
            z_.next_out = reinterpret_cast<Bytef*>(out.data() + s.produced);
            z_.avail_out = static_cast<uInt>(out_left);
            const int rc = inflate(&z_, Z_NO_FLUSH);
            const std::size_t used = in_left - z_.avail_in;
            const std::size_t made = out_left - z_.avail_out;
            s.consumed += used;
            s.produced += made;
            if (rc == Z_STREAM_END) {
                ended_ = true;
                continue;
            }
            if (rc == Z_BUF_ERROR || (rc == Z_OK && used == 0 && made == 0)) break;
            if (rc != Z_OK) return corrupt("gzip", z_.msg ? z_.msg : "inflate failed");
        }
        return {};
    }

    [[nodiscard]] bool complete() const noexcept override { return ended_; }

private:
    /// What follows a member that ended: another member, or zero bytes to the end (the padding
    /// of a tape or a block device, which gzip -d and Python ignore too), skipped here. Anything
    /// else is refused rather than dropped (gzip -d drops it with a warning and exit status 2).
    Status after_member(std::span<const char> in, Step& s) {
        if (padding_ || in[s.consumed] == '\0') {
            padding_ = true;
            while (s.consumed < in.size() && in[s.consumed] == '\0')
                ++s.consumed;
            if (s.consumed == in.size()) return {};
            return corrupt("gzip", "data after the zero bytes that end the archive");
        }
        if (in[s.consumed] != '\x1f')
            return corrupt("gzip", "data after the end of the archive that is not another gzip "
                                   "member; gzip -d drops it as trailing garbage");
        return {};
    }

    z_stream z_{};
    bool ok_ = false;
    bool ended_ = false;
    bool padding_ = false;
};

class ZstdDecompressor final : public Decompressor {
public:
    ZstdDecompressor() : d_(ZSTD_createDCtx()) {}
    ~ZstdDecompressor() override { ZSTD_freeDCtx(d_); }
    ZstdDecompressor(const ZstdDecompressor&) = delete;
    ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

    Status decode(std::span<const char> in, std::span<char> out, Step& s) override {
        s = {};
        if (!d_) return fail(ErrorKind::Internal, "zstd could not be initialised");
        ZSTD_inBuffer ib{in.data(), in.size(), 0};
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        while (ob.pos < ob.size) {
            const std::size_t in_before = ib.pos;
            const std::size_t out_before = ob.pos;
            const std::size_t rc = ZSTD_decompressStream(d_, &ob, &ib);
            s = Step{ib.pos, ob.pos};
            if (ZSTD_isError(rc)) return corrupt("zstd", ZSTD_getErrorName(rc));
            if (ib.pos > in_before) complete_ = false;
            if (rc == 0) complete_ = true;
            if (ib.pos == in_before && ob.pos == out_before) break;
        }
        return {};
    }

    [[nodiscard]] bool complete() const noexcept override { return complete_; }

private:
    ZSTD_DCtx* d_;
    bool complete_ = false;
};

class GzipCompressor final : public Compressor {
public:
    explicit GzipCompressor(int level) {
        ok_ = deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    }
    ~GzipCompressor() override {
        if (ok_) deflateEnd(&z_);
    }
    GzipCompressor(const GzipCompressor&) = delete;
    GzipCompressor& operator=(const GzipCompressor&) = delete;
    [[nodiscard]] bool ok() const noexcept { return ok_; }

    Status compress(std::string_view in, std::string& out) override {
        while (!in.empty()) {
            const std::size_t n = std::min(in.size(), kZlibChunk);
            z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            z_.avail_in = static_cast<uInt>(n);
            CONVEYOR_TRY(run(Z_NO_FLUSH, out));
            in.remove_prefix(n);
            open_ = true;
        }
        return {};
    }

    Status end_frame(std::string& out, bool even_empty) override {
        if (!open_ && !even_empty) return {};
        z_.next_in = nullptr;
        z_.avail_in = 0;
        CONVEYOR_TRY(run(Z_FINISH, out));
        deflateReset(&z_);
        open_ = false;
        return {};
    }

private:
    /// Deflates what next_in holds (all of it), with `flush`, into the end of `out`.
    Status run(int flush, std::string& out) {
        for (;;) {
            const std::size_t had = out.size();
            out.resize(had + kOutChunk);
            z_.next_out = reinterpret_cast<Bytef*>(out.data() + had);
            z_.avail_out = static_cast<uInt>(kOutChunk);
            const int rc = deflate(&z_, flush);
            out.resize(had + kOutChunk - z_.avail_out);
            if (rc == Z_STREAM_ERROR) return fail(ErrorKind::Internal, "gzip compression failed");
            if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_in == 0 && z_.avail_out != 0)
                return {};
        }
    }

    z_stream z_{};
    bool ok_ = false;
    bool open_ = false;
};

class ZstdCompressor final : public Compressor {
public:
    explicit ZstdCompressor(int level) : c_(ZSTD_createCCtx()) {
        if (!c_) return;
        ok_ = !ZSTD_isError(ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel, level)) &&
              // A checksum per frame: a damaged file is reported, not read as other data.
              !ZSTD_isError(ZSTD_CCtx_setParameter(c_, ZSTD_c_checksumFlag, 1));
    }
    ~ZstdCompressor() override { ZSTD_freeCCtx(c_); }
    ZstdCompressor(const ZstdCompressor&) = delete;
    ZstdCompressor& operator=(const ZstdCompressor&) = delete;
    [[nodiscard]] bool ok() const noexcept { return ok_; }

    Status compress(std::string_view in, std::string& out) override {
        if (in.empty()) return {};
        open_ = true;
        return run(ZSTD_e_continue, in, out);
    }

    Status end_frame(std::string& out, bool even_empty) override {
        if (!open_ && !even_empty) return {};
        open_ = false;
        return run(ZSTD_e_end, {}, out);
    }

private:
    Status run(ZSTD_EndDirective mode, std::string_view in, std::string& out) {
        ZSTD_inBuffer ib{in.data(), in.size(), 0};
        for (;;) {
            const std::size_t had = out.size();
            out.resize(had + kOutChunk);
            ZSTD_outBuffer ob{out.data() + had, kOutChunk, 0};
            const std::size_t rc = ZSTD_compressStream2(c_, &ob, &ib, mode);
            out.resize(had + ob.pos);
            if (ZSTD_isError(rc))
                return fail(ErrorKind::Internal,
                            std::string("zstd compression failed: ") + ZSTD_getErrorName(rc));
            const bool done = mode == ZSTD_e_end ? rc == 0 : ib.pos == ib.size && ob.pos < ob.size;
            if (done) return {};
        }
    }

    ZSTD_CCtx* c_;
    bool ok_ = false;
    bool open_ = false;
};

} // namespace

std::unique_ptr<Decompressor> Decompressor::make(Compression c) {
    switch (c) {
    case Compression::Gzip:
        return std::make_unique<GzipDecompressor>();
    case Compression::Zstd:
        return std::make_unique<ZstdDecompressor>();
    case Compression::None:
        break;
    }
    return nullptr;
}

Result<std::unique_ptr<Compressor>> Compressor::make(Compression c, int level) {
    const CompressionLevels levels = compression_levels(c);
    const int min = c == Compression::Zstd ? ZSTD_minCLevel() : levels.min;
    if (c == Compression::None || level < min || level > levels.max)
        return fail(ErrorKind::Internal, "no such compression level: " + std::to_string(level));
    if (c == Compression::Gzip) {
        auto z = std::make_unique<GzipCompressor>(level);
        if (!z->ok()) return fail(ErrorKind::Internal, "zlib could not be initialised");
        return std::unique_ptr<Compressor>(std::move(z));
    }
    auto z = std::make_unique<ZstdCompressor>(level);
    if (!z->ok()) return fail(ErrorKind::Internal, "zstd could not be initialised");
    return std::unique_ptr<Compressor>(std::move(z));
}

} // namespace conveyor
