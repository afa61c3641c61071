#pragma once

// dag's materialised edges beyond their memory share: the records of a batch that does not fit
// go to a spill file of the emitting stage's output (state_dir/spill, compressed), and the edge
// keeps, in the batch's place, a shell with its schema, its checkpoint marker and metadata, and
// how many records to read back. Every consumer of that output reads the file in order; the
// file is removed when the last of them lets go of it (or with the run's temporary files when
// the run fails or is interrupted).

#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/exec/spill.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor {
class TempFiles;
}

namespace conveyor::exec {

/// A spill file shared by the readers of one stage output; removed with the last holder.
class EdgeSpillFile {
public:
    EdgeSpillFile(std::string path, TempFiles& temp_files)
        : path_(std::move(path)), temp_files_(temp_files) {}
    ~EdgeSpillFile() { spill::remove(path_, &temp_files_); }
    EdgeSpillFile(const EdgeSpillFile&) = delete;
    EdgeSpillFile& operator=(const EdgeSpillFile&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    TempFiles& temp_files_;
};

/// One entry of a materialised edge: a batch held in memory, or the shell of a spilled one.
struct EdgeItem {
    Batch batch;                         ///< spilled: no records, the rest as emitted
    std::size_t spilled_rows = 0;        ///< records to read from `file` before `batch`'s own
    std::shared_ptr<EdgeSpillFile> file; ///< set when spilled_rows > 0
};

/// Writes the records of batches one stage output spills, in emission order.
class EdgeSpillWriter {
public:
    /// `stage`: the emitting stage's id (names the file).
    EdgeSpillWriter(std::string dir, std::string stage, std::uint32_t output, TempFiles& temp_files)
        : dir_(std::move(dir)), stage_(std::move(stage)), output_(output), temp_files_(temp_files) {
    }

    /// Writes `batch`'s records and returns the shell that stands for it on the edge.
    Result<EdgeItem> spill(Batch batch);
    /// Flushes and closes the file: call before any consumer reads.
    Status close();

private:
    std::string dir_;
    std::string stage_;
    std::uint32_t output_;
    TempFiles& temp_files_;
    std::optional<spill::RunWriter> writer_;
    std::shared_ptr<EdgeSpillFile> file_;
};

/// Reads spilled records back for one consumer, in the order they were written.
class EdgeSpillReader {
public:
    /// Appends `item.spilled_rows` records of `item.file` to `item.batch` (whose schema they
    /// were written with) and returns the batch.
    Result<Batch> restore(EdgeItem item);

private:
    /// One open reader per file: an edge that carries every output of its producer (a
    /// gather's edge from its fan-out) reads the files of several outputs, each in order.
    struct Open {
        std::shared_ptr<EdgeSpillFile> file;
        std::unique_ptr<spill::RunReader> reader;
    };
    std::vector<Open> open_;
};

/// Writes `batch`'s records to a file of their own (`name`, spill::file_stem of it, numbered
/// `seq`) and returns the shell that stands for them: a stage's disk buffer
/// ([stages.buffer] type = "disk") puts each batch its queue has no room for there.
Result<EdgeItem> spill_alone(const std::string& dir, std::string_view name, std::size_t seq,
                             TempFiles& temp_files, Batch batch);

/// The name edges of stage `stage` spill under (spill::file_stem of it).
std::string edge_spill_name(std::string_view stage, std::uint32_t output);

} // namespace conveyor::exec
