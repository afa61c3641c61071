#include "tail.hpp"

#include "conveyor/core/arena.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/obs/summary.hpp"

#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace conveyor::plugins::limit {

namespace {

/// A record that takes part in no group (its `by` could not be read: a record error).
constexpr std::uint32_t kNoGroup = std::numeric_limits<std::uint32_t>::max();

class TailOperator final : public Operator {
public:
    TailOperator(std::span<const expr::Operand> by, std::uint64_t count, std::uint64_t offset,
                 const OpenContext& ctx)
        : reader_(by), grouped_(!by.empty()), count_(count), offset_(offset), stage_(ctx.stage_id),
          errors_(ctx.errors), metrics_(ctx.metrics),
          batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
          files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir, stage_,
                 ctx.run ? &ctx.run->temp_files() : nullptr) {
        values_.resize(by.size());
        if (!grouped_) seen_.push_back(0);
    }

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        Held held;
        CONVEYOR_TRY(number(batch, held));
        if (writer_) return spill(batch, held);
        held_bytes_ += held_size(batch, held);
        held_.push_back(std::move(held));
        held_batches_.push_back(std::move(batch));
        drop_dead();
        // Held batches keep the input they were parsed from: copying the few records still
        // wanted out of them frees that, so that a short tail never spills.
        // Only once it has doubled since the last copy: the copying stays linear.
        if (held_bytes_ > budget_ / 2 && held_bytes_ > 2 * compacted_bytes_) {
            compact();
            compacted_bytes_ = held_bytes_;
        }
        if (held_bytes_ > budget_) return spill_held();
        return {};
    }

    Status finish(Emitter&) override {
        if (!writer_) return {};
        CONVEYOR_TRY(in_stage(writer_->close()));
        auto reader = spill::RunReader::open(writer_->path(), 2);
        writer_.reset();
        if (!reader) return std::move(reader).error().in_stage(stage_);
        reader_back_ = std::move(*reader);
        return {};
    }

    /// The tails, a held batch or batch_size records read back at a time.
    Result<bool> finish_more(Emitter& out) override {
        if (reader_back_) return read_back(out);
        while (!held_.empty()) {
            Batch batch = std::move(held_batches_.front());
            const Held held = std::move(held_.front());
            held_batches_.pop_front();
            held_.pop_front();
            keep_.assign(batch.rows(), 0);
            std::size_t kept = 0;
            for (std::size_t r = 0; r < batch.rows(); ++r)
                if (in_tail(held.group[r], held.ordinal[r])) {
                    keep_[r] = 1;
                    ++kept;
                }
            filtered(batch.rows() - kept - held.failed);
            if (kept == 0) continue;
            if (kept != batch.rows()) batch.retain_rows(keep_);
            out.emit(std::move(batch));
            return !held_.empty();
        }
        return false;
    }

    void abort() noexcept override {
        reader_back_.reset();
        writer_.reset();
        files_.remove_all();
    }

