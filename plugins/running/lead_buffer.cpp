#include "lead_buffer.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/stage/stage.hpp"

#include <algorithm>

namespace conveyor::plugins::running {

namespace {

/// About what a copy of `v`'s text takes in an arena.
std::uint64_t text_bytes(const Value& v) {
    switch (v.kind()) {
    case Kind::String:
        return v.as_string().size();
    case Kind::Array:
    case Kind::Object:
        return json::to_string(v).size() * 2;
    default:
        return v.has_number_text() ? 32 : 0;
    }
}

} // namespace

LeadBuffer::LeadBuffer(const RunningSpec& spec, const OpenContext& ctx)
    : spec_(spec), reader_(spec.operands), stage_(ctx.stage_id),
      batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
      budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
      metrics_(ctx.metrics),
      // Removes what a killed run of this stage left, whether or not this run spills.
      files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir, stage_,
             ctx.run ? &ctx.run->temp_files() : nullptr) {
    values_.resize(spec.operands.size());
}

void LeadBuffer::hold(Batch&& batch) {
    // Per partition and lead, the last `offset` records wait: a new record completes the one
    // `offset` records back.
    const std::size_t n = spec_.operations.size();
    held_starts_.push_back(next_record_);
    held_sizes_.push_back(batch.memory_bytes());
    held_batch_bytes_ += held_sizes_.back();
    shaper_.remember(batch.schema_ref());
    held_.push_back(std::move(batch));
    Batch& b = held_.back();
    reader_.bind(b.schema_ref());
    for (std::size_t r = 0; r < b.rows(); ++r) {
        const std::uint64_t record = next_record_++;
        leads_.insert(leads_.end(), n, Value::null());
        waits_.push_back(0);
        // A record whose operands cannot be read fails when computed; it waits for nothing
        // and completes nobody.
        if (!reader_.read(b.row(r), b.arena(), values_.data())) continue;
        partition_key(spec_, values_, key_);
        std::vector<std::deque<std::uint64_t>>& waiting = waiting_[key_];
        waiting.resize(n);
        for (std::size_t o = 0; o < n; ++o) {
            const Operation& op = spec_.operations[o];
            if (op.op != Op::Lead) continue;
            std::deque<std::uint64_t>& w = waiting[o];
            if (w.size() == op.offset) {
                complete(w.front(), o, values_[spec_.input_of[o]]);
                w.pop_front();
                --waiting_count_;
            }
            w.push_back(record);
            ++waiting_count_;
            ++waits_.back();
        }
    }
}

void LeadBuffer::complete(std::uint64_t record, std::size_t o, const Value& v) {
    const auto at = static_cast<std::size_t>(record - first_record_);
    --waits_[at];
    if (v.is_absent() || v.is_null()) return; // leads_ holds null already
    Value& lead = leads_[at * spec_.operations.size() + o];
    const std::uint64_t bytes = text_bytes(v);
    if (!held_.empty() && record >= held_starts_.front()) {
        // In memory: the batch holding it (the last one starting at or before it) keeps it.
        const auto it = std::upper_bound(held_starts_.begin(), held_starts_.end(), record);
        const auto i = static_cast<std::size_t>(it - held_starts_.begin()) - 1;
        lead = copy_into(held_[i].arena(), v);
        held_sizes_[i] += bytes;
        held_batch_bytes_ += bytes;
        return;
    }
    // Spilled: its segment's arena keeps it until the record is read back.
    const auto it =
        std::upper_bound(segments_.begin(), segments_.end(), record,
                         [](std::uint64_t rec, const Segment& s) { return rec < s.first; });
    Segment& seg = *(it - 1);
    lead = copy_into(*seg.arena, v);
    seg.arena_bytes += bytes;
    segment_bytes_ += bytes;
}

std::uint64_t LeadBuffer::held_bytes() const noexcept {
    return held_batch_bytes_ + segment_bytes_ + leads_.size() * sizeof(Value) +
           waits_.size() * sizeof(std::uint32_t) + waiting_count_ * sizeof(std::uint64_t);
}

std::size_t LeadBuffer::ready_count(bool at_end, std::size_t most) const {
    if (at_end) return std::min(most, waits_.size());
    std::size_t ready = 0;
    while (ready < most && waits_[ready] == 0)
        ++ready;
    return ready;
}

std::vector<Value> LeadBuffer::take_leads(std::size_t ready) {
    const auto values = static_cast<std::ptrdiff_t>(ready * spec_.operations.size());
    std::vector<Value> leads(leads_.begin(), leads_.begin() + values);
    leads_.erase(leads_.begin(), leads_.begin() + values);
    waits_.erase(waits_.begin(), waits_.begin() + static_cast<std::ptrdiff_t>(ready));
    first_record_ += ready;
    return leads;
}

Result<bool> LeadBuffer::take_ready(bool at_end, std::vector<ReadyRecords>& out,
                                    std::size_t max_batches) {
    bool any = false;
    for (; max_batches > 0; --max_batches) {
        Result<bool> took = !segments_.empty() ? take_spilled(at_end, out)
                            : !held_.empty()   ? take_held(at_end, out)
                                               : Result<bool>(false);
        if (!took) return std::move(took).error();
        if (!*took) break;
        any = true;
    }
    if (at_end && empty()) {
        waiting_.clear();
        waiting_count_ = 0;
    }
    return any;
}

