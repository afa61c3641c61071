#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/exec/runtime.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stream_stage.hpp"
#include "window_engine.hpp"
#include "window_stage.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <fmt/format.h>

namespace asio = boost::asio;

namespace conveyor::plugins::window {

namespace {

std::int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string duration_text(std::int64_t ms) {
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    return fmt::format("{}ms", ms);
}

Error cancelled_error(const RunContext& run) {
    if (auto reason = run.cancel_reason())
        return Error(ErrorKind::Cancelled, "cancelled: " + reason->to_string());
    return Error(ErrorKind::Cancelled, "cancelled");
}

/// One run of window.apply: an I/O-side stage, because windows on processing time must close
/// when their time is up even if no record arrives. Two coroutines share the run's strand:
/// a reader that takes input events one at a time, and the main loop that feeds the engine
/// and otherwise sleeps until the next window ends (woken early by the reader). The engine's
/// work (up to kMaxWindowsPerRecord output rows per record) runs on the worker pool, so the
/// I/O thread stays free for signals and timers; the engine gives up as soon as the run is
/// cancelled or a record error must stop the stage.
class WindowOperator final : public StreamOperator {
public:
    WindowOperator(WindowSpec spec, std::string stage, RunContext* run, StageErrors* errors,
                   WindowClock clock)
        : spec_(spec), stage_(std::move(stage)), run_(run), errors_(errors),
          clock_(std::move(clock)),
          engine_(std::move(spec),
                  [this](WindowEngine::Drop why, const Batch& b, std::size_t row, std::int64_t ts,
                         std::int64_t wm) { on_drop(why, b, row, ts, wm); }) {
        engine_.set_interrupt(
            [this] { return (run_ && run_->cancelled()) || record_failure_.has_value(); });
    }

    asio::awaitable<Status> run(StreamInput& in, StreamOutput& out) override {
        const asio::any_io_executor ex = co_await asio::this_coro::executor;
        Shared st(ex);
        asio::co_spawn(ex, read_input(in, st), [&st](std::exception_ptr ep) {
            st.reader_failure = ep;
            st.reader_done = true;
            st.wake.cancel();
        });
        bool downstream = true;
        std::vector<Batch> produced;
        for (;;) {
            if (!st.queue.empty()) {
                InputEvent ev = std::move(st.queue.front());
                st.queue.pop_front();
                st.gate.cancel();
                // Downstream gone (only when the run is cancelled or, under strategy =
                // "continue", every consumer failed): input is drained so the reader ends
                // with its input.
                if (!ev.batch || !downstream) continue;
                const std::int64_t now = clock_();
                co_await off_io([&] { engine_.push(std::move(*ev.batch), now, produced); });
                if (stopped(produced)) {
                    downstream = false;
                    continue;
                }
                if (engine_.forced_releases() && !warned_forced_) {
                    warned_forced_ = true;
                    spdlog::warn("stage '{}': more than {} records waited for the watermark "
                                 "(timestamps not advancing?); the oldest go on early, and "
                                 "records that arrive later for their windows count as late",
                                 stage_, spec_.max_held);
                }
                downstream = co_await emit_all(out, produced);
                continue;
            }
            if (st.reader_done) break;
            const std::optional<std::int64_t> deadline =
                downstream ? engine_.next_deadline() : std::nullopt;
            if (deadline)
                st.wake.expires_after(
                    std::chrono::milliseconds(std::max<std::int64_t>(0, *deadline - clock_())));
            else
                st.wake.expires_at(asio::steady_timer::time_point::max());
            co_await st.wake.async_wait(asio::as_tuple(asio::use_awaitable));
            if (deadline) {
                engine_.advance(clock_(), produced);
                if (stopped(produced))
                    downstream = false;
                else
                    downstream = co_await emit_all(out, produced);
            }
        }
        if (st.reader_failure) std::rethrow_exception(st.reader_failure);
        if (record_failure_) co_return *record_failure_;
        if (run_ && run_->cancelled()) co_return cancelled_error(*run_);
        // The end of the input (or a graceful stop): open windows close now.
        if (downstream) {
            co_await off_io([&] { engine_.finish(produced); });
            if (stopped(produced)) {
                if (record_failure_) co_return *record_failure_;
                co_return cancelled_error(*run_);
            }
            co_await emit_all(out, produced);
        }
        report_drops();
        if (dead_letter_failure_) co_return *dead_letter_failure_;
        co_return Status{};
    }

private:
    struct Shared {
        explicit Shared(const asio::any_io_executor& ex) : wake(ex), gate(ex) {}
        std::deque<InputEvent> queue; ///< at most one event: the inbox upstream is the buffer
        bool reader_done = false;
        std::exception_ptr reader_failure;
        asio::steady_timer wake; ///< the main loop sleeps on it; cancel() wakes it
        asio::steady_timer gate; ///< the reader waits on it while the queue is full
    };

