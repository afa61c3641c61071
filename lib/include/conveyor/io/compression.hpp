#pragma once

// gzip and zstd for files and standard input/output: a format is recognised on read by its
// magic bytes (whatever the file is called) and chosen on write by the sink's `compression`
// option or the path's extension. Streaming both ways, in bounded memory: gzip keeps a 32 KiB
// window, zstd a window of at most 128 MiB (the library's default limit) whatever the archive
// claims. zlib and libzstd stay inside compression.cpp.

#include "conveyor/core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace conveyor {

enum class Compression : std::uint8_t { None, Gzip, Zstd };

/// "none", "gzip", "zstd".
std::string_view to_string(Compression c) noexcept;

/// The compression a path's extension names: `.gz`/`.gzip` gzip, `.zst`/`.zstd` zstd, anything
/// else (and "-") none.
Compression compression_for_path(std::string_view path) noexcept;

/// What the first bytes of an input are: gzip or zstd by their magic numbers, None for
/// anything else (plain text, or too few bytes to tell).
Compression detect_compression(std::string_view head) noexcept;

/// Bytes of an input's start that tell every recognised format apart from text.
inline constexpr std::size_t kCompressionMagicBytes = 10;

/// True while `head` may still grow into the magic number of a format detect_compression()
/// or unsupported_compression() recognises (a pipe delivering its first bytes in pieces).
bool may_be_compression_magic(std::string_view head) noexcept;

/// A compressed format conveyor does not read (bzip2, xz, zip, 7z, lz4), named by the first
/// bytes of the input, with the command that decompresses it; nullopt for anything else.
std::optional<std::string> unsupported_compression(std::string_view head);

/// Compression levels: gzip 1 (fastest) to 9, zstd 1 to 19 (22 with more memory).
struct CompressionLevels {
    int min;
    int max;
    int fallback; ///< when none is given: gzip 6 (as gzip), zstd 3 (as zstd)
};
CompressionLevels compression_levels(Compression c) noexcept;

/// Undoes gzip or zstd, a block at a time. Several archives one after another (gzip members,
/// zstd frames: what `cat a.gz b.gz` gives) are read as one stream, as zcat and zstdcat do.
class Decompressor {
public:
    struct Step {
        std::size_t consumed = 0; ///< bytes of `in` used
        std::size_t produced = 0; ///< bytes written to `out`
    };

    static std::unique_ptr<Decompressor> make(Compression c);
    virtual ~Decompressor() = default;

    /// Decodes from `in` into `out`; `step` says how far it got, also when corrupt data fails
    /// (with the decoder's own words: the caller adds the file and the byte offset).
    virtual Status decode(std::span<const char> in, std::span<char> out, Step& step) = 0;
    /// True when what was decoded so far ends with a complete archive: at the end of the input,
    /// false means the archive was cut short.
    [[nodiscard]] virtual bool complete() const noexcept = 0;
};

/// Compresses into a growing string. end_frame() completes the archive (a gzip member, a zstd
/// frame) so that what was written so far is a whole file; data compressed after it starts a
/// new one, which readers take as the continuation (that is how a checkpoint, an append or a
/// flush of standard output leaves a file every reader accepts).
class Compressor {
public:
    /// `level` within compression_levels(c) (checked by the caller), or for zstd one of its
    /// negative "fast" levels (as `zstd --fast=N`; spill files use them, users are not
    /// offered them).
    static Result<std::unique_ptr<Compressor>> make(Compression c, int level);
    virtual ~Compressor() = default;

    /// Compresses `in`, appending what comes out to `out`.
    virtual Status compress(std::string_view in, std::string& out) = 0;
    /// Completes the current archive, appending its end to `out`. Does nothing when nothing was
    /// compressed since the last one, unless `even_empty` (an empty output must still be a
    /// valid archive).
    virtual Status end_frame(std::string& out, bool even_empty = false) = 0;
};

} // namespace conveyor
