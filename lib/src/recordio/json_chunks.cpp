#include "conveyor/recordio/json_chunks.hpp"

#include "conveyor/format/json_parser.hpp"
#include "conveyor/recordio/json_batch_builder.hpp"
#include "conveyor/recordio/json_splitter.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace conveyor::recordio::json {

namespace {

/// Bytes read at a time while looking for a chunk's first line start.
constexpr std::size_t kScan = std::size_t{1} << 12;

/// The first line start at or after `from` (> 0) in `input`, which reads from `from - 1`: the
/// byte after the first LF there, or the end of the input. nullopt when reading fails or stops.
std::optional<std::uint64_t> first_line_start(InputFile& input, std::uint64_t from) {
    std::array<char, kScan> buf{};
    std::uint64_t at = from - 1; // offset of buf[0]
    for (;;) {
        auto n = input.read(std::span<char>(buf.data(), buf.size()));
        if (!n || input.interrupted()) return std::nullopt;
        if (*n == 0) return std::max(from, at);
        if (const void* lf = std::memchr(buf.data(), '\n', *n))
            return at + static_cast<std::uint64_t>(static_cast<const char*>(lf) - buf.data()) + 1;
        at += *n;
    }
}

/// Parses one chunk's lines into batches (parse_chunk's state).
class ChunkParser {
public:
    ChunkParser(const ChunkSetup& setup, JsonSplitter& splitter, std::optional<std::uint64_t> limit)
        : setup_(setup), splitter_(splitter), limit_(limit) {}

    /// An exact start is where the caller stands (blank lines may follow); a guessed one is
    /// where the first record starts, after any blank lines: what the chunk before ends with.
    void start_at(std::uint64_t offset) { started(offset, 1); }

    ChunkResult run() {
        // One parser per thread: its buffers are reused by every chunk the thread parses.
        thread_local conveyor::json::Parser parser;
        for (;;) {
            const JsonSplitter::Mark before = splitter_.mark();
            std::string_view text;
            Result<JsonSplitter::Status> st = splitter_.next(text, true);
            if (!st || (*st == JsonSplitter::Status::End && splitter_.file().interrupted())) {
                // A read error or a stop: the serial reader goes on from here.
                started(before.offset, before.line);
                return hand_off(before, before.offset, before.line);
            }
            if (*st != JsonSplitter::Status::Record) return finish();
            const char* at = text.data();
            if (!started_) {
                const JsonSplitter::Position p = splitter_.locate(at);
                started(splitter_.offset_of(at), p.line);
            }
            // Parsed where it lies, in the splitter's buffer, which the batch keeps.
            Result<Value> v = parser.parse_in_place(text, builder_.arena());
            if (!v || v->kind() != Kind::Object ||
                (!setup_.types.empty() && convert_fields(*v, setup_.types, builder_.arena()))) {
                // The serial reader reports it (or leaves it out) with its file:line.
                return hand_off(before, splitter_.offset_of(at), splitter_.locate(at).line);
            }
            builder_.hold(splitter_.buffer(), text.size());
            // Every record parsed before this one was added (or the chunk ended there).
            if (!builder_.add(*v, parser.same_keys_as_last())) {
                // Its key order conflicts with the batch: it starts the next one.
                close(before, true);
                const bool added = builder_.add(*v);
                (void)added; // a fresh batch takes any record
            }
            if (builder_.rows() >= setup_.batch_size ||
                splitter_.offset() - batch_start_ >= kBatchTargetBytes)
                close(splitter_.mark(), false);
        }
    }

private:
    void started(std::uint64_t offset, std::uint64_t line) {
        if (started_) return;
        started_ = true;
        r_.start = batch_start_ = offset;
        start_line_ = line;
    }

    void close(const JsonSplitter::Mark& at, bool carry) {
        ChunkBatch b;
        b.batch = builder_.build(carry);
        b.end_offset = at.offset;
        b.end_line = at.line - start_line_;
        b.end_column = at.column;
        r_.batches.push_back(std::move(b));
        batch_start_ = at.offset;
    }

    ChunkResult hand_off(const JsonSplitter::Mark& before, std::uint64_t offset,
                         std::uint64_t line) {
        if (builder_.rows() > 0) close(before, false);
        r_.handoff = true;
        r_.handoff_offset = offset;
        r_.handoff_line = line - start_line_;
        return std::move(r_);
    }

    ChunkResult finish() {
        const JsonSplitter::Mark end = splitter_.mark();
        started(end.offset, end.line);
        if (builder_.rows() > 0) close(end, false);
        r_.end = end.offset;
        r_.lines = end.line - start_line_;
        r_.input_ended = !limit_ || r_.end < *limit_;
        return std::move(r_);
    }

    const ChunkSetup& setup_;
    JsonSplitter& splitter_;
    std::optional<std::uint64_t> limit_;
    BatchBuilder builder_;
    ChunkResult r_;
    bool started_ = false;
    std::uint64_t start_line_ = 1;
    std::uint64_t batch_start_ = 0;
};

} // namespace

ChunkResult parse_chunk(const ChunkSetup& setup, InputFile input, std::uint64_t from, bool exact,
                        std::optional<std::uint64_t> limit) {
    std::uint64_t begin = from;
    if (!exact && from > 0) {
        const std::optional<std::uint64_t> found = first_line_start(input, from);
        if (!found) return {}; // no start: the serial reader reads this chunk
        begin = *found;
    }
    JsonSplitter splitter(std::move(input), JsonFormat::Jsonl, setup.block_size, nullptr);
    JsonSplitter::Mark at;
    at.offset = begin;
    if (!splitter.resume_at(at)) return {};
    if (limit) splitter.set_limit(*limit);
    ChunkParser parser(setup, splitter, limit);
    if (exact) parser.start_at(begin);
    return parser.run();
}

} // namespace conveyor::recordio::json
