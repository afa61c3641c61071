#pragma once

// Spill files of the blocking stages (sort, group-by, distinct, join): runs of records written
// to the run's spill directory (state_dir/spill), compressed (zstd at a fast level: gzip at
// its fastest was more than half of a spilling group-by's CPU), one JSON array per line: some key
// values (sort keys, a sequence number), then the record itself, then, only when the record
// needs it, what JSON text alone would change: the positions of its bare-empty fields
// (core/bare_empty.hpp), which JSON cannot tell from "", and the bytes, in hex, of keys and
// fields that are not UTF-8. Files are named
// `<pid>-<stage>-<seq>.run.zst`, registered with the run's TempFiles while they exist, and those a
// killed process left are removed by the next run of the stage.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/io/compression.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor {
class Emitter;
class TempFiles;
} // namespace conveyor

namespace conveyor::spill {

/// `<pid>-<stage>`: the start of the names of one stage's spill files in this process.
std::string file_stem(std::string_view stage);

/// Removes the spill files of `stage` in `dir` left by a process that no longer runs.
void remove_stale(const std::string& dir, std::string_view stage);

/// Removes a spill file (and forgets it in `temp_files`, which may be null).
void remove(const std::string& path, TempFiles* temp_files) noexcept;

/// An open file descriptor, closed with the object.
class SpillFd {
public:
    SpillFd() = default;
    explicit SpillFd(int fd) noexcept : fd_(fd) {}
    SpillFd(SpillFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    SpillFd& operator=(SpillFd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    SpillFd(const SpillFd&) = delete;
    SpillFd& operator=(const SpillFd&) = delete;
    ~SpillFd() { reset(); }
    [[nodiscard]] int get() const noexcept { return fd_; }
    /// Closes; the error of close() (0 when fine).
    int reset() noexcept;

private:
    int fd_ = -1;
};

/// Writes one run. The file is registered with the run's TempFiles as soon as it exists, so
/// that a failed or interrupted run removes it.
class RunWriter {
public:
    /// A new file `<dir>/<stem>-<seq>.run.zst` (the directory is created).
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
    Status write_all(const std::string& data);

    SpillFd file_;
    std::unique_ptr<Compressor> zstd_;
    std::string path_;
    std::string buf_;
    std::string packed_;      ///< compressed bytes on their way to the file
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
    /// Decodes what comes next onto buf_ (reading the file when it has nothing left to
    /// decode); sets eof_ at the end of the file.
    Status decode_more();

    SpillFd file_;
    std::unique_ptr<Decompressor> zstd_;
    std::string path_;
    std::size_t key_count_ = 0;
    std::string raw_; ///< compressed bytes read, from raw_pos_ on not decoded yet
    std::size_t raw_pos_ = 0;
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

/// Turns records read back from a run (objects) into rows of batches: the schema of the last
/// record is reused while the field names stay the same.
class RowShaper {
public:
    /// The schema of `record`'s fields, in order.
    const SchemaRef& schema_for(std::span<const Member> fields);
    /// Records read back next with `schema`'s names get `schema` itself (the one their
    /// records had before they were written: downstream caches keyed by schema stay small).
    void remember(SchemaRef schema) { last_ = std::move(schema); }

private:
    SchemaRef last_;
};

/// Rebuilds batches from the records of runs read back, one after another: a record goes to
/// the batch being built while its field names are that batch's (a new batch, with room for
/// `capacity` rows, where they change), and each batch keeps alive the arenas its values
/// point into.
class BatchRebuilder {
public:
    explicit BatchRebuilder(RowShaper& shaper) : shaper_(shaper) {}
    /// Appends `reader`'s current record; a finished batch goes to `out`.
    void append(const RunReader& reader, std::size_t capacity, std::vector<Batch>& out);
    /// Moves the batch being built, if any, to `out`.
    void finish(std::vector<Batch>& out);

private:
    RowShaper& shaper_;
    std::optional<Batch> cur_;
    const void* kept_ = nullptr;
};

/// Merges runs whose records are each in order of their keys into one stream in that order;
/// equal keys go to the earlier run first (a stable merge).
class Merger {
public:
    /// <0, 0, >0 as a record with keys `a` goes before, with or after one with keys `b`.
    using Compare = std::function<int(const Value* a, const Value* b)>;

    /// Opens the runs at `paths` (each line holds `keys` key values, then the record).
    static Result<std::unique_ptr<Merger>> open(const std::vector<std::string>& paths,
                                                std::size_t keys, Compare compare);

    /// Emits up to `max_rows` next records, as batches (one schema each) appended to `out`;
    /// false once every run is through. `first_keys`, when given, gets each record's first key.
    Result<bool> next(std::size_t max_rows, std::vector<Batch>& out,
                      std::vector<std::int64_t>* first_keys = nullptr);
    /// The next record's keys and the record itself, one at a time (with next_line()); the
    /// record points into `arena()` of the reader it came from.
    [[nodiscard]] bool done() const noexcept { return heap_.empty(); }
    [[nodiscard]] const RunReader& top() const noexcept { return *readers_[heap_.top()]; }
    /// Moves past top().
    Status pop();

private:
    struct Later {
        const Merger* self;
        bool operator()(std::size_t a, std::size_t b) const;
    };
    Merger() : heap_(Later{this}) {}

    std::vector<std::unique_ptr<RunReader>> readers_;
    Compare compare_;
    std::priority_queue<std::size_t, std::vector<std::size_t>, Later> heap_;
    RowShaper shaper_;
};

/// The spill files of one stage: created on demand, removed one by one as they are used up and
/// all together when the stage ends (destructor), fails or is aborted.
class Files {
public:
    /// Removes what a killed run of the stage left in `dir` (spill files of a process that no
    /// longer runs), whether or not this run spills.
    Files(std::string dir, std::string stage, TempFiles* temp_files);
    ~Files() { remove_all(); }
    Files(const Files&) = delete;
    Files& operator=(const Files&) = delete;

    /// A new run file.
    Result<RunWriter> create();
    void remove(const std::string& path) noexcept;
    void remove_all() noexcept;
    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

private:
    std::string dir_;
    std::string stage_;
    TempFiles* temp_files_;
    std::vector<std::string> paths_;
};

/// Records split into hash partitions by a key, each line keyed by the record's sequence
/// number (input order).
class Partitions {
public:
    /// `salt`: another hash per level, so that a partition of a partition splits again.
    Partitions(Files& files, std::size_t count, std::uint64_t salt = 0)
        : files_(files), salt_(salt), writers_(count) {}

    [[nodiscard]] std::size_t partition_of(std::string_view key) const noexcept;
    Status add(std::size_t partition, std::int64_t seq, const Schema& schema,
               std::span<const Value> row);
    Status add(std::string_view key, std::int64_t seq, const Schema& schema,
               std::span<const Value> row) {
        return add(partition_of(key), seq, schema, row);
    }
    /// Closes the files; per partition, its file or "" when no record went to it.
    Result<std::vector<std::string>> close();
    [[nodiscard]] std::size_t count() const noexcept { return writers_.size(); }

private:
    Files& files_;
    std::uint64_t salt_;
    std::vector<std::optional<RunWriter>> writers_;
};

/// Calls `fn(seq, schema, row)` for each record of a run whose lines carry one key (a
/// sequence number), in file order. Rows point into storage valid during the call only.
Status read_records(
    const std::string& path,
    const std::function<Status(std::int64_t, const SchemaRef&, std::span<const Value>)>& fn);

/// Emits up to `max_rows` records of `merger` (batches of one schema each) to `out`. Once every
/// run is through it resets `merger` and removes the stage's spill files; false then.
Result<bool> emit_merged(std::unique_ptr<Merger>& merger, std::size_t max_rows, Emitter& out,
                         Files& files);

/// Calls `fn(batch, seqs)` for the records of a run whose lines carry one key (a sequence
/// number), `max_rows` at a time, in file order; seqs[r] is row r's sequence number.
Status read_batches(const std::string& path, std::size_t max_rows,
                    const std::function<Status(Batch&, std::span<const std::int64_t>)>& fn);

/// Runs merged at once at most: each open reader holds buffers and an arena.
inline constexpr std::size_t kMaxFanIn = 64;
/// What one open RunReader holds, about: its read buffer, zlib's window and buffer and the JSON
/// parser's buffers (160-200 KiB measured with heaptrack), and its arena (128 KiB before it
/// starts another), with room for arenas batches on their way still hold.
inline constexpr std::uint64_t kReaderBytes = std::uint64_t{512} << 10;

/// Runs a merge may open at once within a stage's memory `budget`: kMaxFanIn, or fewer when
/// that many readers would not fit in half of it (at least 4: a smaller budget merges in more
/// passes, not in less memory than that).
[[nodiscard]] constexpr std::size_t fan_in_for(std::uint64_t budget) noexcept {
    const std::uint64_t fit = budget / 2 / kReaderBytes;
    return fit < 4 ? 4 : fit > kMaxFanIn ? kMaxFanIn : static_cast<std::size_t>(fit);
}

/// Merges `runs` in passes until at most `fan_in` (at least 2) are left: each pass hands every
/// `fan_in` consecutive runs to `merge`, which returns the one run they become, so every record
/// is read and written once per pass and the runs keep their order (a stable merge of the
/// result stays stable).
Status
merge_in_passes(std::vector<std::string>& runs, std::size_t fan_in,
                const std::function<Result<std::string>(std::span<const std::string>)>& merge);

/// Merges `runs` (each ordered by `compare` over `keys` key values) in passes, each turning
/// every `fan_in` consecutive runs into one, until at most `fan_in` are left; runs keep their
/// order, so that a stable merge of the result stays stable.
Status merge_down(Files& files, std::vector<std::string>& runs, std::size_t keys,
                  const Merger::Compare& compare, std::size_t fan_in = kMaxFanIn);

/// A run's sequence-number order: the first key of each line, ascending.
int compare_sequence(const Value* a, const Value* b);

/// The end of a stage that spilled its input to hash partitions (distinct, reshape): closes
/// `parts`, turns each partition's file into a run keyed by sequence number with `make_run`
/// (its records in input order), and merges those runs back into input order within `budget`
/// (in passes when more than fan_in_for(budget) of them). The merge to emit from.
Result<std::unique_ptr<Merger>> merge_partitions_in_sequence(
    Files& files, Partitions& parts, std::uint64_t budget,
    const std::function<Result<std::string>(const std::string&)>& make_run);

} // namespace conveyor::spill
