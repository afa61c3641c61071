#pragma once

#include "conveyor/core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace conveyor {

class RunContext;

/// An all-or-nothing output file. Bytes go to a temporary file in the target's directory
/// (missing parent directories are created); commit() flushes, fsyncs, renames it over the
/// target and fsyncs the directory. Destroyed without commit() (failure, cancellation), the
/// temporary file is deleted: the target is never seen half-written.
///
/// "-" writes to the run's stdout instead (nothing to rename; commit() just flushes).
class OutputFile {
public:
    OutputFile() = default;
    OutputFile(OutputFile&&) noexcept;
    OutputFile& operator=(OutputFile&&) noexcept;
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    ~OutputFile();

    /// Fails with CantCreate naming the path.
    static Result<OutputFile> create(const std::string& path, RunContext* run);

    /// Buffers `data`; writes to the file in large chunks.
    Status write(std::string_view data);
    /// Writes `buffer` and clears it (keeps its capacity): the usual way to hand over a
    /// serialised batch without copying.
    Status write_and_clear(std::string& buffer);
    /// Pushes buffered bytes to the file (and, for stdout, to the reader).
    Status flush();
    Status commit();
    /// Deletes the temporary file now (idempotent; also done by the destructor).
    void abort() noexcept;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] bool is_stdout() const noexcept { return stdout_; }
    [[nodiscard]] std::uint64_t bytes_written() const noexcept { return bytes_written_; }

private:
    Status write_all(const char* data, std::size_t n);

    int fd_ = -1;
    bool stdout_ = false;
    bool committed_ = false;
    std::string path_;
    std::string temp_path_;
    std::string buffer_;
    std::uint64_t bytes_written_ = 0;
    RunContext* run_ = nullptr;
};

} // namespace conveyor
