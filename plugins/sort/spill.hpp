#pragma once

// sort.apply's spill files: sorted runs of records written to the run's spill directory,
// compressed (gzip, level 1: spilling is bound by the disk, and this halves what it writes),
// one JSON array per line: the record's key values, then the record itself.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/format/json_parser.hpp"

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {
class TempFiles;
}

namespace conveyor::plugins::sort {

struct GzCloser {
    void operator()(void* f) const noexcept;
};
using GzHandle = std::unique_ptr<void, GzCloser>;

/// Writes one run. The file is registered with the run's TempFiles as soon as it exists, so
/// that a failed or interrupted run removes it.
class RunWriter {
public:
    /// A new file `<dir>/<stem>-<seq>.run.gz` (the directory is created).
    static Result<RunWriter> create(const std::string& dir, const std::string& stem,
                                    std::size_t seq, TempFiles* temp_files);

    Status add(std::span<const Value> keys, const Schema& schema, std::span<const Value> row);
    /// A line another run holds (keys and record as written), for merging runs into one.
    Status add_line(std::string_view line);
    /// Writes what is buffered and closes the file.
    Status close();
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }

private:
    Status write_out();

    GzHandle file_;
    std::string path_;
    std::string buf_;
    std::uint64_t bytes_ = 0; ///< uncompressed bytes written
};

/// Reads a run back, one record at a time. Values point into arenas the reader hands out
/// (arena()): a batch that takes a record must keep the arena alive.
class RunReader {
public:
    static Result<std::unique_ptr<RunReader>> open(const std::string& path, std::size_t keys);

    /// The next record; false at the end of the run.
    Result<bool> next();
    [[nodiscard]] const Value* keys() const noexcept { return keys_.data(); }
    /// The record: an object whose members are its fields in order.
    [[nodiscard]] const Value& record() const noexcept { return record_; }
    [[nodiscard]] std::string_view line() const noexcept { return line_; }
    [[nodiscard]] const std::shared_ptr<Arena>& arena() const noexcept { return arena_; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    RunReader() = default;
    /// The next line (without '\n') into line_; false at the end.
    Result<bool> read_line();

    GzHandle file_;
    std::string path_;
    std::size_t key_count_ = 0;
    std::string buf_;
    std::size_t pos_ = 0;
    bool eof_ = false;
    json::Parser parser_;
    std::shared_ptr<Arena> arena_;
    std::size_t arena_bytes_ = 0;
    std::string_view line_;
    std::vector<Value> keys_;
    Value record_;
};

} // namespace conveyor::plugins::sort