    static asio::awaitable<void> read_input(StreamInput& in, Shared& st) {
        for (;;) {
            while (!st.queue.empty()) {
                st.gate.expires_at(asio::steady_timer::time_point::max());
                co_await st.gate.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            std::optional<InputEvent> ev = co_await in.next();
            if (!ev) break;
            st.queue.push_back(std::move(*ev));
            st.wake.cancel();
        }
    }

    /// Runs `work` (the engine's) on the run's worker pool and comes back; inline when there
    /// is no runtime (tests driving the operator by hand).
    template <typename F>
    asio::awaitable<void> off_io(F work) {
        if (!run_ || !run_->runtime) {
            work();
            co_return;
        }
        co_await asio::co_spawn(
            run_->runtime->workers(),
            [&work]() -> asio::awaitable<void> {
                work();
                co_return;
            },
            asio::use_awaitable);
    }

    /// After an engine call: whether the stage must stop, for a record error the strategy did
    /// not settle or the run's cancellation (the engine may have given up midway: what it
    /// produced is dropped). The input is then only drained, so that the reader can end; a
    /// record error cancels the run, as the stage's failure would anyway (a strategy that
    /// continues settles record errors), so that the input ends at once.
    bool stopped(std::vector<Batch>& produced) {
        if (!record_failure_ && !(run_ && run_->cancelled())) return false;
        produced.clear();
        if (record_failure_ && run_) run_->cancel(record_failure_->in_stage(stage_));
        return true;
    }

    static asio::awaitable<bool> emit_all(StreamOutput& out, std::vector<Batch>& batches) {
        bool ok = true;
        for (Batch& b : batches) {
            if (!ok || (b.empty() && b.infos().empty())) continue;
            ok = co_await out.emit(std::move(b));
        }
        batches.clear();
        co_return ok;
    }

    /// The field's value as shown in messages.
    std::string shown_time(const Batch& b, std::size_t row) const {
        const std::optional<std::size_t> col = b.schema().find(*spec_.time_field);
        const Value v = col ? b.at(row, *col) : Value::absent();
        std::string shown = v.is_absent() ? std::string("missing") : json::to_string(v);
        if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
        return shown;
    }

    /// A record whose time is out of the range handled: a record error, which the stage's
    /// strategy settles (counted and dead-lettered under continue; the stage fails under
    /// stop).
    void on_out_of_range(const Batch& b, std::size_t row, std::int64_t ts) {
        const std::string what =
            spec_.time_field
                ? fmt::format("time_field '{}' is {}", *spec_.time_field, shown_time(b, row))
                : fmt::format("the arrival time (processing time) is {} ms since 1970", ts);
        Error error(ErrorKind::Data,
                    fmt::format("{}: out of the range window.apply handles (times and the "
                                "windows they fall in must lie within {} to {})",
                                what, format_rfc3339(kMinTimeMs), format_rfc3339(kMaxTimeMs)),
                    {}, stage_);
        if (record_failure_) return;
        if (!errors_) {
            record_failure_ = std::move(error);
            return;
        }
        Status s = errors_->record_failed(b.schema(), b.row(row), std::move(error));
        if (!s) record_failure_ = std::move(s).error();
    }

    void on_drop(WindowEngine::Drop why, const Batch& b, std::size_t row, std::int64_t ts,
                 std::int64_t watermark) {
        if (why == WindowEngine::Drop::OutOfRange) {
            on_out_of_range(b, row, ts);
            return;
        }
        std::string message;
        if (why == WindowEngine::Drop::Late) {
            message = fmt::format("late record: its time {} is before the watermark {} (the "
                                  "latest time seen minus allowed_lateness = {}), so its "
                                  "windows may have closed",
                                  format_rfc3339(ts), format_rfc3339(watermark),
                                  duration_text(spec_.allowed_lateness));
            if (!warned_late_)
                spdlog::warn("stage '{}': {}; dropped (later ones are counted)", stage_, message);
            warned_late_ = true;
        } else {
            const std::string shown = shown_time(b, row);
            message =
                fmt::format("time_field '{}' is {}, not a timestamp (an RFC 3339 time such "
                            "as \"2024-05-01T12:00:00Z\", or {} since 1970-01-01)",
                            *spec_.time_field, shown,
                            spec_.epoch_unit == EpochUnit::Seconds ? "seconds" : "milliseconds");
            if (!warned_untimed_)
                spdlog::warn("stage '{}': {}; record dropped (later ones are counted)", stage_,
                             message);
            warned_untimed_ = true;
        }
        if (run_ && run_->dead_letters) {
            Status s = run_->dead_letters->add(stage_, b.schema(), b.row(row),
                                               Error(ErrorKind::Data, message), 1);
            if (!s && !dead_letter_failure_) dead_letter_failure_ = std::move(s).error();
        }
    }

    void report_drops() const {
        const char* where = run_ && run_->dead_letters ? " (see the dead-letter queue)" : "";
        if (engine_.late_records())
            spdlog::warn("stage '{}': dropped {} late record{} (allowed_lateness = {}){}", stage_,
                         engine_.late_records(), engine_.late_records() == 1 ? "" : "s",
                         duration_text(spec_.allowed_lateness), where);
        if (engine_.untimed_records())
            spdlog::warn("stage '{}': dropped {} record{} without a valid '{}' timestamp{}", stage_,
                         engine_.untimed_records(), engine_.untimed_records() == 1 ? "" : "s",
                         *spec_.time_field, where);
    }

    WindowSpec spec_;
    std::string stage_;
    RunContext* run_;
    StageErrors* errors_;
    WindowClock clock_;
    /// The first record error the strategy did not settle: the stage fails with it.
    std::optional<Error> record_failure_;
    WindowEngine engine_;
    bool warned_late_ = false;
    bool warned_untimed_ = false;
    bool warned_forced_ = false;
    std::optional<Error> dead_letter_failure_;
};

class WindowStage final : public Stage {
public:
    WindowStage(WindowSpec spec, WindowClock clock)
        : spec_(std::move(spec)), clock_(std::move(clock)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas.front();
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed.front();
        if (spec_.time_field && in && fixed && !in->find(*spec_.time_field))
            return fail(ErrorKind::Config,
                        fmt::format("time_field '{}' is not a field of the input (its fields: "
                                    "{})",
                                    *spec_.time_field, fmt::join(in->names(), ", ")));
        SchemaRef out;
        if (in) {
            std::vector<std::string> names;
            for (const std::string& n : in->names())
                if (n != kStartField && n != kEndField) names.push_back(n);
            names.emplace_back(kStartField);
            names.emplace_back(kEndField);
            out = make_schema(std::move(names));
        }
        return OpenedStage(std::unique_ptr<StreamOperator>(std::make_unique<WindowOperator>(
                               spec_, std::string(ctx.stage_id), ctx.run, ctx.errors, clock_)),
                           std::move(out));
    }

private:
    WindowSpec spec_;
    WindowClock clock_;
};

/// window.apply's options.
struct WindowOptions {
    WindowType type = WindowType::Tumbling;
    OptionValue size;  ///< an integer counts records, a string is a duration
    OptionValue slide; ///< like size
    std::optional<std::string> gap;
    std::optional<std::string> time_field;
    std::string allowed_lateness = "0s";
    EpochUnit epoch_unit = EpochUnit::Seconds;
};

const OptionTable<WindowOptions>& window_options() {
    static const auto table =
        OptionTable<WindowOptions>()
            .add_choice("type", &WindowOptions::type,
                        {{"tumbling", WindowType::Tumbling},
                         {"sliding", WindowType::Sliding},
                         {"session", WindowType::Session}},
                        {.description = "tumbling: back to back windows of 'size'; sliding: "
                                        "windows of 'size' starting every 'slide'; session: "
                                        "windows that last while records come less than 'gap' "
                                        "apart."})
            .add("size", &WindowOptions::size,
                 {.description = "An integer counts records (size = 100); a string is a duration "
                                 "(\"500ms\", \"10s\", \"5m\", \"1h\", \"1d\")."})
            .add("slide", &WindowOptions::slide,
                 {.description = "Sliding windows: how far each window starts after the previous "
                                 "one, in the same kind of unit as size and no larger than it. "
                                 "Each record goes on once per window it is in, so size / slide "
                                 "may be at most 10000 (a load error otherwise)."})
            .add("gap", &WindowOptions::gap,
                 {.description = "Session windows: the silence (a duration) that ends a "
                                 "session; its end is the last record's time + gap."})
            .add("time_field", &WindowOptions::time_field,
                 {.description = "Use this field's time (event time) instead of the arrival "
                                 "time: RFC 3339 text (\"2024-05-01T12:00:00Z\", an offset or "
                                 "none = UTC) or a number of seconds since 1970 (see "
                                 "epoch_unit)."})
            .add("allowed_lateness", &WindowOptions::allowed_lateness,
                 {.description = "With time_field: how far out of order records may come (a "
                                 "duration). Larger values hold records (and close windows) "
                                 "that much later."})
            .add_choice("epoch_unit", &WindowOptions::epoch_unit,
                        {{"s", EpochUnit::Seconds}, {"ms", EpochUnit::Milliseconds}},
                        {.description = "Numeric timestamps count seconds (\"s\") or "
                                        "milliseconds (\"ms\") since 1970-01-01 UTC."});
    return table;
}

/// `size` or `slide`: an integer counts records, a string is a duration.
struct Extent {
    bool count = false;
    std::int64_t value = 0;
};

/// "the 10,000 years window.apply handles": durations longer than the whole range of times
/// cannot fit a window (and would make time arithmetic overflow).
std::optional<std::int64_t> duration_in_range(BuildContext& ctx, const char* key, std::int64_t ms,
                                              std::string_view text) {
    if (ms <= kMaxDurationMs) return ms;
    ctx.error(key, fmt::format("{} = \"{}\" is longer than the times window.apply handles "
                               "(0000-01-01 to 9999-12-31, about 10,000 years)",
                               key, text));
    return std::nullopt;
}

std::optional<Extent> read_extent(BuildContext& ctx, const char* key, const OptionValue& value) {
    const OptionValue* v = &value;
    if (v->is_null()) return std::nullopt;
    if (v->is_int()) {
        if (v->as_int() < 1) {
            ctx.error(key, fmt::format("{} must be at least 1 record", key));
            return std::nullopt;
        }
        return Extent{true, v->as_int()};
    }
    if (v->is_string()) {
        const auto ms = parse_duration_ms(v->as_string());
        if (!ms || *ms == 0) {
            ctx.error(key, fmt::format("{} = \"{}\" is not a duration: write a whole number and a "
                                       "unit, such as \"500ms\", \"10s\", \"5m\", \"1h\" or \"1d\"",
                                       key, v->as_string()));
            return std::nullopt;
        }
        if (!duration_in_range(ctx, key, *ms, v->as_string())) return std::nullopt;
        return Extent{false, *ms};
    }
    ctx.error(key, fmt::format("{} must be a number of records (an integer such as 100) or a "
                               "duration (a string such as \"10s\"), not {}",
                               key, v->to_string()));
    return std::nullopt;
}

/// Sliding windows whose size / slide exceeds kMaxWindowsPerRecord: says what the options
/// give, the limit, and the smallest slide that the size allows.
std::string too_many_windows(const Extent& size, const Extent& slide, const Options& o) {
    auto shown = [&o](const char* key, const Extent& e) {
        return e.count ? std::to_string(e.value) : "\"" + o.get_string(key) + "\"";
    };
    // The smallest slide s with ceil(size / s) <= kMaxWindowsPerRecord.
    const std::int64_t min_slide =
        size.value / kMaxWindowsPerRecord + (size.value % kMaxWindowsPerRecord != 0 ? 1 : 0);
    return fmt::format(
        "size = {} with slide = {} puts every record in {} windows; window.apply allows at "
        "most {} windows per record (size / slide <= {}), because each record goes on once per "
        "window: make slide at least {}{} or size smaller",
        shown("size", size), shown("slide", slide), windows_per_record(size.value, slide.value),
        kMaxWindowsPerRecord, kMaxWindowsPerRecord,
        size.count ? std::to_string(min_slide) : "\"" + duration_text(min_slide) + "\"",
        size.count ? " records" : "");
}

/// In a sharded run each shard sees a share of the records: windows counted in records, or
/// sessions, would each start over at a shard's first record.
void check_sharded(BuildContext& ctx, const WindowSpec& spec) {
    if (!ctx.global().shard || (!spec.by_count && spec.type != WindowType::Session)) return;
    ctx.error(spec.by_count ? "size" : "type",
              std::string(spec.by_count ? "windows counted in records" : "session windows") +
                  " follow the records one after another, and a sharded run gives each shard a "
                  "share (each would start its windows over): use windows of a duration on "
                  "time_field, or run without --shard");
}

std::unique_ptr<Stage> build_window(BuildContext& ctx, const WindowOptions& opts,
                                    const WindowClock& clock) {
    const Options& o = ctx.options(); // given(): whether the pipeline wrote a key
    WindowSpec spec;
    spec.type = opts.type;
    if (opts.time_field) {
        spec.time_field = *opts.time_field;
        if (spec.time_field->empty()) ctx.error("time_field", "time_field must name a field");
    }
    spec.epoch_unit = opts.epoch_unit;

    const std::optional<Extent> size = read_extent(ctx, "size", opts.size);
    const std::optional<Extent> slide = read_extent(ctx, "slide", opts.slide);
    if (spec.type == WindowType::Session) {
        if (o.given("size"))
            ctx.error("size", "a session window has no size: it lasts while records keep coming "
                              "less than 'gap' apart");
        if (o.given("slide")) ctx.error("slide", "'slide' is for type = \"sliding\"");
        if (!opts.gap) {
            ctx.error(
                "gap",
                "type = \"session\" needs 'gap', the silence that ends a session (e.g. \"30s\")");
        } else {
            const auto gap = parse_duration_ms(*opts.gap);
            if (!gap || *gap == 0)
                ctx.error("gap",
                          fmt::format("gap = \"{}\" is not a duration such as \"30s\"", *opts.gap));
            else if (duration_in_range(ctx, "gap", *gap, *opts.gap))
                spec.gap = *gap;
        }
    } else {
        if (o.given("gap")) ctx.error("gap", "'gap' is for type = \"session\"");
        if (!o.given("size"))
            ctx.error("size", "window size missing: a number of records (size = 100) or a "
                              "duration (size = \"1m\")");
        if (size) {
            spec.by_count = size->count;
            spec.size = size->value;
        }
        if (spec.type == WindowType::Sliding) {
            if (!o.given("slide")) {
                ctx.error("slide", "type = \"sliding\" needs 'slide', how far each window starts "
                                   "after the previous one");
            } else if (slide && size) {
                if (slide->count != size->count)
                    ctx.error("slide",
                              "size and slide must both be record counts or both be durations");
                else if (slide->value > size->value)
                    ctx.error(
                        "slide",
                        "slide must not be larger than size (records would fall between windows)");
                else if (windows_per_record(size->value, slide->value) > kMaxWindowsPerRecord)
                    ctx.error("slide", too_many_windows(*size, *slide, o));
                else
                    spec.slide = slide->value;
            }
        } else if (o.given("slide")) {
            ctx.error("slide",
                      "'slide' is for type = \"sliding\" (a tumbling window slides by its size)");
        }
    }
    if (spec.by_count && spec.time_field)
        ctx.error("time_field", "windows sized by a count of records do not use time: remove "
                                "time_field, or give size as a duration");
    if (o.given("allowed_lateness")) {
        const auto lateness = parse_duration_ms(opts.allowed_lateness);
        if (!lateness)
            ctx.error("allowed_lateness",
                      fmt::format("allowed_lateness = \"{}\" is not a duration such as \"30s\"",
                                  opts.allowed_lateness));
        else if (duration_in_range(ctx, "allowed_lateness", *lateness, opts.allowed_lateness))
            spec.allowed_lateness = *lateness;
        if (!spec.time_field)
            ctx.error("allowed_lateness",
                      "allowed_lateness is for windows on a timestamp field "
                      "(time_field); records on processing time are never late");
    }
    check_sharded(ctx, spec);
    if (ctx.failed()) return nullptr;
    return std::make_unique<WindowStage>(std::move(spec), clock);
}

} // namespace

FunctionDescriptor window_apply_descriptor(WindowClock clock) {
    FunctionDescriptor fn;
    fn.name = "window.apply";
    fn.asynchronous = true; // a coroutine on the I/O thread (window timers)
    fn.opens_windows = true;
    fn.role = StageRole::Transform;
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.summary = "Group a stream into tumbling, sliding or session windows (for aggregate.stream)";
    fn.description =
        "Assigns every record to windows and marks where each window closes, so that "
        "aggregate.stream can emit one result per window. Records go on at once with "
        "window_start and window_end added (the window's bounds: RFC 3339 times, or record "
        "numbers counted from 0 for count windows; window_end is null on the records of a "
        "session, whose end is known only when it closes); when a window closes, a signal with "
        "its final bounds follows (batch metadata, not a record: sinks never write it, and "
        "stages in between pass it on). A record in several "
        "sliding windows goes on once per window. Windows span the whole stream (group by key "
        "in aggregate.stream); a window without records produces nothing. "
        "size = 100 counts records; size = \"1m\" is time: processing time (when the record "
        "arrived; windows start on whole multiples of the size since 1970 and close on time "
        "even if nothing arrives), or the time in time_field. On a time_field, records may "
        "arrive out of order by up to allowed_lateness: they are held and passed on in time "
        "order once the watermark (the latest time seen minus allowed_lateness) reaches them "
        "(at most a million records are held; past that the oldest go on early); a "
        "window closes when the watermark reaches its end (so only as later records arrive, or "
        "at the end of the input). Records older than the watermark, and records without a "
        "valid timestamp, are dropped with a warning and a count (and go to the dead-letter "
        "queue when it is enabled). Times must lie within 0000-01-01T00:00:00Z and "
        "9999-12-31T23:59:59.999Z, and so must the bounds of their windows: a record outside "
        "(such as a number of milliseconds near 2^63) is a record error, settled by the stage's "
        "error strategy (the stage fails under stop; counted and dead-lettered under "
        "continue). At the end of the input, or on SIGINT/SIGTERM, every open window closes.";
    fn.options = window_options().specs();
    fn.factory = bind_options(
        window_options(), [clock = std::move(clock)](BuildContext& ctx, const WindowOptions& o) {
            return build_window(ctx, o, clock);
        });
    return fn;
}

} // namespace conveyor::plugins::window

namespace conveyor::plugins {

void register_window(Registry& registry) {
    registry.add("window.apply",
                 [] { return window::window_apply_descriptor(window::system_now_ms); });
}

} // namespace conveyor::plugins
