#pragma once

// A source parsing one regular file on the run's workers: the file is cut into chunks of a
// few MiB, each parsed on its own from the first record start at or after its nominal offset,
// and their batches handed out in file order by one ChunkedReader on the source's thread.
// What a record start is (and so how a chunk finds its first one) is the format's: csv.read
// (recordio/csv_chunks.hpp) and json.read (recordio/json_chunks.hpp) bring their own
// chunk parser and result; the scheduling and the checks of the reassembly are here.
//
// The reassembly trusts nothing a chunk guessed: a chunk whose first record does not start
// where the one before it ended (checked in order) is read by the serial reader instead, and
// so is the rest of a chunk that handed off (a record with an error to report, a stop
// request). Lines are counted from each chunk's start and made absolute in order.

#include "conveyor/core/result.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/io/input_file.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace conveyor {

/// What a chunk parser reports. `Part` is the format's batch with its position after it; it
/// has `void add_lines(std::uint64_t first_line)`, which turns its lines (counted from the
/// chunk's start) into absolute ones.
template <class Part>
struct ChunkOutcome {
    static constexpr std::uint64_t kNoStart = static_cast<std::uint64_t>(-1);
    /// Where its first record starts (after blank lines); kNoStart when it could not tell.
    std::uint64_t start = kNoStart;
    /// Where the first record at or after its limit starts (or the input ends).
    std::uint64_t end = 0;
    std::uint64_t lines = 0; ///< line breaks from start to end
    bool input_ended = false;
    std::vector<Part> batches;
    /// Set when a record needs the serial reader (an error to report or dead-letter, a stop
    /// request): the batches hold the records before it, which starts at `handoff_offset` on
    /// `handoff_line` (counted from the chunk's start).
    bool handoff = false;
    std::uint64_t handoff_offset = 0;
    std::uint64_t handoff_line = 0;
};

/// Parses the records of `input` that start at or after `from` and before `limit` (nullopt:
/// to the end). With `exact` false, `from` is a nominal boundary: parsing starts at the first
/// record start at or after it, and `input` reads from from - 1 (from 0 when from is 0).
template <class Part>
using ChunkParser = std::function<ChunkOutcome<Part>(
    InputFile input, std::uint64_t from, bool exact, std::optional<std::uint64_t> limit)>;

/// The ordered reassembly: schedules chunks on the pool (at most `window` in flight), checks
/// each one's start against the end of the one before, and hands out their batches in file
/// order, or a stretch the serial reader must read instead. Runs on the source's thread.
template <class Part>
class ChunkedReader {
public:
    /// Reads `file` from `from` (the start of a record, on line `line`) to its end, or the
    /// records that start before `end` (a shard's range).
    ChunkedReader(ChunkParser<Part> parse, const InputFile& file, WorkPool& pool,
                  std::size_t window, std::uint64_t chunk_size, std::uint64_t from,
                  std::uint64_t line, std::optional<std::uint64_t> end = std::nullopt)
        : parse_(std::make_shared<const ChunkParser<Part>>(std::move(parse))), file_(file),
          jobs_(pool, window), chunk_size_(std::max<std::uint64_t>(chunk_size, 1)),
          size_(end.value_or(file.size().value_or(0))), bounded_(end.has_value()),
          next_start_(from), expect_(from), expect_line_(line) {}

    /// What follows in file order: batches (absolute lines), then maybe a stretch for the
    /// serial reader, which must read the records starting in [offset, limit) and then call
    /// resume_at() with where it stopped.
    struct Step {
        std::vector<Part> batches;
        bool serial = false;
        std::uint64_t offset = 0;
        std::uint64_t line = 0;
        std::optional<std::uint64_t> limit;
        bool end = false; ///< nothing follows (after the serial stretch, if any)
    };

    /// Waits for the next chunk (or parses it on this thread when no worker has started it).
    Step next() {
        for (;;) {
            top_up();
            Step step;
            if (jobs_.empty()) {
                // Every chunk is done; a file that grew since it was opened is read on
                // serially (a range ends where it ends).
                step.end = true;
                if (bounded_) return step;
                return serial_from(expect_, expect_line_, std::nullopt);
            }
            ChunkOutcome<Part> r = jobs_.take();
            const Nominal n = nominal_.front();
            nominal_.pop_front();
            if (n.limit && expect_ >= *n.limit) continue; // a record before it spans the chunk
            // The guess was not a record start (or the chunk could not be read): the serial
            // reader reads the records of this chunk.
            if (r.start != expect_) return serial_from(expect_, expect_line_, n.limit);
            for (Part& b : r.batches)
                b.add_lines(expect_line_);
            if (r.handoff) {
                step = serial_from(r.handoff_offset, expect_line_ + r.handoff_line, n.limit);
                step.batches = std::move(r.batches);
                return step;
            }
            step.batches = std::move(r.batches);
            expect_ = r.end;
            expect_line_ += r.lines;
            step.end = r.input_ended;
            return step;
        }
    }

    /// The serial stretch ended at `offset` (the start of the first record at or after its
    /// limit, or the end of the input), on line `line`.
    void resume_at(std::uint64_t offset, std::uint64_t line) noexcept {
        expect_ = offset;
        expect_line_ = line;
    }

private:
    struct Nominal {
        std::uint64_t start;
        std::optional<std::uint64_t> limit;
    };

    static Step serial_from(std::uint64_t offset, std::uint64_t line,
                            std::optional<std::uint64_t> limit) {
        Step step;
        step.serial = true;
        step.offset = offset;
        step.line = line;
        step.limit = limit;
        step.end = !limit;
        return step;
    }

    void top_up() {
        while (!jobs_.full() && next_start_ < size_) {
            const std::uint64_t start = next_start_;
            const bool exact = first_;
            first_ = false;
            std::optional<std::uint64_t> limit;
            if (size_ - start > chunk_size_)
                limit = start + chunk_size_;
            else if (bounded_)
                limit = size_;
            next_start_ = limit.value_or(size_);
            nominal_.push_back({start, limit});
            // A speculative chunk reads from the byte before its nominal start.
            Result<InputFile> input = file_.reader_at(exact || start == 0 ? start : start - 1);
            if (!input) { // no descriptor to spare: the serial reader reads this chunk
                jobs_.submit([] { return ChunkOutcome<Part>{}; });
                continue;
            }
            jobs_.submit([parse = parse_, in = std::move(*input), start, exact, limit]() mutable {
                return (*parse)(std::move(in), start, exact, limit);
            });
        }
    }

    std::shared_ptr<const ChunkParser<Part>> parse_;
    const InputFile& file_;
    OrderedJobs<ChunkOutcome<Part>> jobs_;
    std::deque<Nominal> nominal_;
    std::uint64_t chunk_size_;
    std::uint64_t size_; ///< the file's size, or the range's end
    bool bounded_;       ///< reading a range: nothing after size_, however the file grew
    std::uint64_t next_start_;
    std::uint64_t expect_;      ///< where the next record starts: checked chunks end here
    std::uint64_t expect_line_; ///< and its line
    bool first_ = true;
};

} // namespace conveyor
