#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/result.hpp"
#include "time_text.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

/// The windowing logic of window.apply, without threads, timers or clocks: the caller says
/// what time it is. Tests drive it with made-up times; the stage drives it with the system
/// clock and a timer.
///
/// How window.apply talks to aggregate.stream (or any stage after it): every record goes on
/// with two more fields,
///   window_start   the window's start: an RFC 3339 time, or for count windows the number of
///                  the window's first record (counting from 0)
///   window_end     its end (exclusive): a time, or the number after its last record; null on
///                  the records of a session window, whose end is known only when it closes
/// and when a window closes, typed batch metadata (WindowClosed, core/batch.hpp) with its final
/// bounds follows its last record. It is not a record: sinks never write it, and stages that
/// do not act on it pass it on in order.
/// A record in several sliding windows goes on once per window. Windows span the whole stream
/// (they are not per key: aggregate.stream groups inside each window), and a window that
/// received no record produces nothing.
///
/// Time:
/// - count: windows of `size` records (sliding: one starting every `slide` records); a
///   window closes right after its last record.
/// - processing time: a record's time is when it arrived (push()'s `now`); windows are
///   aligned to the epoch (a 1-minute window starts on a whole minute) and close when
///   advance() or push() is called at or after their end.
/// - event time (`time_field`): a record's time is its field. Records may come out of order
///   by up to `allowed_lateness`: they are held and released in time order once the
///   watermark (the latest time seen minus allowed_lateness) has reached them, so windows see
///   them in order and close when the watermark reaches their end. A record older than the
///   watermark is late: its windows may have closed already, so it is dropped (on_drop), as
///   is a record without a valid timestamp.
/// - Range: times, and the bounds of the windows a record falls in, stay within
///   [kMinTimeMs, kMaxTimeMs] (years 0000 to 9999); a record outside goes to on_drop as
///   OutOfRange (the stage makes it a record error), so no arithmetic on times can overflow.
///   Without new records the watermark does not move: windows close on later records or at
///   the end of the input.
namespace conveyor::plugins::window {

enum class WindowType : std::uint8_t { Tumbling, Sliding, Session };

inline constexpr std::string_view kStartField = "window_start";
inline constexpr std::string_view kEndField = "window_end";

/// Sliding windows: the most windows one record may fall in (ceil(size / slide)). Each record
/// goes on once per window, so this bounds the work and the output per record; larger
/// ratios are refused when the pipeline is loaded.
inline constexpr std::int64_t kMaxWindowsPerRecord = 10'000;

/// How many windows of `size` starting every `slide` hold one record: ceil(size / slide).
constexpr std::int64_t windows_per_record(std::int64_t size, std::int64_t slide) noexcept {
    return size / slide + (size % slide != 0 ? 1 : 0);
}

struct WindowSpec {
    WindowType type = WindowType::Tumbling;
    bool by_count = false;
    std::int64_t size = 0;                 ///< records (by_count) or milliseconds
    std::int64_t slide = 0;                ///< sliding: records or milliseconds (0 for the others)
    std::int64_t gap = 0;                  ///< session: milliseconds of silence that end a session
    std::optional<std::string> time_field; ///< event time; processing time when absent
    std::int64_t allowed_lateness = 0;     ///< event time: milliseconds
    EpochUnit epoch_unit = EpochUnit::Seconds;
    /// Event time: at most this many records are held for reordering. Past it the oldest are
    /// released early (as if allowed_lateness were shorter), so memory stays bounded even when
    /// timestamps stop advancing.
    std::size_t max_held = 1'000'000;
};

class WindowEngine {
public:
    enum class Drop : std::uint8_t {
        Late,        ///< older than the watermark: its windows may have closed
        NoTimestamp, ///< time_field missing or not a timestamp
        /// its time (event time: the field; else the arrival time `ts`), or a bound of one of
        /// its windows, is outside [kMinTimeMs, kMaxTimeMs]
        OutOfRange,
    };
    /// Called for each record dropped before it goes; `ts` is meaningful for Late only (and
    /// for OutOfRange on processing time).
    using DropHandler = std::function<void(Drop why, const Batch& batch, std::size_t row,
                                           std::int64_t ts, std::int64_t watermark)>;

    explicit WindowEngine(WindowSpec spec, DropHandler on_drop = {});

    /// Asked every few thousand output rows while push(), advance() or finish() work; once it
    /// returns true the engine abandons its work (those calls return at once from then on,
    /// interrupted() is true) and what it produced is incomplete. For cancellation: a batch
    /// may place each of its records in up to kMaxWindowsPerRecord windows.
    void set_interrupt(std::function<bool()> interrupt) { interrupt_ = std::move(interrupt); }
    [[nodiscard]] bool interrupted() const noexcept { return interrupted_; }