Result<bool> LeadBuffer::take_held(bool at_end, std::vector<ReadyRecords>& out) {
    Batch& front = held_.front();
    const std::size_t rows = front.rows();
    const std::size_t ready = ready_count(at_end, rows);
    if (ready == 0) return false;
    Batch b;
    if (ready == rows) {
        b = std::move(front);
        held_batch_bytes_ -= held_sizes_.front();
        held_.pop_front();
        held_starts_.pop_front();
        held_sizes_.pop_front();
    } else {
        // The records after the first waiting one must not wait for it: the batch is split.
        b = front.clone();
        b.truncate(ready);
        std::vector<std::uint8_t> rest(rows, 1);
        std::fill_n(rest.begin(), ready, std::uint8_t{0});
        front.retain_rows(rest);
        held_starts_.front() += ready;
    }
    out.push_back({std::move(b), take_leads(ready)});
    return true;
}

Result<bool> LeadBuffer::take_spilled(bool at_end, std::vector<ReadyRecords>& out) {
    Segment& seg = segments_.front();
    const std::size_t ready = ready_count(at_end, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                      seg.count - seg.read, batch_size_)));
    if (ready == 0) return false;
    std::vector<Batch> batches;
    if (Status st = read_back(seg, ready, batches); !st)
        return std::move(st).error().in_stage(stage_);
    for (Batch& b : batches) {
        // Its lead values point into the segment's arena.
        b.keep_alive(seg.arena);
        const std::size_t rows = b.rows();
        out.push_back({std::move(b), take_leads(rows)});
    }
    seg.read += ready;
    if (seg.read == seg.count) {
        seg.reader.reset();
        files_.remove(seg.path);
        segment_bytes_ -= seg.arena_bytes;
        segments_.pop_front();
    }
    return true;
}

Status LeadBuffer::read_back(Segment& seg, std::size_t count, std::vector<Batch>& batches) {
    if (!seg.reader) {
        auto r = spill::RunReader::open(seg.path, 1);
        if (!r) return std::move(r).error();
        seg.reader = std::move(*r);
    }
    spill::RunReader& reader = *seg.reader;
    spill::BatchRebuilder rebuilt(shaper_);
    for (std::size_t i = 0; i < count; ++i) {
        Result<bool> got = reader.next();
        if (!got) return std::move(got).error();
        const auto expected = static_cast<std::int64_t>(first_record_ + i);
        if (!*got || reader.keys()[0].as_int() != expected)
            return Error(ErrorKind::Runtime, "a spill file does not hold the records written to it",
                         seg.path);
        rebuilt.append(reader, count - i, batches);
    }
    rebuilt.finish(batches);
    return {};
}

Status LeadBuffer::spill_if_over() {
    // Below an eighth of the budget in memory, writing it out would free little: what is over
    // is the per-record lead values (kept in memory, spilled or not).
    if (held_.empty() || held_bytes() <= budget_ || held_batch_bytes_ < budget_ / 8) return {};
    Result<spill::RunWriter> w = files_.create();
    if (!w) return std::move(w).error();
    Segment seg;
    seg.path = w->path();
    seg.first = held_starts_.front();
    seg.arena = std::make_shared<Arena>();
    const std::size_t n = spec_.operations.size();
    for (std::size_t i = 0; i < held_.size(); ++i) {
        const Batch& b = held_[i];
        for (std::size_t r = 0; r < b.rows(); ++r) {
            const std::uint64_t record = held_starts_[i] + r;
            const Value key = Value::integer(static_cast<std::int64_t>(record));
            if (Status st = w->add(std::span<const Value>(&key, 1), b.schema(), b.row(r)); !st)
                return std::move(st).error().in_stage(stage_);
            // The leads it has point into the batch's arena, which goes now.
            const auto at = static_cast<std::size_t>(record - first_record_);
            for (std::size_t o = 0; o < n; ++o) {
                Value& lead = leads_[at * n + o];
                if (lead.is_null()) continue;
                seg.arena_bytes += text_bytes(lead);
                lead = copy_into(*seg.arena, lead);
            }
        }
        seg.count += b.rows();
    }
    if (Status st = w->close(); !st) return std::move(st).error().in_stage(stage_);
    if (metrics_) metrics_->records_spilled.fetch_add(seg.count, std::memory_order_relaxed);
    if (!spilled_) {
        spilled_ = true;
        spdlog::info("stage '{}': records waiting for their leads beyond its memory share ({}): "
                     "spilled to {}",
                     stage_, obs::human_bytes(budget_), files_.dir());
    }
    segment_bytes_ += seg.arena_bytes;
    segments_.push_back(std::move(seg));
    held_.clear();
    held_starts_.clear();
    held_sizes_.clear();
    held_batch_bytes_ = 0;
    return {};
}

void LeadBuffer::abort() noexcept {
    for (Segment& s : segments_)
        s.reader.reset();
    segments_.clear();
    files_.remove_all();
}

} // namespace conveyor::plugins::running
