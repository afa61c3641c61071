#include "conveyor/recordio/csv_chunks.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace conveyor::recordio::csv {

namespace {

/// Bytes read at a time while looking for a chunk's first line start.
constexpr std::size_t kScan = std::size_t{1} << 12;

/// Whether a record may start at the byte after `prev` (`next`: the byte there, or -1 at the
/// end of the input): after LF, or after a CR that is not the first half of CRLF. A record
/// that starts anywhere but the input's first byte starts right after a line break.
bool is_line_start(char prev, int next) {
    return prev == '\n' || (prev == '\r' && next != '\n');
}

/// The first line start at or after `from` (> 0) in `input`, which reads from `from - 1`: the
/// end of the input when there is none. nullopt when reading fails, or when there is none
/// before `limit`: no record starts in the chunk, so a record before it spans the chunk
/// (scanning on to its end made every chunk inside a 50 MB field read the rest of it).
std::optional<std::uint64_t> first_line_start(InputFile& input, std::uint64_t from,
                                              std::optional<std::uint64_t> limit) {
    std::array<char, kScan + 1> buf{};
    std::uint64_t at = from - 1; // offset of buf[0]
    std::size_t have = 0;
    for (;;) {
        auto n = input.read(std::span<char>(buf.data() + have, buf.size() - have));
        if (!n || input.interrupted()) return std::nullopt;
        have += *n;
        const bool ended = *n == 0;
        // Byte i is the one before a candidate at + i + 1; its next byte must be known.
        for (std::size_t i = 0; i + 1 < have || (ended && i < have); ++i) {
            const int next = i + 1 < have ? static_cast<unsigned char>(buf[i + 1]) : -1;
            if (is_line_start(buf[i], next)) return at + i + 1;
        }
        if (ended) return std::max(from, at + have);
        if (limit && at + have >= *limit) return std::nullopt;
        // Keep the last byte: its successor decides whether it ends a line.
        buf[0] = buf[have - 1];
        at += have - 1;
        have = 1;
    }
}

/// Converts the declared columns of `fields` (into `batch`'s arena); false when one is not of
/// its type (the serial reader reports it).
bool apply_types(const ChunkSetup& setup, std::vector<Value>& fields, Batch& batch) {
    std::string why;
    for (const auto& [c, type] : setup.typed) {
        if (c >= fields.size()) continue;
        std::optional<Value> v = coltype::convert_text_field(fields[c], type, batch.arena(), &why);
        if (!v) return false;
        fields[c] = *v;
    }
    return true;
}

/// Collects a chunk's records into batches of setup.batch_size, each with the position after it.
class ChunkBatches {
public:
    ChunkBatches(const ChunkSetup& setup, CsvReader& reader) : setup_(setup), reader_(reader) {
        open();
    }
    /// The chunk's records start at `offset`, on line `line` (lines count from there).
    void start_at(std::uint64_t offset, std::uint64_t line) {
        mark_ = offset;
        base_ = line;
    }
    [[nodiscard]] std::uint64_t line(std::uint64_t absolute) const { return absolute - base_; }
    Batch& batch() { return current_.batch; }
    void skipped(std::uint64_t line) {
        if (current_.skipped++ == 0) current_.first_skipped = line;
    }
    void stray_quote(std::uint64_t line) {
        if (current_.stray_quotes++ == 0) current_.first_stray_quote = line;
    }
    /// A record was appended; the batch ends after it when full.
    void appended() {
        if (current_.batch.rows() < setup_.batch_size &&
            reader_.bytes_consumed() - mark_ < kBatchTargetBytes)
            return;
        close(reader_.bytes_consumed(), line(reader_.next_line()));
        open();
    }
    /// The last batch ends at `offset` (line `line`); returns them all.
    std::vector<ChunkBatch> finish(std::uint64_t offset, std::uint64_t line) {
        reader_.attach(nullptr);
        if (!current_.batch.empty() || current_.skipped != 0 || offset != mark_)
            close(offset, line);
        return std::move(done_);
    }

private:
    void open() {
        current_ = ChunkBatch{Batch(setup_.schema, setup_.batch_size)};
        reader_.attach(&current_.batch);
    }
    void close(std::uint64_t offset, std::uint64_t line) {
        current_.end_offset = offset;
        current_.end_line = line;
        current_.batch.set_payload_bytes(static_cast<std::size_t>(offset - mark_));
        mark_ = offset;
        done_.push_back(std::move(current_));
    }

