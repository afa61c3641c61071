#include "fetch_window.hpp"

#include "conveyor/core/arena.hpp"
#include "conveyor/core/ascii.hpp"
#include "conveyor/core/value.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace conveyor::plugins::http {

namespace {

/// The body as JSON, or as a string when it is not JSON; null when empty.
Value parse_body(json::Parser& parser, const Response& r, Arena& arena) {
    if (r.body.empty()) return Value::null();
    Result<Value> v = parser.parse(r.body, arena);
    if (v) return *v;
    return Value::string(arena.copy(r.body));
}

/// The headers as an object: lower-case names, repeated headers joined with ", ".
Value headers_object(const Response& r, Arena& arena) {
    std::vector<std::pair<std::string, std::string>> merged;
    for (const net::Header& h : r.headers) {
        std::string name = ascii_lower(h.name);
        auto it = std::find_if(merged.begin(), merged.end(),
                               [&](const auto& m) { return m.first == name; });
        if (it == merged.end())
            merged.emplace_back(std::move(name), h.value);
        else
            it->second += ", " + h.value;
    }
    Member* members = arena.allocate_array<Member>(merged.size());
    for (std::size_t i = 0; i < merged.size(); ++i) {
        members[i].key = arena.copy(merged[i].first);
        members[i].value = Value::string(arena.copy(merged[i].second));
    }
    return Value::object(members, static_cast<std::uint32_t>(merged.size()));
}

} // namespace

std::shared_ptr<const Response> to_response(net::HttpResponse r) {
    auto out = std::make_shared<Response>();
    out->status = r.status;
    out->headers = std::move(r.headers);
    out->body = std::move(r.body);
    return out;
}

std::uint64_t FetchWindow::add_record(std::shared_ptr<Chunk> chunk, std::size_t row,
                                      std::uint64_t epoch) {
    const std::uint64_t seq = next_seq_++;
    Slot& s = slots_[seq];
    s.chunk = std::move(chunk);
    s.row = row;
    s.epoch = epoch;
    return seq;
}

void FetchWindow::add_marker(std::uint64_t id) {
    Slot& s = slots_[next_seq_++];
    s.outcome = Outcome::Marker;
    s.marker = id;
    settled(1);
}

void FetchWindow::add_infos(std::vector<BatchInfo> infos) {
    Slot& s = slots_[next_seq_++];
    s.outcome = Outcome::Info;
    s.infos = std::move(infos);
    settled(1);
}

void FetchWindow::settled(std::size_t n) {
    if (!ordered_) {
        unordered_ready_ += n;
        return;
    }
    for (;;) {
        auto it = slots_.find(ready_end_);
        if (it == slots_.end() || it->second.outcome == Outcome::Pending) break;
        ++ready_end_;
    }
}

std::size_t FetchWindow::ready() const noexcept {
    if (ordered_) return static_cast<std::size_t>(ready_end_ - emitted_end_);
    return unordered_ready_;
}

struct FetchWindow::Building {
    std::vector<Batch> batches;
    std::vector<std::size_t> payload; ///< per batch: bytes its values point to (for budgets)
    const SchemaInfo* info_of_last = nullptr;
    std::vector<const Chunk*> shared;
    std::unordered_map<const Response*, Value> parsed; ///< batch mode: one parse per batch
};

void FetchWindow::put(Slot& s, Building& b) {
    if (s.outcome == Outcome::Removed) return;
    if (s.outcome == Outcome::Info) {
        // On the last batch when no marker follows its records, else alone.
        if (b.batches.empty() || b.batches.back().checkpoint_id() != 0) {
            b.batches.emplace_back();
            b.payload.push_back(0);
            b.info_of_last = nullptr;
        }
        for (BatchInfo& info : s.infos)
            b.batches.back().add_info(std::move(info));
        b.info_of_last = nullptr; // records after it start a batch of their own
        return;
    }
    if (s.outcome == Outcome::Marker) {
        // On the last batch (its records come before the marker), or alone.
        if (!b.batches.empty() && b.batches.back().checkpoint_id() == 0 &&
            !b.batches.back().empty()) {
            b.batches.back().set_checkpoint(s.marker);
        } else {
            b.batches.push_back(Batch::checkpoint_marker(s.marker));
            b.payload.push_back(0);
        }
        b.info_of_last = nullptr; // records after it start a batch of their own
        return;
    }
    // Counted when emitted, so that a stage stopping early reports settled but unemitted
    // records as unfinished.
    ++emitted_records_;
    const SchemaInfo& info = *s.chunk->info;
    if (b.batches.empty() || b.info_of_last != &info) {
        b.batches.emplace_back(info.out.schema, flush_threshold_);
        b.payload.push_back(0);
        b.info_of_last = &info;
        b.shared.clear();
        b.parsed.clear();
    }
    Batch& out = b.batches.back();
    if (std::find(b.shared.begin(), b.shared.end(), s.chunk.get()) == b.shared.end()) {
        out.share_storage_of(s.chunk->batch);
        b.shared.push_back(s.chunk.get());
    }
    const auto in_row = s.chunk->batch.row(s.row);
    b.payload.back() += s.chunk->batch.payload_bytes() / s.chunk->batch.rows();
    auto row = out.append_row(s.chunk->batch.lineage(s.row));
    const OutputLayout& layout = info.out;
    for (std::size_t c = 0; c < row.size(); ++c)
        if (layout.source_column[c] != kNoColumn) row[c] = in_row[layout.source_column[c]];
    Value result = Value::null();
    if (s.outcome == Outcome::Ok) {
        auto it = b.parsed.find(s.response.get());
        if (it == b.parsed.end()) {
            it = b.parsed.emplace(s.response.get(), parse_body(parser_, *s.response, out.arena()))
                     .first;
            b.payload.back() += s.response->body.size();
        }
        result = it->second;
    }
    row[layout.result_col] = result;
    if (layout.status_col != kNoColumn)
        row[layout.status_col] = s.response ? Value::integer(s.response->status) : Value::null();
    if (layout.headers_col != kNoColumn)
        row[layout.headers_col] =
            s.response ? headers_object(*s.response, out.arena()) : Value::null();
}

std::vector<Batch> FetchWindow::take_ready() {
    Building b;
    if (ordered_) {
        auto it = slots_.begin();
        while (it != slots_.end() && it->first < ready_end_) {
            put(it->second, b);
            it = slots_.erase(it);
        }
        emitted_end_ = ready_end_;
    } else {
        bool pending_before = false;
        for (auto it = slots_.begin(); it != slots_.end();) {
            const Outcome o = it->second.outcome;
            if (o == Outcome::Pending || (o == Outcome::Info && pending_before)) {
                pending_before = true;
                ++it;
                continue;
            }
            put(it->second, b);
            it = slots_.erase(it);
        }
        unordered_ready_ = 0;
    }
    for (std::size_t i = 0; i < b.batches.size(); ++i)
        b.batches[i].set_payload_bytes(b.payload[i]);
    return std::move(b.batches);
}

} // namespace conveyor::plugins::http
