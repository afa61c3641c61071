#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <variant>
#include <vector>

namespace conveyor {

/// Typed batch metadata: window.apply closed a window. `start` and `end` are the bounds its
/// records carried (window_start / window_end: RFC 3339 text, or record numbers for count
/// windows); `storage` owns the text they point to.
struct WindowClosed {
    Value start;
    Value end;
    std::shared_ptr<const void> storage;
};

/// Typed batch metadata: every record with a lineage id up to `through` (Batch::lineage) that
/// will ever pass this edge has passed it. The fan-out that numbers records (the stage a
/// gather.apply names) puts one after each batch it numbers; the 1:1 transforms of a branch
/// pass it on after what they emitted for the records before it, so a gather learns that a
/// record a branch dropped or failed is not coming.
struct LineageMark {
    std::uint64_t through = 0;
};

/// A control signal that rides on a batch, after its records (as ClickHouse attaches ChunkInfo
/// to a chunk): never a record, so sinks never write it and transforms never see it as data.
/// A stage that does not act on a kind passes it on in order (exec/driver.cpp); one that does
/// says so with Operator::consumes. Checkpoint markers ride the same way (checkpoint_id()).
using BatchInfo = std::variant<WindowClosed, LineageMark>;

/// Input a file source puts in one batch at most (about; the record that crosses it ends the
/// batch), besides `[global] batch_size` records: wide records make smaller batches, so the
/// memory a batch holds stays bounded whatever the records' size.
inline constexpr std::size_t kBatchTargetBytes = std::size_t{1} << 20;

/// A move-only group of records sharing one schema, laid out row-major: row r is
/// values[r * width .. (r + 1) * width). Stages exchange batches, never single records.
///
/// Storage: string and nested values point into memory the batch co-owns: input buffers kept
/// alive through `keep_alive`, and arenas. The batch's own arena (`arena()`) is written by one
/// stage at a time and is never shared while writable: clone() and share_storage_of() freeze it
/// (it becomes a shared read-only owner) so the next write goes to a fresh arena.
class Batch {
public:
    Batch() = default;
    explicit Batch(SchemaRef schema, std::size_t reserve_rows = 0);
    Batch(Batch&&) noexcept = default;
    Batch& operator=(Batch&&) noexcept = default;
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    /// A copy for fan-out: values are copied, storage is shared (this batch's arena is frozen).
    [[nodiscard]] Batch clone();

    /// A checkpoint marker (see stage/stage.hpp, Checkpoint): it travels on the edges in order
    /// with the batches, so every stage sees it after the records it covers. Usually it rides
    /// on the last batch before it (set_checkpoint: "these records, then checkpoint id"), so
    /// it costs no hand-off of its own; a marker alone is a batch without records.
    [[nodiscard]] static Batch checkpoint_marker(std::uint64_t id) {
        Batch b;
        b.checkpoint_ = id;
        return b;
    }
    /// The checkpoint that follows this batch's records; 0 for none.
    [[nodiscard]] std::uint64_t checkpoint_id() const noexcept { return checkpoint_; }
    void set_checkpoint(std::uint64_t id) noexcept { checkpoint_ = id; }
    /// checkpoint_id(), leaving the batch a plain batch of records.
    std::uint64_t take_checkpoint() noexcept { return std::exchange(checkpoint_, 0); }
    /// Control signals only: a checkpoint marker or metadata, without records.
    [[nodiscard]] bool is_marker_only() const noexcept {
        return rows_ == 0 && (checkpoint_ != 0 || !infos_.empty());
    }

    /// A batch carrying only metadata (see BatchInfo).
    [[nodiscard]] static Batch info_only(BatchInfo info) {
        Batch b;
        b.infos_.push_back(std::move(info));
        return b;
    }
    /// The output of the emitting stage this batch leaves by: 0 the main output, k its k-th
    /// named output (Stage::named_outputs, e.g. route.apply's routes). Set with
    /// Emitter::emit_to; the executor delivers the records only to the consumers of that
    /// output (the others get its checkpoint marker and metadata alone) and clears it.
    [[nodiscard]] std::uint32_t output() const noexcept { return output_; }
    void set_output(std::uint32_t k) noexcept { output_ = k; }
    /// A batch with this one's checkpoint marker and metadata but none of its records: what a
    /// consumer of another output gets, so that markers and windows still reach it in order.
    [[nodiscard]] Batch control_only() const {
        Batch b = checkpoint_marker(checkpoint_);
        b.infos_ = infos_;
        return b;
    }

    /// A batch without records that shows its consumers the schema of records that did not
    /// come: a source that learned its fields only after open (a CSV header read from a pipe)
    /// and then reached the end of its input emits one, so that a sink writes a header with no
    /// rows as it does when the schema is known at open (OpenedStage::initial_schema). The
    /// executor keeps it where it drops other empty batches, and keeps what a stage emits
    /// with no records for it (CollectingEmitter), so the fields a transform makes of it
    /// travel on.
    [[nodiscard]] bool shows_schema() const noexcept { return shows_schema_ && rows_ == 0; }
    void set_shows_schema() noexcept { shows_schema_ = true; }

