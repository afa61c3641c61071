#pragma once

// The source side of a chunked read: ChunkedSource drives a ChunkedReader (chunked_reader.hpp)
// from a source operator's next(). It hands out the chunks' batches in file order, lets the
// format's serial reader read the stretches the chunks cannot (a wrong guess, a record with an
// error, the rest of a growing file) and resumes the chunks where that reader stopped, and it
// ends the read early after a stop request. csv.read and json.read bring their batch type and
// a few hooks for what is theirs: emitting a batch, and positioning and running their serial
// reader.

#include "conveyor/core/result.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/stage/chunked_reader.hpp"
#include "conveyor/stage/emitter.hpp"

#include <atomic>
#include <concepts>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace conveyor {

/// What one call of a format's serial reader did in a stretch.
enum class StretchRead {
    More,       ///< read a batch (maybe emitted nothing); the stretch goes on
    Ended,      ///< stopped at the stretch's limit, or at the input's end when it has none
    InputEnded, ///< the input ended before the limit: nothing follows
};

/// Where the serial reader stopped at the end of a stretch.
struct StretchEnd {
    std::uint64_t offset = 0;     ///< the start of the first record at or after the limit
    std::uint64_t line = 0;       ///< its line
    std::uint64_t read_ahead = 0; ///< bytes it counted in bytes_read past offset
};

/// The hooks a format gives ChunkedSource::next(); each is called at most once a batch, on the
/// source's thread.
template <class F, class Part>
concept ChunkedFormat = requires(F& f, Part&& part, Emitter& out, std::uint64_t n,
                                 std::optional<std::uint64_t> limit) {
    /// A chunk's batch, in file order: counts its records, moves the checkpoint position and
    /// bytes_read past it, and emits it.
    { f.emit(std::move(part), out) } -> std::same_as<void>;
    /// Positions the serial reader to read the records starting in [offset, limit) (nullopt:
    /// to the end of the input) from line `line`.
    { f.seek_serial(n, n, limit) } -> std::same_as<Status>;
    /// One batch of the serial reader in its stretch.
    { f.read_serial(out) } -> std::same_as<Result<StretchRead>>;
    /// After StretchRead::Ended with chunks to follow: where the serial reader stopped, ready
    /// for its next stretch.
    { f.stretch_ended() } -> std::same_as<StretchEnd>;
    /// The read ends (everything was handed out, or a stop request).
    { f.finish() } -> std::same_as<Status>;
};

/// A chunked read's state on the source's thread: the reassembly, the batches it handed out
/// that are not emitted yet, and whether the serial reader is reading a stretch.
template <class Part>
class ChunkedSource {
public:
    /// Reads `file` from `from` (a record start on line `line`) to its end, or the records
    /// that start before `end`, with two chunks a worker of `pool` in flight (each worker has
    /// the next one queued when it finishes one, and memory stays a few chunks). `run` (may be
    /// null) tells of stop requests; `metrics` (may be null) has the serial reader's read-ahead
    /// taken off its bytes_read.
    ChunkedSource(ChunkParser<Part> parse, const InputFile& file, WorkPool& pool,
                  std::uint64_t chunk_size, std::uint64_t from, std::uint64_t line,
                  std::optional<std::uint64_t> end, const RunContext* run, StageMetrics* metrics)
        : chunks_(std::move(parse), file, pool, 2 * pool.size(), chunk_size, from, line, end),
          run_(run), metrics_(metrics) {}

    /// next() of the source: emits one batch (a chunk's or the serial reader's) and returns
    /// true, or returns false when the read ended (after `format.finish()` when it ends here),
    /// or the serial reader's error.
    template <ChunkedFormat<Part> Format>
    Result<bool> next(Emitter& out, Format format) {
        for (;;) {
            if (!ready_.empty()) {
                Part b = std::move(ready_.front());
                ready_.pop_front();
                format.emit(std::move(b), out);
                return true;
            }
            if (in_stretch_) {
                Result<StretchRead> read = format.read_serial(out);
                if (!read) return std::move(read).error();
                if (*read == StretchRead::More) return true;
                if (*read == StretchRead::InputEnded) return false;
                // The stretch ended at its limit (or the input's end): chunks go on there.
                in_stretch_ = false;
                if (end_) return false;
                const StretchEnd at = format.stretch_ended();
                chunks_.resume_at(at.offset, at.line);
                // The chunks count those bytes as their records go out.
                if (metrics_)
                    metrics_->bytes_read.fetch_sub(at.read_ahead, std::memory_order_relaxed);
                return true;
            }
            // After a stop request the source ends soon, as the serial reader does at the end
            // of its block: the chunks parsed ahead are not passed on (a resumed run reads
            // them).
            if (end_ || (run_ && run_->stop_requested())) {
                CONVEYOR_TRY(format.finish());
                return false;
            }
            typename ChunkedReader<Part>::Step step = chunks_.next();
            for (Part& b : step.batches)
                ready_.push_back(std::move(b));
            end_ = step.end;
            if (step.serial) {
                CONVEYOR_TRY(format.seek_serial(step.offset, step.line, step.limit));
                in_stretch_ = true;
            }
        }
    }

private:
    ChunkedReader<Part> chunks_;
    std::deque<Part> ready_; ///< handed out by chunks_, not emitted yet
    bool in_stretch_ = false;
    bool end_ = false; ///< nothing follows ready_ and the stretch
    const RunContext* run_;
    StageMetrics* metrics_;
};

} // namespace conveyor
