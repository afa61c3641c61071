#pragma once

// Shared by the fuzz targets: the readers under test read an InputFile (a path), so each input
// is written to an in-memory file (memfd) that they open through /proc/self/fd.

#include "conveyor/io/input_file.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
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

    /// How many bytes of text the input written by the last open() holds: its size when it is
    /// not compressed, else what decompressing it yields (up to the first error of a damaged
    /// archive). Readers never consume more than this.
    std::uint64_t text_size(std::size_t size) {
        auto file = InputFile::open(path_, nullptr);
        if (!file.ok()) std::abort();
        if (file->compression() == Compression::None) return size;
        std::uint64_t total = 0;
        std::string buffer(std::size_t{1} << 16, '\0');
        for (;;) {
            auto n = file->read(std::span<char>(buffer.data(), buffer.size()));
            if (!n.ok() || *n == 0) return total;
            total += *n;
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