    const ChunkSetup& setup_;
    CsvReader& reader_;
    std::uint64_t mark_ = 0;
    std::uint64_t base_ = 0;
    ChunkBatch current_;
    std::vector<ChunkBatch> done_;
};

/// Hands the rest of the chunk to the serial reader from `offset` (line `line`, absolute).
void hand_off(ChunkResult& r, ChunkBatches& out, std::uint64_t offset, std::uint64_t line) {
    r.handoff = true;
    r.handoff_offset = offset;
    r.handoff_line = out.line(line);
    r.batches = out.finish(offset, r.handoff_line);
}

} // namespace

ChunkResult parse_chunk(const ChunkSetup& setup, InputFile input, std::uint64_t from, bool exact,
                        std::optional<std::uint64_t> limit) {
    ChunkResult r;
    std::uint64_t begin = from;
    if (!exact && from > 0) {
        const std::optional<std::uint64_t> found = first_line_start(input, from, limit);
        // No start: the chunk is skipped when a record before it spans it, else the serial
        // reader reads it.
        if (!found) return r;
        begin = *found;
    }
    CsvReader reader(std::move(input), setup.reader, nullptr, setup.blocks);
    if (!reader.resume_at(begin, 1)) return r;
    if (limit) reader.set_limit(*limit);

    ChunkBatches out(setup, reader);
    // A guessed start is where the first record starts, after any blank lines: what the chunk
    // before ends with. An exact one is where the caller's position is.
    if (exact) {
        r.start = begin;
        out.start_at(begin, 1);
    }
    const std::size_t width = setup.schema->size();
    std::vector<Value> fields;
    for (bool first = !exact;; first = false) {
        auto fetched = reader.fetch_record(fields, true);
        const bool record = fetched && *fetched == CsvReader::Fetch::Record;
        if (first) {
            r.start = record ? reader.record_offset() : reader.bytes_consumed();
            out.start_at(r.start, record ? reader.record_line() : reader.next_line());
        }
        if (!fetched || (!record && !reader.at_limit() && reader.interrupted())) {
            // A record that does not parse, a read error, a stop: the serial reader goes on
            // from here and does what it does with them.
            hand_off(r, out, reader.bytes_consumed(), reader.next_line());
            return r;
        }
        if (!record) {
            r.end = reader.bytes_consumed();
            r.lines = out.line(reader.next_line());
            r.input_ended = !reader.at_limit();
            r.batches = out.finish(r.end, r.lines);
            return r;
        }
        // (Counted for the records this chunk keeps or skips: the serial reader counts those
        // it takes over.)
        const bool stray = reader.record_has_text_after_quote();
        if (fields.size() != width) {
            if (setup.on_ragged == RaggedPolicy::Skip) {
                if (stray) out.stray_quote(out.line(reader.record_line()));
                out.skipped(out.line(reader.record_line()));
                continue;
            }
            if (setup.on_ragged != RaggedPolicy::Pad || fields.size() > width) {
                hand_off(r, out, reader.record_offset(), reader.record_line());
                return r;
            }
            fields.resize(width, Value::null());
        }
        if (!setup.typed.empty() && !apply_types(setup, fields, out.batch())) {
            hand_off(r, out, reader.record_offset(), reader.record_line());
            return r;
        }
        if (stray) out.stray_quote(out.line(reader.record_line()));
        out.batch().append_row(fields);
        out.appended();
    }
}

} // namespace conveyor::recordio::csv