private:
    /// Each record's group and its number in the group, for a batch.
    struct Held {
        std::vector<std::uint32_t> group;
        std::vector<std::uint64_t> ordinal;
        std::size_t failed = 0; ///< records whose `by` failed (counted by errors_)
    };

    Status in_stage(Status s) const {
        if (!s) return std::move(s).error().in_stage(stage_);
        return s;
    }

    void filtered(std::uint64_t n) const {
        if (metrics_ && n) metrics_->records_filtered.fetch_add(n, std::memory_order_relaxed);
    }

    Status number(Batch& batch, Held& held) {
        const std::size_t rows = batch.rows();
        held.group.assign(rows, 0);
        held.ordinal.assign(rows, 0);
        if (grouped_) reader_.bind(batch.schema_ref());
        for (std::size_t r = 0; r < rows; ++r) {
            std::uint32_t g = 0;
            if (grouped_) {
                if (!reader_.read(batch.row(r), batch.arena(), values_.data())) {
                    Error e(ErrorKind::Data, reader_.error());
                    if (!errors_) return std::move(e).in_stage(stage_);
                    CONVEYOR_TRY(
                        errors_->record_failed(batch.schema(), batch.row(r), std::move(e)));
                    held.group[r] = kNoGroup;
                    ++held.failed;
                    continue;
                }
                key_.clear();
                for (const Value& v : values_)
                    encode_key(key_, v);
                const auto [it, added] =
                    groups_.try_emplace(key_, static_cast<std::uint32_t>(seen_.size()));
                if (added) seen_.push_back(0);
                g = it->second;
            }
            held.group[r] = g;
            held.ordinal[r] = seen_[g]++;
        }
        return {};
    }

    /// Whether record `ordinal` of group `g` is among the records passed on, once the input
    /// has ended.
    [[nodiscard]] bool in_tail(std::uint32_t g, std::uint64_t ordinal) const {
        if (g == kNoGroup) return false;
        const std::uint64_t total = seen_[g];
        const std::uint64_t end = total > offset_ ? total - offset_ : 0;
        const std::uint64_t start = end > count_ ? end - count_ : 0;
        return ordinal >= start && ordinal < end;
    }

    /// Whether record `ordinal` of group `g` can no longer be among them (count + offset
    /// newer records of its group have come).
    [[nodiscard]] bool dead(std::uint32_t g, std::uint64_t ordinal) const {
        return g == kNoGroup || seen_[g] - ordinal > count_ + offset_;
    }

    /// Lets go of the oldest held batches none of whose records can be in a tail.
    void drop_dead() {
        while (!held_.empty()) {
            const Held& h = held_.front();
            for (std::size_t r = 0; r < h.group.size(); ++r)
                if (!dead(h.group[r], h.ordinal[r])) return;
            filtered(h.group.size() - h.failed);
            held_bytes_ -= held_size(held_batches_.front(), h);
            held_.pop_front();
            held_batches_.pop_front();
        }
    }

    [[nodiscard]] static std::uint64_t held_size(const Batch& b, const Held& h) {
        return b.memory_bytes() + h.group.size() * 12;
    }

    /// Replaces each held batch by a copy of its records that may still be in a tail, with
    /// their own storage.
    void compact() {
        held_bytes_ = 0;
        for (std::size_t i = 0; i < held_.size(); ++i) {
            Batch& b = held_batches_[i];
            Held& h = held_[i];
            Batch copy(b.schema_ref());
            auto arena = std::make_shared<Arena>(4096);
            Held kept;
            std::vector<Value> row(b.width());
            std::uint64_t text = 0;
            for (std::size_t r = 0; r < b.rows(); ++r) {
                if (dead(h.group[r], h.ordinal[r])) continue;
                const std::span<const Value> from = b.row(r);
                for (std::size_t c = 0; c < row.size(); ++c) {
                    row[c] = copy_into(*arena, from[c]);
                    if (row[c].is_string()) text += row[c].as_string().size();
                }
                copy.append_row(row, b.lineage(r));
                kept.group.push_back(h.group[r]);
                kept.ordinal.push_back(h.ordinal[r]);
            }
            filtered(b.rows() - kept.group.size() - h.failed);
            copy.keep_alive(std::move(arena));
            copy.set_payload_bytes(text);
            b = std::move(copy);
            h = std::move(kept);
            held_bytes_ += held_size(b, h);
        }
    }

    /// Writes the records of `batch` that may be in a tail, keyed by group and number.
    Status spill(const Batch& batch, const Held& held) {
        std::uint64_t written = 0;
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            if (held.group[r] == kNoGroup) continue;
            if (dead(held.group[r], held.ordinal[r])) {
                filtered(1);
                continue;
            }
            const Value keys[] = {Value::integer(held.group[r]),
                                  Value::integer(static_cast<std::int64_t>(held.ordinal[r]))};
            CONVEYOR_TRY(in_stage(writer_->add(keys, batch.schema(), batch.row(r))));
            ++written;
        }
        if (metrics_) metrics_->records_spilled.fetch_add(written, std::memory_order_relaxed);
        return {};
    }

    /// Over the budget: what is held goes to a spill file, and every record after it too.
    Status spill_held() {
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error().in_stage(stage_);
        writer_ = std::make_unique<spill::RunWriter>(std::move(*w));
        spdlog::info("stage '{}': the records that may be among the last ones are beyond its "
                     "memory share ({}): spilled to {}",
                     stage_, obs::human_bytes(budget_), files_.dir());
        while (!held_.empty()) {
            CONVEYOR_TRY(spill(held_batches_.front(), held_.front()));
            held_.pop_front();
            held_batches_.pop_front();
        }
        held_bytes_ = 0;
        return {};
    }

    Result<bool> read_back(Emitter& out) {
        std::vector<Batch> batches;
        spill::BatchRebuilder rebuilt(shaper_);
        bool more = true;
        for (std::size_t n = 0; n < batch_size_;) {
            Result<bool> got = reader_back_->next();
            if (!got) return std::move(got).error().in_stage(stage_);
            if (!*got) {
                more = false;
                break;
            }
            const Value* keys = reader_back_->keys();
            const auto g = static_cast<std::uint32_t>(keys[0].as_int());
            const auto ordinal = static_cast<std::uint64_t>(keys[1].as_int());
            if (g >= seen_.size())
                return Error(ErrorKind::Runtime, "a spill file holds a broken record",
                             reader_back_->path())
                    .in_stage(stage_);
            if (!in_tail(g, ordinal)) {
                filtered(1);
                continue;
            }
            rebuilt.append(*reader_back_, batch_size_, batches);
            ++n;
        }
        rebuilt.finish(batches);
        for (Batch& b : batches)
            out.emit(std::move(b));
        if (!more) {
            const std::string path = reader_back_->path();
            reader_back_.reset();
            files_.remove(path);
        }
        return more;
    }

    expr::OperandReader reader_;
    bool grouped_;
    std::uint64_t count_;
    std::uint64_t offset_;
    std::string stage_;
    StageErrors* errors_;
    StageMetrics* metrics_;
    std::size_t batch_size_;
    std::uint64_t budget_;
    spill::Files files_;
    std::vector<Value> values_;
    std::string key_;
    std::unordered_map<std::string, std::uint32_t> groups_;
    std::vector<std::uint64_t> seen_; ///< records of each group so far
    std::deque<Batch> held_batches_;
    std::deque<Held> held_;
    std::uint64_t held_bytes_ = 0;
    std::uint64_t compacted_bytes_ = 0; ///< held_bytes_ right after the last compact()
    std::vector<std::uint8_t> keep_;
    std::unique_ptr<spill::RunWriter> writer_;
    std::unique_ptr<spill::RunReader> reader_back_;
    spill::RowShaper shaper_;
};

} // namespace

std::unique_ptr<Operator> make_tail_operator(std::span<const expr::Operand> by, std::uint64_t count,
                                             std::uint64_t offset, const OpenContext& ctx) {
    return std::make_unique<TailOperator>(by, count, offset, ctx);
}

} // namespace conveyor::plugins::limit
