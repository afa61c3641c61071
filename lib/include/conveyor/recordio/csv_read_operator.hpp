#pragma once

#include "conveyor/recordio/csv_chunks.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "conveyor/recordio/csv_reader.hpp"
#include "conveyor/stage/chunked_source.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace conveyor::recordio::csv {

/// One run of csv.read: reads the header at start(), then one batch per next(). With
/// use_workers() it parses a regular file in chunks on the run's workers (csv_chunks.hpp),
/// falling back to its own serial reader for the stretches that need it (a chunk whose
/// speculative start was wrong, a record with an error to report): records, their order,
/// file:line in messages and checkpoint positions are the serial reader's.
class CsvReadOperator final : public SourceOperator {
public:
    CsvReadOperator(const CsvReadConfig& config, InputFile file, const OpenContext& ctx,
                    std::shared_ptr<CsvFollowState> follow = nullptr);

    /// Reads what the schema comes from: the header row, or the first record of a file
    /// without one (kept to be emitted first). Called by open(), or by the first next() when
    /// the input may not have the header yet (a pipe in streaming mode, a followed file).
    Status start();
    [[nodiscard]] const SchemaRef& schema() const noexcept { return schema_; }
    /// After start(): continues after the position a checkpoint() of an earlier run returned
    /// (a regular file only). Fails with a Config error when `text` is not such a position or
    /// does not fit this file (it changed, or has another header).
    Status resume(std::string_view text);
    /// After start() and resume(), for a seekable file: parse the rest in chunks of about
    /// `chunk_size` bytes on `pool` (when more than one chunk is left).
    /// After start() (and resume(), whose position it keeps), in a sharded run with partition
    /// = "rows": reads only the records that start in `shard`'s byte range
    /// (io/record_ranges.hpp); at the end it checks that the last
    /// record ended exactly where the next shard's range starts (a data error otherwise: the
    /// file's quoting is not what the range rule assumes, and a record would be lost or read
    /// twice).
    Status read_share(ShardId shard);
    void use_workers(WorkPool& pool, std::uint64_t chunk_size) noexcept {
        pool_ = &pool;
        chunk_size_ = chunk_size;
    }

    Result<bool> next(Emitter& out) override;
    Result<std::string> checkpoint(const Checkpoint& cp) override;

private:
    /// What ChunkedSource asks of csv.read: emit a chunk's batch, run the serial reader.
    struct ChunkHooks;

    /// One batch from the serial reader. At the reader's limit in a `stretch` of a chunked
    /// read it sets stretch_ended_ instead of ending the input.
    Result<bool> next_serial(Emitter& out, bool stretch = false);
    /// next() of a chunked read.
    Result<bool> next_chunked(Emitter& out);
    void start_chunks();
    Error ragged_error() const;
    /// Blank lines are records in a file of one column (once its width is known).
    void one_column_blank_lines();
    /// Finds the columns of `types` in the schema: a name that is not there is a config error.
    Status resolve_types();
    /// Converts the declared columns of fields_ (new text into `into`'s arena); a field that
    /// is not of its type is a data error naming file:line, the column and the value.
    std::optional<Error> apply_types(Batch& into);
    /// The input ended (done_): warns of skipped rows and of fields with text after their
    /// closing quote; fails when a shard's range did not end on a record start.
    Status end_of_input();
    void warn_stray_quotes();
    void emitted_up_to(std::uint64_t offset, std::uint64_t line) noexcept {
        emitted_offset_ = offset;
        emitted_line_ = line;
    }

    CsvReader reader_;
    CsvReadConfig config_;
    std::size_t batch_size_;
    StageErrors* errors_;
    std::shared_ptr<CsvFollowState> follow_;
    bool started_ = false;
    /// start() ran in next(): the first batch shows the schema even with no records
    /// (Batch::shows_schema).
    bool show_schema_ = false;
    SchemaRef schema_;
    std::size_t width_ = 0;
    std::optional<Batch> pending_;
    std::vector<Value> fields_;
    std::vector<std::pair<std::size_t, coltype::ColumnType>> typed_; ///< column, declared type
    std::uint64_t consumed_mark_ = 0;
    std::uint64_t skipped_ = 0;
    std::uint64_t first_skipped_ = 0; ///< line of the first row skipped as ragged
    /// Records with text after a field's closing quote (`"a" b`), read leniently, and the line
    /// of the first: warned about at the end of the input (this run's part of it).
    std::uint64_t stray_quotes_ = 0;
    std::uint64_t first_stray_quote_ = 0;
    bool done_ = false;
    // Where the input stands after the records emitted so far (pending_ is not emitted yet):
    // what checkpoint() reports.
    std::uint64_t emitted_offset_ = 0;
    std::uint64_t emitted_line_ = 1;
    std::uint64_t records_ = 0;
    std::uint64_t data_start_ = 0; ///< offset after the header row
    StageMetrics* metrics_ = nullptr;
    RunContext* run_ = nullptr;

    // A chunked read (use_workers), and whether the serial reader reached the limit of a
    // stretch it read for it.
    WorkPool* pool_ = nullptr;
    std::uint64_t chunk_size_ = 0;
    std::unique_ptr<ChunkedSource<ChunkBatch>> chunks_;
    bool stretch_ended_ = false;
    /// read_share(): where the shard's byte range ends (the next shard's first record).
    std::optional<std::uint64_t> share_end_;
    /// resume(): the position reading goes on from (read_share() then keeps it).
    std::optional<std::uint64_t> resumed_at_;
};

} // namespace conveyor::recordio::csv
