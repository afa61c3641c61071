#pragma once

// Shared by the fuzz targets: the readers under test read an InputFile (a path), so each input
// is written to an in-memory file (memfd) that they open through /proc/self/fd.

#include "conveyor/io/input_file.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace conveyor::fuzz {

/// One memfd per process, rewritten for every input (creating files per input would make the
/// file system, not the parser, the bottleneck).
class MemoryFile {
public:
    MemoryFile() : fd_(::memfd_create("conveyor-fuzz", 0)) {
        if (fd_ < 0) std::abort();
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    ~MemoryFile() { ::close(fd_); }

    /// Replaces the contents with `data` and opens a fresh reader at its start; nullopt when
    /// the reader refuses the input by its first bytes (a compressed format conveyor does not
    /// read, such as xz or zip: a data error by design). Any other failure to open aborts.
    std::optional<InputFile> open(const std::uint8_t* data, std::size_t size) {
        if (::ftruncate(fd_, 0) != 0) std::abort();
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            if (n <= 0) std::abort();
            done += static_cast<std::size_t>(n);
        }
        auto file = InputFile::open(path_, nullptr);
        if (!file.ok()) {
            if (file.error().kind == ErrorKind::Data) return std::nullopt;
            std::abort();
        }
        return std::move(*file);
    }

    /// At most how many bytes of text a reader can get from `data` opened as `file`: its size
    /// when it is not compressed; what the archive decodes to when it is whole. A damaged
    /// archive sets no bound: how much a reader gets before the error depends on the size of
    /// its reads (zstd, for one, checks a frame's checksum before handing a large buffer the
    /// frame's bytes, but hands small reads most of them first).
    static std::uint64_t text_size(const InputFile& file, const std::uint8_t* data,
                                   std::size_t size) {
        if (file.compression() == Compression::None) return size;
        auto decoder = Decompressor::make(file.compression());
        if (!decoder) std::abort();
        std::string out(std::size_t{1} << 16, '\0');
        std::span<const char> in(reinterpret_cast<const char*>(data), size);
        std::uint64_t total = 0;
        for (;;) {
            Decompressor::Step step;
            const Status s = decoder->decode(in, std::span<char>(out.data(), out.size()), step);
            total += step.produced;
            in = in.subspan(step.consumed);
            if (!s) return std::numeric_limits<std::uint64_t>::max();
            if (step.produced == 0 && step.consumed == 0)
                return in.empty() && decoder->complete()
                           ? total
                           : std::numeric_limits<std::uint64_t>::max();
        }
    }

private:
    int fd_;
    std::string path_;
};

/// Takes leading bytes of the input as parameters for the code under test.
class Knobs {
public:
    Knobs(const std::uint8_t*& data, std::size_t& size) : data_(data), size_(size) {}
    std::uint8_t byte() {
        if (size_ == 0) return 0;
        --size_;
        return *data_++;
    }

private:
    const std::uint8_t*& data_;
    std::size_t& size_;
};

} // namespace conveyor::fuzz