    /// One input batch, arriving at `now` (ms since the epoch; used by processing time only).
    /// Output batches are appended to `out`. A record that cannot be placed (late, or without
    /// a timestamp) is handed to the drop handler and left out: a continuous pipeline goes on.
    void push(Batch&& batch, std::int64_t now, std::vector<Batch>& out);
    /// Processing time has reached `now`: windows that ended by then close.
    void advance(std::int64_t now, std::vector<Batch>& out);
    /// The input ended: held records are released and every open window closes.
    void finish(std::vector<Batch>& out);
    /// Processing time: when the next open window ends (advance() then has work).
    [[nodiscard]] std::optional<std::int64_t> next_deadline() const;

    [[nodiscard]] std::uint64_t late_records() const noexcept { return late_; }
    [[nodiscard]] std::uint64_t untimed_records() const noexcept { return untimed_; }
    [[nodiscard]] std::uint64_t out_of_range_records() const noexcept { return out_of_range_; }
    /// Records held for reordering (event time).
    [[nodiscard]] std::size_t held_records() const noexcept { return heap_.size(); }
    [[nodiscard]] std::optional<std::int64_t> watermark() const noexcept { return watermark_; }
    /// Times the holding limit (max_held) forced records out early.
    [[nodiscard]] std::uint64_t forced_releases() const noexcept { return forced_; }

private:
    struct Window {
        std::int64_t start = 0;
        std::int64_t end = 0;              ///< exclusive; sessions: last record's time + gap
        std::shared_ptr<std::string> text; ///< start and end as RFC 3339, viewed by the values
        Value vstart;
        Value vend; ///< null for a session's records
    };
    /// Where output rows go: the output batch being filled and what it already co-owns.
    struct Sink {
        std::vector<Batch>* out = nullptr;
        std::size_t index = SIZE_MAX; ///< in *out, SIZE_MAX: none yet
        SchemaRef in_schema;          ///< input schema of the batch being filled
        /// A set: a batch of sliding windows' rows co-owns the bounds of thousands of windows.
        std::unordered_set<const void*> owners;
    };
    struct Mapping {
        SchemaRef out_schema;
        std::vector<std::size_t> source; ///< per output column: input column or npos
        std::size_t start = 0, end = 0;
    };
    struct Held {
        std::int64_t ts;
        std::uint64_t seq;
        std::uint64_t batch; ///< absolute number of the held batch
        std::uint32_t row;
        bool operator>(const Held& o) const noexcept {
            return ts != o.ts ? ts > o.ts : seq > o.seq;
        }
    };
    struct HeldBatch {
        Batch batch;
        std::size_t pending = 0;
    };

    void push_event_time(Batch&& batch, std::vector<Batch>& out);
    void release(std::int64_t up_to, bool all, std::vector<Batch>& out);
    /// One record in time order: closes windows it shows are over, then adds it to its
    /// windows.
    void place(Batch& in, std::size_t row, std::int64_t t, Sink& sink);
    void close_until(std::int64_t t, Sink& sink); ///< closes windows with end <= t
    void close_all(Sink& sink);
    void close_front(Sink& sink);
    /// Whether `t` and the bounds of every window holding it lie within the range handled.
    [[nodiscard]] bool placeable(std::int64_t t) const noexcept;
    /// Counts a unit of work and asks interrupt_ now and then; true once interrupted.
    bool tick();
    /// The window starting at `start`, opened (ending at `end`) if it is not yet. `hint`: where
    /// to look first (the window after the previous one of the same record); left after it.
    Window& open_window(std::int64_t start, std::int64_t end,
                        std::map<std::int64_t, Window>::iterator& hint);
    void make_bounds(Window& w) const;
    void emit_row(Batch& in, std::size_t row, const Window& w, Sink& sink);
    void emit_marker(const Window& w, Sink& sink);
    Batch& sink_batch(Sink& sink, const SchemaRef& in_schema);
    const Mapping& mapping(const SchemaRef& in_schema);

    WindowSpec spec_;
    DropHandler on_drop_;
    /// Open windows by start (for sliding windows also by end); tumbling and session: at most
    /// one. A record finds its windows in O(log n + its windows).
    std::map<std::int64_t, Window> open_;
    std::int64_t records_ = 0; ///< count windows: records placed so far
    PerSchema<Mapping> mappings_;

    // Event time.
    std::optional<std::int64_t> watermark_;
    std::optional<std::int64_t> max_ts_;
    std::priority_queue<Held, std::vector<Held>, std::greater<>> heap_;
    std::deque<HeldBatch> held_;
    std::uint64_t held_base_ = 0; ///< absolute number of held_.front()
    std::uint64_t seq_ = 0;
    std::uint64_t late_ = 0;
    std::uint64_t untimed_ = 0;
    std::uint64_t forced_ = 0;
    std::uint64_t out_of_range_ = 0;

    std::function<bool()> interrupt_;
    std::uint32_t ticks_ = 0;
    bool interrupted_ = false;
};

} // namespace conveyor::plugins::window