    /// The metadata that follows this batch's records, in order.
    [[nodiscard]] const std::vector<BatchInfo>& infos() const noexcept { return infos_; }
    void add_info(BatchInfo info) { infos_.push_back(std::move(info)); }
    /// infos(), leaving the batch without them.
    std::vector<BatchInfo> take_infos() noexcept { return std::exchange(infos_, {}); }

    [[nodiscard]] const SchemaRef& schema_ref() const noexcept { return schema_; }
    [[nodiscard]] const Schema& schema() const noexcept { return *schema_; }
    [[nodiscard]] std::size_t width() const noexcept { return width_; }
    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] bool empty() const noexcept { return rows_ == 0; }

    [[nodiscard]] std::span<const Value> row(std::size_t r) const noexcept {
        assert(r < rows_);
        return {values_.data() + r * width_, width_};
    }
    [[nodiscard]] std::span<Value> row(std::size_t r) noexcept {
        assert(r < rows_);
        return {values_.data() + r * width_, width_};
    }
    [[nodiscard]] const Value& at(std::size_t r, std::size_t c) const noexcept {
        assert(r < rows_ && c < width_);
        return values_[r * width_ + c];
    }
    [[nodiscard]] Value& at(std::size_t r, std::size_t c) noexcept {
        assert(r < rows_ && c < width_);
        return values_[r * width_ + c];
    }
    [[nodiscard]] std::span<const Value> values() const noexcept { return values_; }

    /// Appends a row of width() absent values and returns it for filling in; its lineage id
    /// (below) is `lineage`, 0 for none.
    std::span<Value> append_row(std::uint64_t lineage = 0) {
        values_.resize(values_.size() + width_);
        ++rows_;
        note_lineage(lineage);
        return {values_.data() + (rows_ - 1) * width_, width_};
    }
    /// Appends a copy of `row` (must be width() long). Its storage must be co-owned already.
    void append_row(std::span<const Value> row, std::uint64_t lineage = 0) {
        assert(row.size() == width_);
        values_.insert(values_.end(), row.begin(), row.end());
        ++rows_;
        note_lineage(lineage);
    }

    /// Lineage: the identity a record keeps through the 1:1 transforms after a fan-out, so
    /// that a fan-in (gather.apply) can put its branches' results back together. An id per
    /// row, 0 for none; a batch without any holds no vector at all. Moving rows within a batch
    /// (retain_rows, truncate, remap_columns) and clone() keep each row's id; a stage that
    /// copies rows into a new batch passes it on with append_row(row, from.lineage(r)).
    [[nodiscard]] bool has_lineage() const noexcept { return !lineage_.empty(); }
    [[nodiscard]] std::uint64_t lineage(std::size_t r) const noexcept {
        assert(r < rows_);
        return lineage_.empty() ? 0 : lineage_[r];
    }
    /// Sets every row's id (`ids.size() == rows()`, or empty for none).
    void set_lineage(std::vector<std::uint64_t> ids) {
        assert(ids.empty() || ids.size() == rows_);
        lineage_ = std::move(ids);
    }
    void reserve_rows(std::size_t n) { values_.reserve(n * width_); }

    /// Keeps only the rows whose flag is non-zero, in order; `keep.size() == rows()`.
    void retain_rows(std::span<const std::uint8_t> keep);
    /// Drops rows [n, rows()).
    void truncate(std::size_t n);

    /// Replaces the schema with one of a different width: row r's new values come from
    /// `source_column[i]` of the old row (or absent where source_column[i] == npos).
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    void remap_columns(SchemaRef schema, std::span<const std::size_t> source_column);

    /// The batch's writable arena, created on first use.
    Arena& arena();
    /// Makes `owner` live at least as long as this batch.
    void keep_alive(std::shared_ptr<const void> owner);
    /// Shares all storage of `other` (whose values may then be copied in here). Freezes
    /// other's arena: neither batch writes into it again.
    void share_storage_of(Batch& other);

    /// Approximate memory held (values plus attributed payload bytes), for [global]
    /// max_buffered_bytes accounting.
    [[nodiscard]] std::size_t memory_bytes() const noexcept {
        return values_.capacity() * sizeof(Value) + lineage_.capacity() * sizeof(std::uint64_t) +
               payload_bytes_;
    }
    /// Producers attribute the bytes of text their values point to (e.g. the input bytes a
    /// CSV batch was parsed from).
    void set_payload_bytes(std::size_t n) noexcept { payload_bytes_ = n; }
    [[nodiscard]] std::size_t payload_bytes() const noexcept { return payload_bytes_; }

private:
    void freeze_arena();
    /// Records the id of the row just appended, keeping lineage_ empty or one id per row.
    void note_lineage(std::uint64_t id) {
        if (lineage_.empty()) {
            if (id == 0) return;
            lineage_.assign(rows_ - 1, 0);
        }
        lineage_.push_back(id);
    }

    SchemaRef schema_;
    std::size_t width_ = 0;
    std::size_t rows_ = 0;
    std::vector<Value> values_;
    std::vector<std::shared_ptr<const void>> owners_;
    std::shared_ptr<Arena> arena_;
    std::size_t payload_bytes_ = 0;
    std::uint64_t checkpoint_ = 0;
    std::uint32_t output_ = 0;
    bool shows_schema_ = false;
    std::vector<BatchInfo> infos_;
    std::vector<std::uint64_t> lineage_; ///< empty, or one id per row
};

} // namespace conveyor
